"""WMS bridge: the HTTP/WebSocket API (FastAPI), its auth, errors and event streams."""
