"""The FastAPI application: routes, auth, error shapes, body limit, event hub, monitor page."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi

from fleet_manager.api import routes_asrs, routes_fleet, routes_orders, routes_sim, streams
from fleet_manager.api.errors import MAX_BODY_BYTES, BodyLimitMiddleware, install_error_handlers
from fleet_manager.api.map_json import site_to_json
from fleet_manager.api.tokens import TokenVerifier
from fleet_manager.runtime import Runtime

API_VERSION = "1.0.0"


def create_app(
    runtime: Runtime,
    *,
    cors_origins: Sequence[str] = (),
    max_body_bytes: int = MAX_BODY_BYTES,
    monitor: bool = True,
) -> FastAPI:
    """Build the app around a started (or about to be started) runtime; CORS closed unless
    origins are given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub = streams.EventHub(asyncio.get_running_loop())
        app.state.hub = hub
        remove = runtime.store.add_event_listener(hub.on_commit)
        try:
            yield
        finally:
            remove()

    app = FastAPI(
        title="WCS API",
        version=API_VERSION,
        description=(
            "Warehouse control system: orders and tasks in, events out. Authenticate with"
            " `Authorization: Bearer <token>` (create one with `wcs token create`)."
        ),
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.verifier = TokenVerifier(runtime.store)
    app.state.map_json = json.dumps(site_to_json(runtime.site), separators=(",", ":"))
    install_error_handlers(app)
    app.include_router(routes_orders.router)
    app.include_router(routes_fleet.router)
    app.include_router(routes_asrs.router)
    app.include_router(streams.router)
    equipment = getattr(runtime, "equipment", None)
    if getattr(equipment, "fault_injector", None) is not None:  # simulated floors only
        app.include_router(routes_sim.router)
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    if monitor:
        _mount_monitor(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, without its generic 422 where a route documents its own errors
    (every error here has the one ErrorBody shape) or cannot produce one at all."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            generic = responses.get("422", {}).get("content", {}).get("application/json", {})
            if "HTTPValidationError" in json.dumps(generic):
                del responses["422"]
    schemas = doc.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    _add_links(doc)
    app.openapi_schema = doc
    return doc


# OpenAPI links: where the id a create answers is used next (clients and API fuzzers follow them).
_LINKS = {
    ("/api/v1/orders", "post", "201"): ("order_id", [
        ("/api/v1/orders/{order_id}", "get"),
        ("/api/v1/orders/{order_id}/cancel", "post"),
        ("/api/v1/orders/{order_id}/priority", "put"),
    ]),
    ("/api/v1/tasks", "post", "201"): ("task_id", [
        ("/api/v1/tasks/{task_id}", "get"),
        ("/api/v1/tasks/{task_id}/cancel", "post"),
    ]),
}


def _add_links(doc: dict[str, Any]) -> None:
    paths = doc.get("paths", {})
    for (path, method, status), (param, targets) in _LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        links = response.setdefault("links", {})
        for target, target_method in targets:
            operation = paths.get(target, {}).get(target_method)
            if operation is None or "operationId" not in operation:
                continue
            links[operation["operationId"]] = {
                "operationId": operation["operationId"],
                "parameters": {param: "$response.body#/id"},
            }


def _mount_monitor(app: FastAPI) -> None:
    try:
        from fleet_manager.monitor import mount_monitor
    except ImportError:
        return
    mount_monitor(app)
