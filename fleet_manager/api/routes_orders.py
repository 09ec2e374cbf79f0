"""Orders and tasks: create (idempotent), read with state history, list, cancel, reprioritise."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from fleet_manager.api.auth import READ_ROLES, WMS_ROLES, require
from fleet_manager.api.deps import await_runtime, runtime
from fleet_manager.api.errors import ApiError, documented
from fleet_manager.api.idempotency import (
    IDEMPOTENCY_KEY_PATTERN,
    MAX_KEY_LENGTH,
    claim_for,
    prior_answer,
)
from fleet_manager.api.schemas import (
    INT64_MAX,
    PRIORITY_MAX,
    PRIORITY_MIN,
    OrderIn,
    OrderOut,
    OrderPage,
    PriorityIn,
    TaskOut,
    TaskPage,
)
from fleet_manager.api.task_schemas import AnyTask, TaskIn
from fleet_manager.api.validation import check_order, check_task
from fleet_manager.store import OrderLineRecord, OrderQuery, OrderRecord, TaskRecord, TokenRecord

router = APIRouter(prefix="/api/v1", tags=["orders and tasks"])
Reader = Annotated[TokenRecord, Depends(require(*READ_ROLES))]
Wms = Annotated[TokenRecord, Depends(require(*WMS_ROLES))]
IdemKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="repeat-safe create: same key, same answer. 1..255 visible ASCII characters"
        " (spaces inside allowed); any other key is refused with 400 invalid_idempotency_key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        max_length=MAX_KEY_LENGTH,
    ),
]
OrderState = Annotated[str | None, Query(pattern="^(open|in_progress|done|cancelled|failed)$")]
TaskStateQ = Annotated[
    str | None, Query(pattern="^(queued|assigned|active|done|failed|cancelled)$")
]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[
    int, Query(ge=0, le=INT64_MAX, description="next_cursor of the previous page")
]
MinPriority = Annotated[int | None, Query(ge=PRIORITY_MIN, le=PRIORITY_MAX)]
Filter = Annotated[str | None, Query(max_length=64)]


def _created(body: dict[str, Any], replayed: bool, location: str) -> JSONResponse:
    headers = {"Location": location}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(body, status_code=201, headers=headers)


@router.post(
    "/orders",
    status_code=201,
    response_model=OrderOut,
    responses=documented(400, 401, 403, 409, 413, 422),
    summary="Accept an order; answered only once it is committed",
)
async def create_order(body: OrderIn, request: Request, caller: Wms, key: IdemKey = None):
    rt = runtime(request)
    claim = claim_for(key, caller, "orders", body.model_dump(mode="json"))
    if (prior := prior_answer(rt.store, claim)) is not None:
        return _created(prior.body, True, f"/api/v1/orders/{prior.body['id']}")
    check_order(rt.site, body, rt.free_units)
    record = OrderRecord(
        id=body.id or "",
        state="open",
        priority=body.priority,
        lines=tuple(OrderLineRecord(x.sku, x.quantity) for x in body.lines),
        created_s=rt.now_s,
        created_at=time.time(),
        due_s=_due_s(rt, body),
        station_id=body.station_id,
        source="api",
        due_at=body.due_at.timestamp() if body.due_at is not None else None,
    )
    stored = await asyncio.wrap_future(rt.submit_order(record, claim))
    return _created(stored.body, stored.replayed, f"/api/v1/orders/{stored.body['id']}")


def _due_s(rt: Any, body: OrderIn) -> float | None:
    """The legacy simulated due time: as given, or derived from due_at at the clock's speed."""
    if body.due_s is not None or body.due_at is None:
        return body.due_s
    speed = float(getattr(getattr(rt, "clock", None), "speed", 1.0) or 1.0)
    return rt.now_s + (body.due_at.timestamp() - time.time()) * speed


@router.get("/orders", response_model=OrderPage, responses=documented(401, 422))
async def list_orders(
    request: Request,
    _caller: Reader,
    state: OrderState = None,
    sku: Filter = None,
    source: Filter = None,
    min_priority: MinPriority = None,
    after: Cursor = 0,
    limit: Limit = 50,
):
    query = OrderQuery(state, source, sku, min_priority, after, limit)
    found, cursor = runtime(request).store.list_orders(query)
    return {"items": [o.as_dict() for o in found], "next_cursor": cursor}


def _order_or_404(request: Request, order_id: str) -> OrderRecord:
    order = runtime(request).store.get_order(order_id)
    if order is None:
        raise ApiError(404, "not_found", f"unknown order {order_id!r}", field="order_id")
    return order


@router.get("/orders/{order_id}", response_model=OrderOut, responses=documented(401, 404))
async def get_order(order_id: str, request: Request, _caller: Reader):
    return _order_or_404(request, order_id).as_dict()


