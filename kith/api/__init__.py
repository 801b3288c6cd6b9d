"""Client-Server API routes: one module per spec file in data/api/client-server."""
