"""Request and response bodies of the HTTP API (pydantic); requests are strict, extras refused."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
PRIORITY_MIN, PRIORITY_MAX = -1000, 1000
MAX_QUANTITY = 100_000
MAX_TIME_S = 1e12  # simulated seconds (about 31,700 years): bounds every time field
TaskKindIn = Literal["pod_fetch", "asrs_store", "asrs_retrieve", "conveyor_transfer", "sort"]
RobotCommandName = Literal[
    "pause", "resume", "charge", "park", "out_of_service", "in_service", "clear_fault",
    "confirm_check",
]


def _integral(value: Any) -> Any:
    """JSON Schema's `integer` includes numbers like 2.0: take them as the int they are."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _no_lone_surrogates(value: str) -> str:
    """JSON escapes can carry lone UTF-16 surrogates, which are no characters (and no
    database can store them): refuse them like any other invalid value."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


def Int(ge: int = INT64_MIN, le: int = INT64_MAX, **kw: Any) -> Any:
    """A strict integer within [ge, le] (64-bit at most), 2.0 taken as 2, never a bool/string."""
    # Field first: a constraint after a validator would not reach the JSON schema.
    return Annotated[
        int, Field(ge=max(ge, INT64_MIN), le=min(le, INT64_MAX), **kw), BeforeValidator(_integral)
    ]


def Text(min_length: int = 0, max_length: int = 64, **kw: Any) -> Any:
    """A string of valid Unicode, bounded in length."""
    return Annotated[
        str,
        Field(min_length=min_length, max_length=max_length, **kw),
        AfterValidator(_no_lone_surrogates),
    ]


Priority = Int(PRIORITY_MIN, PRIORITY_MAX, description="higher runs first")
Quantity = Int(1, MAX_QUANTITY)
SiteRef = Text(1, 64)  # an id of the site (station, pod, aisle, SKU, ...), checked against it
Seconds = Annotated[float, Field(ge=0, le=MAX_TIME_S, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class OrderLineIn(_Strict):
    sku: SiteRef
    quantity: Quantity


class OrderIn(_Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"lines": [{"sku": "SKU-0001", "quantity": 2}], "priority": 1}]
        }
    )

    id: str | None = Field(
        default=None, pattern=ID_PATTERN, description="WMS order id; generated if absent"
    )
    lines: list[OrderLineIn] = Field(
        min_length=1,
        max_length=1000,
        description="one line per SKU: an order with two lines of one SKU is refused "
        "(422 `duplicate_sku`, naming the second line), never merged",
    )
    priority: Priority = 0
    due_s: Seconds | None = Field(
        default=None, description="due time, simulation seconds (legacy; see due_at)"
    )
    due_at: AwareDatetime | None = Field(
        default=None,
        strict=False,
        description="due time, ISO 8601 wall clock with its offset (e.g. "
        "2026-12-06T08:00:00Z); without due_s, due_s is derived from it at the clock's speed",
    )
    station_id: SiteRef | None = Field(
        default=None,
        description="pick station to use, honoured (the order waits for that station); any if "
        "absent. An unknown station is 422; a station that cannot reach a pod holding each SKU "
        "fails the order with the reason (order event `rejected`)",
    )


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
    due_at: str | None = Field(description="due time, ISO 8601 UTC wall clock, if given")
    station_id: str | None
    done_s: float | None
    source: str


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: int | None = Field(
        description="pass as `after` for the next page; null at the end"
    )


class PriorityIn(_Strict):
    priority: Priority


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


class InstantActionIn(_Strict):
    action_type: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_]*$",
                             description="one the vehicle's factsheet offers, e.g. stateRequest")
    params: dict[str, Text(0, 256)] = Field(  # type: ignore[valid-type]
        default_factory=dict, max_length=16, description="actionParameters (key -> value)")


class InstantActionOut(BaseModel):
    robot_id: str
    action_type: str
    action_id: str


class InstantActionsOffered(BaseModel):
    robot_id: str
    offered: list[str]


class StationConfirmIn(_Strict):
    pod_id: SiteRef = Field(description="the pod presented at the station now")


class StationConfirmOut(BaseModel):
    station_id: str
    pod_id: str
    task_id: str
    picks: list[dict[str, Any]] = Field(description="the picks booked: order, line, sku, qty")


class LanePatch(_Strict):
    enabled: bool


class AlarmAckIn(_Strict):
    note: Text(0, 500) | None = None  # type: ignore[valid-type]


class AlarmOut(BaseModel):
    """The one alarm shape of every endpoint and `alarm` event. `*_at` are wall times (ISO 8601
    UTC, null when unknown or not yet); `*_s` the simulated seconds beside them."""

    id: str
    code: str
    severity: str
    resource_id: str | None
    raised_at: str | None
    acknowledged_by: str | None
    acknowledged_at: str | None
    cleared_at: str | None
    message: str
    state: Literal["active", "acknowledged", "cleared"]
    raised_s: float
    acknowledged_s: float | None
    cleared_s: float | None
    raised_wall_s: float | None
    acknowledged_wall_s: float | None
    cleared_wall_s: float | None


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
