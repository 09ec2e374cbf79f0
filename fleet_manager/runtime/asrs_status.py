"""AS/RS aisle status for technicians: crane state, fault, current move, slot counts; reset checks.

Runs on the control thread (the controller and crane are not locked against the tick).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from fleet_manager.asrs.controller import AsrsController
from fleet_manager.asrs.rack import SlotState
from fleet_manager.asrs.records import MoveRecord, MoveState
from plc_bridge.crane_telegram import STATE_BUSY, STATE_FAULT, STATE_IDLE

CRANE_STATES = {STATE_IDLE: "idle", STATE_BUSY: "busy", STATE_FAULT: "fault"}


class UnknownAisle(KeyError):
    """No AS/RS aisle with that id (the API answers 404)."""


class CraneNotFaulted(ValueError):
    """A reset asked of a crane that is not faulted (the API answers 409)."""

    field = "aisle_id"


class CancelRefused(ValueError):
    """Cancel asked while the faulted move's tote is on the forks: it must be finished."""

    field = "cancel"


def move_dict(m: MoveRecord) -> dict[str, Any]:
    return {"move_id": m.move_id, "kind": str(m.kind), "tote_id": m.tote_id, "source": m.source,
            "target": m.target, "state": str(m.state), "ref": m.ref}


def fault_dict(ctl: AsrsController) -> dict[str, Any] | None:
    fault = ctl.fault
    if fault is None:
        return None
    tote_location = ctl.inventory.store.tote(fault.move.tote_id).location
    return {"detail": fault.outcome.detail, "fault_code": fault.outcome.fault_code,
            "load_on_forks": fault.outcome.load_on_forks, "alarm_id": fault.alarm_id,
            "tote_location": tote_location, "move": move_dict(fault.move),
            # Cancelling releases the reservation; refused once the tote left its source.
            "cancellable": tote_location == fault.move.source}


def aisle_status(aisle_id: str, ctl: AsrsController, crane: dict[str, Any]) -> dict[str, Any]:
    """One aisle as GET /api/v1/asrs shows it."""
    store, rack = ctl.inventory.store, ctl.inventory.rack
    counts = Counter(str(s.state) for s in store.slots(aisle_id))
    io = ctl.inventory.io
    mine = [m for m in store.open_moves()
            if m.source in rack.index or m.target in rack.index or io in (m.source, m.target)]
    current = next((m for m in mine if m.state in (MoveState.ACTIVE, MoveState.FAULTED)), None)
    return {
        "aisle_id": aisle_id,
        "crane_id": crane.get("crane_id"),
        "faulted": ctl.fault is not None,
        "fault": fault_dict(ctl),
        "current_move": move_dict(current) if current is not None else None,
        "reserved_moves": sum(1 for m in mine if m.state == MoveState.RESERVED),
        "pending_jobs": ctl.pending_jobs,
        "cycles_run": ctl.cycles_run,
        "crane": {**crane, "state_name": CRANE_STATES.get(crane.get("state"), "unknown")},
        "slots": {"total": sum(counts.values()), **{str(s): counts.get(str(s), 0) for s in SlotState}},
    }


def check_reset(aisle_id: str, ctl: AsrsController | None, cancel: bool) -> None:
    """Raise UnknownAisle / CraneNotFaulted / CancelRefused before anything is changed."""
    if ctl is None:
        raise UnknownAisle(f"unknown AS/RS aisle {aisle_id!r}")
    if ctl.fault is None:
        raise CraneNotFaulted(f"crane {ctl.driver.crane_id} of aisle {aisle_id} is not faulted; "
                              "nothing to reset")
    move = ctl.fault.move
    where = ctl.inventory.store.tote(move.tote_id).location
    if cancel and where != move.source:
        raise CancelRefused(f"crane {ctl.driver.crane_id}: tote {move.tote_id} already left "
                            f"{move.source} (now at {where}); reset without cancel to finish "
                            f"move {move.move_id}")
