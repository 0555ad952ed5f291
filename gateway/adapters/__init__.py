"""Device adapters: where the gateway's readings, accelerometer samples and button presses come from."""
