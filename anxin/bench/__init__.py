"""Benchmarks: commands that start what they need and print their figures as JSON."""
