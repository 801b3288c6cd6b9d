"""The HTTP edge: ASGI application, routing, request parsing, responses."""
