"""The HTTP server: an ASGI app over the store, plus the built web app."""
