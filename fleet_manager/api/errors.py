"""One error shape for every 4xx: {"error": {"code", "field", "reason"}}; plus the body limit."""

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

from fleet_manager.api.task_schemas import TASK_KINDS
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


class ApiError(Exception):
    """Raise from a handler to answer `status` with the standard error body."""

    def __init__(self, status: int, code: str, reason: str, field: str | None = None):
        super().__init__(reason)
        self.status = status
        self.code = code
        self.reason = reason
        self.field = field


def error_response(
    status: int, code: str, reason: str, field: str | None = None, headers: dict | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "field": field, "reason": reason}}
    return JSONResponse(body, status_code=status, headers=headers)


def field_path(loc: tuple[Any, ...]) -> str | None:
    """('body', 'lines', 0, 'quantity') -> 'lines[0].quantity'; the tag pydantic puts after
    'body' for a union discriminated by `kind` is left out: ('body', 'sort', 'payload') ->
    'payload'."""
    parts = list(loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc)
    if loc and loc[0] == "body" and len(parts) > 1 and parts[0] in TASK_KINDS:
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or None


_TYPE_CODES = {
    "missing": "missing_field",
    "extra_forbidden": "unknown_field",
    "json_invalid": "malformed_json",
    "json_type": "malformed_json",
}


def _validation_code(err_type: str) -> str:
    if err_type in _TYPE_CODES:
        return _TYPE_CODES[err_type]
    if err_type.endswith(("_type", "_parsing")):
        return "wrong_type"
    return "invalid_value"


def _on_validation(_request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    if not errors:
        return error_response(422, "invalid_request", str(exc))
    first = errors[0]
    code = _validation_code(str(first.get("type", "")))
    if code == "malformed_json":
        return error_response(400, code, f"request body is not valid JSON: {first.get('msg')}")
    loc = tuple(first.get("loc", ()))
    where = field_path(loc)
    if loc[:1] == ("header",) and str(loc[-1]).lower() == "idempotency-key":
        return error_response(
            400,
            "invalid_idempotency_key",
            "Idempotency-Key must be 1..255 visible ASCII characters (spaces only inside)",
            "Idempotency-Key",
        )
    err_type = str(first.get("type", ""))
    if err_type in ("union_tag_invalid", "union_tag_not_found"):
        code = "missing_field" if err_type == "union_tag_not_found" else "invalid_value"
        where = f"{where}.kind" if where else "kind"
        return error_response(422, code, str(first.get("msg", "invalid kind")), where)
    if loc and loc[0] == "body" and len(loc) == 1 and code == "missing_field":
        return error_response(422, "missing_body", "a JSON request body is required")
    return error_response(422, code, str(first.get("msg", "invalid value")), where)


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
