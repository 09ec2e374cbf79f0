"""Inventory records and errors shared by the store, the policies and the controller."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fleet_manager.asrs.rack import SlotState
from fleet_manager.domain import SlotId, ToteId

IO_PREFIX = "io:"  # tote waiting at an aisle's input/output point: io:<aisle>
CRANE_PREFIX = "crane:"  # tote on a crane's forks (after a fault mid-move): crane:<crane id>


def io_location(aisle_id: str) -> str:
    return f"{IO_PREFIX}{aisle_id}"


def crane_location(crane_id: str) -> str:
    return f"{CRANE_PREFIX}{crane_id}"


class MoveKind(StrEnum):
    STORE = "store"  # io -> slot
    RETRIEVE = "retrieve"  # slot -> io
    RELOCATE = "relocate"  # slot -> slot (a blocking front tote in a double-deep lane)


class MoveState(StrEnum):
    RESERVED = "reserved"  # source and target held, crane not yet told
    ACTIVE = "active"  # sent to the crane
    FAULTED = "faulted"  # crane faulted mid-move; tote location recorded, nothing else applied
    DONE = "done"
    CANCELLED = "cancelled"


class InventoryError(ValueError):
    """Refused inventory change; the message names the slot and/or tote. Nothing was applied."""


class SlotConflict(InventoryError):
    """The slot is occupied, reserved or blocked."""


class ToteNotFound(InventoryError):
    """No tote with that id, or it is not where the request says it is."""


class NoStock(InventoryError):
    """No retrievable tote of the requested SKU."""


class NoFreeSlot(InventoryError):
    """No slot the storage policy may use."""


@dataclass(frozen=True)
class ToteRecord:
    tote_id: ToteId
    sku: str
    quantity: int
    lot: str
    received_s: float
    location: str  # a slot id, io:<aisle>, crane:<crane>, or wherever it was handed off to
    reserved_by: str | None = None  # move id


@dataclass(frozen=True)
class SlotRecord:
    slot_id: SlotId
    aisle: str
    tote_id: ToteId | None
    reserved_by: str | None
    blocked_reason: str | None

    @property
    def state(self) -> SlotState:
        if self.blocked_reason is not None:
            return SlotState.BLOCKED
        if self.reserved_by is not None:
            return SlotState.RESERVED
        return SlotState.OCCUPIED if self.tote_id is not None else SlotState.EMPTY


@dataclass(frozen=True)
class MoveRecord:
    move_id: str
    kind: MoveKind
    tote_id: ToteId
    source: str
    target: str
    state: MoveState = MoveState.RESERVED
    ref: str = ""  # order line / task id the move serves
    crane_id: str = ""
    created_s: float = 0.0
    detail: str = ""  # fault text, cancel reason
