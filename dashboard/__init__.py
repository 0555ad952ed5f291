"""The web app and HTTP API of Anxin: login, the live care-station console, the JSON API."""
