"""Live fleet monitor: static page, scripts and styles served by the API's own server."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"


def mount_monitor(app: FastAPI) -> None:
    """Serve the monitor at `/` and its assets under `/monitor/`; no CDN, works offline."""
    app.mount("/monitor", StaticFiles(directory=STATIC_DIR, html=True), name="monitor")

    @app.get("/", include_in_schema=False)
    def monitor_root() -> RedirectResponse:
        return RedirectResponse(url="/monitor/")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")
