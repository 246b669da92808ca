"""Entry point: the HTTP and WebSocket server."""