@router.post(
    "/orders/{order_id}/cancel", response_model=OrderOut, responses=documented(401, 403, 404, 409)
)
async def cancel_order(order_id: str, request: Request, _caller: Wms):
    order = _order_or_404(request, order_id)
    if order.state in ("done", "cancelled", "failed"):
        raise ApiError(409, "order_closed", f"order {order_id} is already {order.state}", "state")
    await await_runtime(
        runtime(request).cancel_order(order_id), resource="order", resource_id=order_id
    )
    return _order_or_404(request, order_id).as_dict()


@router.put(
    "/orders/{order_id}/priority",
    response_model=OrderOut,
    responses=documented(400, 401, 403, 404, 409, 413, 422),
)
async def set_priority(order_id: str, body: PriorityIn, request: Request, _caller: Wms):
    order = _order_or_404(request, order_id)
    if order.state in ("done", "cancelled", "failed"):
        raise ApiError(409, "order_closed", f"order {order_id} is already {order.state}", "state")
    await await_runtime(
        runtime(request).set_order_priority(order_id, body.priority),
        resource="order",
        resource_id=order_id,
    )
    return _order_or_404(request, order_id).as_dict()


@router.post(
    "/tasks",
    status_code=201,
    response_model=TaskOut,
    responses=documented(400, 401, 403, 409, 413, 422),
    summary="Create a goods-to-person, AS/RS, conveyor or sort task",
)
async def create_task(body: TaskIn, request: Request, caller: Wms, key: IdemKey = None):
    rt = runtime(request)
    claim = claim_for(key, caller, "tasks", body.canonical())
    if (prior := prior_answer(rt.store, claim)) is not None:
        return _created(prior.body, True, f"/api/v1/tasks/{prior.body['id']}")
    check_task(rt.site, body, rt.store)
    if body.kind in ("asrs_store", "asrs_retrieve"):
        await _check_asrs(rt, body)
    elif body.kind == "pod_fetch":
        await _check_pod(rt, body)
    record = TaskRecord(
        id=body.id or "",
        kind=body.kind,
        state="queued",
        priority=body.priority,
        created_s=rt.now_s,
        order_id=body.order_id,
        payload=body.payload_as_sent(),
        source="api",
    )
    stored = await asyncio.wrap_future(rt.submit_task(record, claim))
    return _created(stored.body, stored.replayed, f"/api/v1/tasks/{stored.body['id']}")


async def _check_asrs(rt: Any, body: AnyTask) -> None:
    """Refuse (4xx naming the field) what the AS/RS inventory cannot take now: unknown tote,
    occupied slot, nothing in stock. Read-only, so nothing is applied on refusal."""
    try:
        await asyncio.wrap_future(rt.check_asrs(body.kind, body.payload_as_sent()))
    except ValueError as exc:
        status = getattr(exc, "status", None)
        if status is None:
            raise
        raise ApiError(status, exc.code, exc.reason, exc.field) from exc  # type: ignore[attr-defined]


async def _check_pod(rt: Any, body: AnyTask) -> None:
    """409 while the pod is carried or reserved by another task. Read-only; the dispatcher's
    own check at submit stays the final word (a race there ends the task `failed`)."""
    pod_id = str(body.payload_as_sent()["pod_id"])
    if (busy := await asyncio.wrap_future(rt.check_pod_fetch(pod_id))) is not None:
        raise ApiError(409, "pod_unavailable", busy, "payload.pod_id")


@router.get("/tasks", response_model=TaskPage, responses=documented(401, 422))
async def list_tasks(
    request: Request,
    _caller: Reader,
    state: TaskStateQ = None,
    kind: Filter = None,
    order_id: Filter = None,
    after: Cursor = 0,
    limit: Limit = 50,
):
    found, cursor = runtime(request).store.list_tasks(
        state=state, kind=kind, order_id=order_id, after_cursor=after, limit=limit
    )
    return {"items": [t.as_dict() for t in found], "next_cursor": cursor}


def _task_or_404(request: Request, task_id: str) -> TaskRecord:
    task = runtime(request).store.get_task(task_id)
    if task is None:
        raise ApiError(404, "not_found", f"unknown task {task_id!r}", field="task_id")
    return task


@router.get("/tasks/{task_id}", response_model=TaskOut, responses=documented(401, 404))
async def get_task(task_id: str, request: Request, _caller: Reader):
    return _task_or_404(request, task_id).as_dict()


@router.post(
    "/tasks/{task_id}/cancel", response_model=TaskOut, responses=documented(401, 403, 404, 409)
)
async def cancel_task(task_id: str, request: Request, _caller: Wms):
    task = _task_or_404(request, task_id)
    if task.state in ("done", "cancelled", "failed"):
        raise ApiError(409, "task_closed", f"task {task_id} is already {task.state}", "state")
    await await_runtime(runtime(request).cancel_task(task_id), resource="task", resource_id=task_id)
    return _task_or_404(request, task_id).as_dict()
