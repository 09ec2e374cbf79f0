"""One validation path for order and task requests, whatever entry point they come through."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from fleet_manager.api.refusal import ApiError, refusal_from_errors
from fleet_manager.api.schemas import OrderIn
from fleet_manager.api.task_schemas import AnyTask, TaskIn
from fleet_manager.api.validation import check_order, check_task
from fleet_manager.site.model import Site
from fleet_manager.store import Store

_TASK: TypeAdapter[AnyTask] = TypeAdapter(TaskIn)
_ORDER: TypeAdapter[OrderIn] = TypeAdapter(OrderIn)


def _parse(adapter: TypeAdapter[Any], raw: str | bytes | dict[str, Any]) -> Any:
    """JSON text or a decoded object -> the model, exactly as the HTTP API parses a body
    (Python's json, then pydantic on the object) so every refusal is the same."""
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise ApiError(
                400, "malformed_json", f"request body is not valid JSON: {exc}"
            ) from None
    try:
        return adapter.validate_python(raw, from_attributes=True)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise refusal_from_errors(errors) from None


def parse_task(raw: str | bytes | dict[str, Any]) -> AnyTask:
    """The task's schema (types, bounds, per-kind payload); ApiError names the field."""
    return _parse(_TASK, raw)


def parse_order(raw: str | bytes | dict[str, Any]) -> OrderIn:
    return _parse(_ORDER, raw)


def task_request(raw: str | bytes | dict[str, Any], site: Site, store: Store) -> AnyTask:
    """Schema, then the site's ids (unknown pod, station, aisle, SKU, order): what POST /tasks
    checks before anything is stored. The HTTP route, ROS services and any other entry point
    refuse the same request with the same (status, code, field)."""
    task = parse_task(raw)
    check_task(site, task, store)
    return task


def order_request(
    raw: str | bytes | dict[str, Any], site: Site, free_units: Callable[[str], int | None]
) -> OrderIn:
    """Schema, then SKUs, stock and station against the site: what POST /orders checks."""
    order = parse_order(raw)
    check_order(site, order, free_units)
    return order
