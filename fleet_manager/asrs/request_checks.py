"""Read-only checks of a WMS store/retrieve request against the AS/RS inventory (4xx before commit)."""

from __future__ import annotations

from typing import Any

from fleet_manager.asrs.inventory import AsrsInventory
from fleet_manager.asrs.records import CRANE_PREFIX, ToteNotFound


class AsrsRequestError(ValueError):
    """A request the inventory refuses now; names the HTTP status, error code and field."""

    def __init__(self, status: int, code: str, field: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.code, self.field, self.reason = status, code, field, reason


def check_request(inv: AsrsInventory, kind: str, payload: dict[str, Any]) -> None:
    """Raise AsrsRequestError when `payload` cannot be reserved right now; changes nothing.
    Only a concurrent request can still take the slot or tote first (the task then fails)."""
    if kind == "asrs_store":
        _check_store(inv, payload)
    elif kind == "asrs_retrieve":
        _check_retrieve(inv, payload)


def _str_field(payload: dict[str, Any], name: str) -> str | None:
    value = payload.get(name)
    if value is not None and not isinstance(value, str):
        raise AsrsRequestError(422, "wrong_type", f"payload.{name}", f"payload.{name} must be a string")
    return value


def _check_store(inv: AsrsInventory, p: dict[str, Any]) -> None:
    tote_id, slot_id = _str_field(p, "tote_id"), _str_field(p, "slot_id")
    _str_field(p, "lot")
    if tote_id is not None:
        try:
            tote = inv.store.tote(tote_id)
        except ToteNotFound:
            tote = None  # a new tote: it enters at the I/O point
        if tote is not None:
            if tote.sku != p.get("sku"):
                raise AsrsRequestError(409, "wrong_sku", "payload.tote_id",
                                       f"tote {tote_id} holds {tote.sku}, not {p.get('sku')}")
            if tote.location in inv.rack.index or tote.location.startswith(CRANE_PREFIX) \
                    or tote.reserved_by is not None:
                raise AsrsRequestError(409, "tote_busy", "payload.tote_id",
                                       f"tote {tote_id} is at {tote.location}"
                                       + (f", reserved by move {tote.reserved_by}"
                                          if tote.reserved_by else "") + "; it cannot be stored")
    if slot_id is not None:
        if slot_id not in inv.rack.index:
            raise AsrsRequestError(422, "unknown_location", "payload.slot_id",
                                   f"aisle {inv.rack.aisle.id} has no slot {slot_id!r}")
        slot = inv.store.slot(slot_id)
        if slot.tote_id is not None or slot.reserved_by is not None or slot.blocked_reason:
            raise AsrsRequestError(409, "slot_occupied", "payload.slot_id",
                                   f"slot {slot_id} is {slot.state}"
                                   + (f" (tote {slot.tote_id})" if slot.tote_id else ""))
        front = inv.rack.front_of(slot_id)
        if front is not None:
            f = inv.store.slot(front)
            if f.tote_id is not None or f.reserved_by is not None:
                raise AsrsRequestError(409, "slot_occupied", "payload.slot_id",
                                       f"slot {slot_id} is behind {front}, which is {f.state}")
    elif not inv.view().free.any():
        raise AsrsRequestError(409, "no_free_slot", "payload.aisle_id",
                               f"aisle {inv.rack.aisle.id} has no free slot")


def _check_retrieve(inv: AsrsInventory, p: dict[str, Any]) -> None:
    tote_id = _str_field(p, "tote_id")
    if tote_id is not None:
        try:
            tote = inv.store.tote(tote_id)
        except ToteNotFound:
            raise AsrsRequestError(422, "unknown_tote", "payload.tote_id",
                                   f"unknown tote {tote_id!r}") from None
        if tote.location not in inv.rack.index or tote.reserved_by is not None:
            raise AsrsRequestError(409, "tote_busy", "payload.tote_id",
                                   f"tote {tote_id} is at {tote.location}"
                                   + (f", reserved by move {tote.reserved_by}"
                                      if tote.reserved_by else "")
                                   + f"; not retrievable from aisle {inv.rack.aisle.id}")
        if tote.sku != p.get("sku"):
            raise AsrsRequestError(409, "wrong_sku", "payload.tote_id",
                                   f"tote {tote_id} holds {tote.sku}, not {p.get('sku')}")
        return
    sku = str(p.get("sku"))
    if not [t for t in inv.store.fifo_totes(sku) if t.location in inv.rack.index]:
        raise AsrsRequestError(409, "no_stock", "payload.sku",
                               f"aisle {inv.rack.aisle.id} holds no retrievable tote of {sku}")
