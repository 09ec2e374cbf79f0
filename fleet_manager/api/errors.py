"""One error shape for every 4xx: {"error": {"code", "field", "reason"}}; plus the body limit."""

# ApiError and field_path live in refusal.py (no web framework there); re-exported here.

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fleet_manager.api.refusal import ApiError, refusal_from_errors
from fleet_manager.store import StoreError

MAX_BODY_BYTES = 1024 * 1024


class ErrorDetail(BaseModel):
    code: str
    field: str | None = None
    reason: str


class ErrorBody(BaseModel):
    error: ErrorDetail


_DESCRIPTIONS = {
    400: "malformed JSON or a bad header",
    401: "missing or invalid API token",
    403: "the token's role may not do this",
    404: "no such resource",
    409: "conflicts with the resource's current state",
    413: "request body larger than 1 MiB",
    422: "a field is missing, of the wrong type or refers to something unknown",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, all with the standard error body."""
    return {s: {"model": ErrorBody, "description": _DESCRIPTIONS[s]} for s in statuses}


def error_response(
    status: int, code: str, reason: str, field: str | None = None, headers: dict | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "field": field, "reason": reason}}
    return JSONResponse(body, status_code=status, headers=headers)


def _on_validation(_request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    refused = refusal_from_errors(list(errors), str(exc))
    return error_response(refused.status, refused.code, refused.reason, refused.field)


def _on_api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.reason, exc.field)


def _on_store_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StoreError)
    return error_response(exc.status, exc.code, exc.reason, exc.field)


_HTTP_CODES = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}


def allowed_methods(request: Request) -> list[str] | None:
    """The methods the OpenAPI document lists for this path (the router's own 405 names only
    the first route that matched the path, e.g. POST for /orders though GET is there too);
    None for a path the document does not have."""
    table = getattr(request.app.state, "allow_table", None)
    if table is None:
        table = []
        for template, operations in request.app.openapi().get("paths", {}).items():
            pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
            table.append((re.compile(f"^{pattern}$"), sorted(m.upper() for m in operations)))
        request.app.state.allow_table = table
    path = request.scope.get("path", "")
    return next((methods for regex, methods in table if regex.match(path)), None)


def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and (methods := allowed_methods(request)) is not None:
        headers["Allow"] = ", ".join(methods)
    return error_response(exc.status_code, code, str(exc.detail), headers=headers or None)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(StoreError, _on_store_error)
    app.add_exception_handler(StarletteHTTPException, _on_http)


class BodyLimitMiddleware:
    """413 for bodies over `max_bytes`, by Content-Length or by counting a chunked body."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = -1
        if length is not None and length > self.max_bytes:
            await self._reject(send)
            return
        if length is not None:
            await self.app(scope, receive, send)
            return
        # No length given (chunked): buffer up to the limit before the app sees anything.
        buffered: list[Message] = []
        total = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            total += len(message.get("body", b""))
            if total > self.max_bytes:
                await self._reject(send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)

    async def _reject(self, send: Send) -> None:
        body = json.dumps(
            {
                "error": {
                    "code": "body_too_large",
                    "field": None,
                    "reason": f"request body is larger than {self.max_bytes} bytes",
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
