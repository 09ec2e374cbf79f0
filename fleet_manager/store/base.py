"""The storage interface (SQLite embedded, PostgreSQL for a site that runs around the clock)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fleet_manager.alarms import alarm_shape
from fleet_manager.clock import iso_utc
from fleet_manager.events import Event

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


class StoreError(Exception):
    """A write was refused; `code`, `field` and `reason` become the API's error body."""

    status = 400

    def __init__(self, code: str, reason: str, field: str | None = None):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.field = field


class StoreOpenError(RuntimeError):
    """The store could not be opened; the message is one line naming what was wrong."""


class Conflict(StoreError):
    status = 409


class NotFound(StoreError):
    status = 404


class IdempotencyMismatch(StoreError):
    """The same Idempotency-Key came back with a different request body."""

    status = 422


@dataclass(frozen=True)
class IdempotencyClaim:
    """Who asked (token id), the key they sent and the hash of what they asked."""

    scope: str
    key: str
    request_hash: str


@dataclass(frozen=True)
class StoredResponse:
    """A create's original answer, returned again on an idempotent replay."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


@dataclass(frozen=True)
class OrderLineRecord:
    sku: str
    quantity: int
    picked: int = 0


@dataclass(frozen=True)
class OrderRecord:
    id: str
    state: str
    priority: int
    lines: tuple[OrderLineRecord, ...]
    created_s: float
    created_at: float  # wall clock, unix seconds
    due_s: float | None = None
    station_id: str | None = None
    done_s: float | None = None
    source: str = "api"
    due_at: float | None = None  # wall clock due time, unix seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "priority": self.priority,
            "lines": [
                {"sku": x.sku, "quantity": x.quantity, "picked": x.picked} for x in self.lines
            ],
            "created_s": self.created_s,
            "created_at": self.created_at,
            "due_s": self.due_s,
            "due_at": iso_utc(self.due_at) if self.due_at is not None else None,
            "station_id": self.station_id,
            "done_s": self.done_s,
            "source": self.source,
        }


@dataclass(frozen=True)
class TaskRecord:
    id: str
    kind: str
    state: str
    priority: int
    created_s: float
    order_id: str | None = None
    resource_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    source: str = "sim"  # "api" when a WMS created it
    history: tuple[dict[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "priority": self.priority,
            "created_s": self.created_s,
            "order_id": self.order_id,
            "resource_id": self.resource_id,
            "payload": self.payload,
            "source": self.source,
            "history": list(self.history),
        }


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    topic: str
    kind: str
    at_s: float
    data: dict[str, Any]
    wall_s: float | None = None  # epoch seconds when it was committed

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "topic": self.topic,
            "kind": self.kind,
            "at_s": self.at_s,
            "at": iso_utc(self.wall_s) if self.wall_s is not None else None,
            "data": self.data,
        }


@dataclass(frozen=True)
class TokenRecord:
    id: str  # public prefix, part of the token itself
    role: str
    name: str
    created_at: float


@dataclass(frozen=True)
class AlarmRecord:
    id: str
    code: str
    message: str
    raised_s: float
    state: str = "active"  # active | acknowledged | cleared
    severity: str = "warning"
    resource_id: str | None = None
    acked_by: str | None = None
    acked_at: float | None = None  # simulated seconds (column name kept from schema 1)
    cleared_s: float | None = None
    raised_wall_s: float | None = None
    acked_wall_s: float | None = None
    cleared_wall_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return alarm_shape(
            id=self.id, code=self.code, severity=self.severity, resource_id=self.resource_id,
            message=self.message, state=self.state, raised_s=self.raised_s,
            acknowledged_by=self.acked_by, acknowledged_s=self.acked_at,
            cleared_s=self.cleared_s, raised_wall_s=self.raised_wall_s,
            acknowledged_wall_s=self.acked_wall_s, cleared_wall_s=self.cleared_wall_s,
        )


@dataclass
class StateBatch:
    """One tick's worth of state changes, committed atomically with the events that tell of them.

    Rows are applied first, then events are appended to the outbox in order.
    """

    events: list[Event] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)  # {"id", "state", ...changes}
    picks: list[tuple[str, str, int]] = field(default_factory=list)  # (order_id, sku, units)
    tasks: list[dict[str, Any]] = field(default_factory=list)  # upsert: TaskRecord fields
    task_history: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    alarms: list[AlarmRecord] = field(default_factory=list)
    # Meta rows written with the events (e.g. the robots' states of record).
    meta: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(
            self.events
            or self.meta
            or self.orders
            or self.picks
            or self.tasks
            or self.task_history
            or self.alarms
        )


@dataclass(frozen=True)
class OrderQuery:
    state: str | None = None
    source: str | None = None
    sku: str | None = None
    min_priority: int | None = None
    after_cursor: int = 0
    limit: int = DEFAULT_PAGE_SIZE


EventListener = Callable[[list[StoredEvent]], None]


@dataclass(frozen=True)
class PruneResult:
    """Rows removed by one retention pass, per kind."""

    events: int = 0
    kpi_samples: int = 0
    idempotency_keys: int = 0


class Store(Protocol):
    """Durable state. Writes return a Future resolved once committed (or failed with StoreError).

    Implementations must commit a StateBatch's rows and events in one transaction and give
    events strictly increasing sequence numbers in commit order: a reader that has seen event n
    never later finds a newly committed event numbered below n.
    """

    data_dir: Path  # local files beside the store (AS/RS inventory, first-run tokens)

    def create_order(
        self, order: OrderRecord, claim: IdempotencyClaim | None
    ) -> Future[StoredResponse]: ...

    def create_task(
        self, task: TaskRecord, claim: IdempotencyClaim | None
    ) -> Future[StoredResponse]: ...

    def apply_batch(self, batch: StateBatch) -> Future[list[StoredEvent]]: ...

    def create_token(
        self, token_id: str, token_hash: str, role: str, name: str
    ) -> Future[None]: ...

    def idempotent_response(self, claim: IdempotencyClaim) -> StoredResponse | None: ...

    def get_order(self, order_id: str) -> OrderRecord | None: ...

    def list_orders(self, query: OrderQuery) -> tuple[list[OrderRecord], int | None]: ...

    def open_orders(self) -> list[OrderRecord]: ...

    def get_task(self, task_id: str) -> TaskRecord | None: ...

    def list_tasks(
        self,
        *,
        state: str | None,
        kind: str | None,
        order_id: str | None,
        after_cursor: int,
        limit: int,
    ) -> tuple[list[TaskRecord], int | None]: ...

    def open_tasks(self) -> list[TaskRecord]: ...

    def events_after(self, seq: int, limit: int) -> list[StoredEvent]: ...

    def last_seq(self) -> int: ...

    def find_token(self, token_id: str) -> tuple[TokenRecord, str] | None: ...

    def count_tokens(self) -> int: ...

    def list_alarms(self, state: str | None) -> list[AlarmRecord]: ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> Future[None]: ...

    def count_orders(self) -> dict[str, int]: ...

    def highest_ids(self) -> dict[str, dict[str, int]]: ...

    def add_event_listener(self, listener: EventListener) -> Callable[[], None]:
        """`listener(events)` runs after each commit of this process, in seq order."""
        ...

    def append_kpi_sample(self, time_s: float, sample: dict[str, Any]) -> Future[None]: ...

    def kpi_samples(self, limit: int) -> list[tuple[float, dict[str, Any]]]:
        """The newest `limit` KPI samples as (wall unix s, sample), oldest first."""
        ...

    def prune(self, before_wall_s: float, batch_rows: int) -> PruneResult:
        """Delete events, KPI samples and idempotency keys older than `before_wall_s`, in
        transactions of at most batch_rows rows each. The newest event always stays, so
        sequence numbers never restart."""
        ...

    def start_retention(
        self, retention_s: float, every_s: float = ..., batch_rows: int = ...
    ) -> None: ...

    def stop_retention(self) -> None: ...

    def close(self) -> None: ...
