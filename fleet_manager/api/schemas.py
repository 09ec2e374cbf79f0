"""Request and response bodies of the HTTP API (pydantic); requests are strict, extras refused."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
TaskKindIn = Literal["pod_fetch", "asrs_store", "asrs_retrieve", "conveyor_transfer", "sort"]
RobotCommandName = Literal["pause", "resume", "charge", "park", "out_of_service", "in_service"]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class OrderLineIn(_Strict):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=100_000)


class OrderIn(_Strict):
    id: str | None = Field(
        default=None, pattern=ID_PATTERN, description="WMS order id; generated if absent"
    )
    lines: list[OrderLineIn] = Field(min_length=1, max_length=1000)
    priority: int = Field(default=0, ge=-1000, le=1000, description="higher runs first")
    due_s: float | None = Field(default=None, ge=0, description="due time, simulation seconds")
    station_id: str | None = Field(default=None, description="pick station to use; any if absent")


class OrderLineOut(BaseModel):
    sku: str
    quantity: int
    picked: int


class OrderOut(BaseModel):
    id: str
    state: Literal["open", "in_progress", "done", "cancelled", "failed"]
    priority: int
    lines: list[OrderLineOut]
    created_s: float
    created_at: float
    due_s: float | None
    station_id: str | None
    done_s: float | None
    source: str


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: int | None = Field(
        description="pass as `after` for the next page; null at the end"
    )


class PriorityIn(_Strict):
    priority: int = Field(ge=-1000, le=1000)


class TaskIn(_Strict):
    id: str | None = Field(default=None, pattern=ID_PATTERN)
    kind: TaskKindIn
    priority: int = Field(default=0, ge=-1000, le=1000)
    order_id: str | None = None
    payload: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "pod_fetch: {pod_id, station_id, hold_s?}; asrs_store: {aisle_id, sku, quantity, tote_id?,"
            " slot_id?, lot?}; asrs_retrieve: {aisle_id, sku, quantity, tote_id?, station_id?};"
            " conveyor_transfer: {conveyor_id, from_point, to_point}; sort: {sorter_id, lane_id?}"
        ),
    )


class TaskStep(BaseModel):
    from_: str | None = Field(alias="from")
    to: str
    at_s: float
    reason: str
    resource_id: str | None = None


class TaskOut(BaseModel):
    id: str
    kind: str
    state: Literal["queued", "assigned", "active", "done", "failed", "cancelled"]
    priority: int
    created_s: float
    order_id: str | None
    resource_id: str | None
    payload: dict[str, Any]
    source: str
    history: list[TaskStep]


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: int | None


class RobotCommandIn(_Strict):
    command: RobotCommandName


class LanePatch(_Strict):
    enabled: bool


class AlarmAckIn(_Strict):
    note: str | None = Field(default=None, max_length=500)


class AlarmOut(BaseModel):
    id: str
    code: str
    message: str
    raised_s: float
    state: Literal["active", "acknowledged", "cleared"]
    severity: str
    resource_id: str | None
    acked_by: str | None
    acked_at: float | None


class ItemList(BaseModel):
    items: list[dict[str, Any]]


class AlarmList(BaseModel):
    items: list[AlarmOut]


class CommandResult(BaseModel):
    id: str
    accepted: bool = True
    detail: dict[str, Any] = Field(default_factory=dict)


class Me(BaseModel):
    name: str
    role: Literal["wms", "technician", "viewer"]
    token_id: str


class SkuLocation(BaseModel):
    sku: str
    total_units: int  # in pods and on robots (the goods-to-person floor)
    locations: list[dict[str, Any]]
    totes: list[dict[str, Any]] = Field(
        default_factory=list,
        description="AS/RS totes: tote_id, quantity, available, location (slot, io:<aisle>,"
        " crane:<id>, conveyor:<id>, station:<id>), slot_id, aisle_id, lot",
    )
    tote_units: int = 0


class Health(BaseModel):
    status: Literal["ok"]
    sim_time_s: float
    last_seq: int


class CraneResetIn(_Strict):
    cancel: bool = Field(
        default=False,
        description="false: the crane finishes the faulted move; true: give the move up "
        "(its task is cancelled, reservations released; refused once the tote left its source)",
    )


class CraneResetOut(BaseModel):
    aisle_id: str
    cancelled: bool
    fault: dict[str, Any] | None = Field(description="the fault that was reset")
    aisle: dict[str, Any] = Field(description="the aisle after the reset, as in GET /asrs")


class KpiHistoryOut(BaseModel):
    step_s: float
    horizon_s: float
    window_s: float
    items: list[dict[str, Any]]
