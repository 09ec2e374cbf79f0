"""Read-only checks of task requests from any entry point (ROS, API, VDA) before anything is accepted."""

# One place for the rules a request must meet to be accepted at all: the kind, the payload's
# fields and types, and the ids it names (robots, parking spots, pods, stations, aisles, SKUs).
# Every check reads only; nothing is reserved here. The AS/RS checks then ask the aisle's
# inventory whether the request can be reserved now (asrs.request_checks). The dispatcher and
# the AS/RS controller keep their own guards: a request checked here can still lose a race.

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

from fleet_manager.asrs.request_checks import AsrsRequestError, check_request
from fleet_manager.domain import TaskKind
from fleet_manager.site.model import Site

# Kinds an operator or a WMS may submit to the fleet dispatcher (the rest it creates itself).
FLEET_KINDS = (TaskKind.PARK, TaskKind.CHARGE, TaskKind.EXCEPTION, TaskKind.POD_FETCH)
ASRS_KINDS = (TaskKind.ASRS_STORE, TaskKind.ASRS_RETRIEVE)
MAX_ID_CHARS = 128
MAX_QUANTITY = 1_000_000


class RequestError(AsrsRequestError):
    """A request refused before acceptance: HTTP-like status, error code, field and reason.

    str() is "field: reason", so a ROS error reply names the field at fault."""

    def __init__(self, status: int, code: str, field: str, reason: str) -> None:
        super().__init__(status, code, field, reason)
        self.args = (f"{field}: {reason}",)

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


def _invalid(field: str, reason: str, code: str = "invalid_value") -> RequestError:
    return RequestError(422, code, field, reason)


def parse_kind(kind: str, allowed: Collection[TaskKind]) -> TaskKind:
    """The TaskKind named by `kind`, if it is one of `allowed`."""
    names = ", ".join(k.value for k in allowed)
    try:
        parsed = TaskKind(kind)
    except ValueError:
        raise _invalid(
            "kind", f"unknown task kind {kind!r} (one of {names})", "unknown_kind"
        ) from None
    if parsed not in allowed:
        raise _invalid("kind", f"{kind!r} is not served here (one of {names})", "wrong_kind")
    return parsed


def _id(payload: dict[str, Any], name: str, *, required: bool) -> str | None:
    """A non-empty id string of at most MAX_ID_CHARS without surrounding blanks, or None."""
    value = payload.get(name)
    if value is None:
        if required:
            raise _invalid(f"payload.{name}", "is required", "missing_field")
        return None
    if not isinstance(value, str):
        raise _invalid(
            f"payload.{name}", f"must be a string, got {type(value).__name__}", "wrong_type"
        )
    if not value.strip() or value != value.strip() or len(value) > MAX_ID_CHARS:
        raise _invalid(
            f"payload.{name}", f"must be a non-empty id without surrounding blanks, got {value!r}"
        )
    return value


def _member(
    payload: dict[str, Any], name: str, known: Collection[str], what: str, *, required: bool
) -> str | None:
    value = _id(payload, name, required=required)
    if value is not None and value not in known:
        raise _invalid(f"payload.{name}", f"unknown {what} {value!r}", "unknown_location")
    return value


def _quantity(payload: dict[str, Any]) -> int:
    qty = payload.get("quantity", 1)
    if isinstance(qty, bool) or not isinstance(qty, int) or not 0 < qty <= MAX_QUANTITY:
        raise _invalid("payload.quantity", f"must be an integer in 1..{MAX_QUANTITY}, got {qty!r}")
    return qty


def check_fleet_task(
    site: Site, robot_ids: Collection[str], kind: str, payload: dict[str, Any]
) -> TaskKind:
    """Raise RequestError unless a fleet task of `kind` with `payload` may be submitted.

    Checks what the request names against the site and the fleet (robot, parking spot, pod,
    station, hold time); whether a pod is free right now is the dispatcher's to say."""
    task_kind = parse_kind(kind, FLEET_KINDS)
    _member(payload, "robot", robot_ids, "robot", required=False)
    if task_kind == TaskKind.PARK:
        if not site.parking:
            raise _invalid("kind", "the site has no parking spots")
        _member(payload, "spot", site.parking, "parking spot", required=False)
    elif task_kind == TaskKind.CHARGE and not site.chargers:
        raise _invalid("kind", "the site has no chargers")
    elif task_kind == TaskKind.POD_FETCH:
        _member(payload, "pod_id", site.pods, "pod", required=True)
        _member(payload, "station_id", site.stations, "pick station", required=True)
        hold = payload.get("hold_s", 0.0)
        if (
            isinstance(hold, bool)
            or not isinstance(hold, int | float)
            or not math.isfinite(hold)
            or not 0 <= hold < 1e9
        ):
            raise _invalid("payload.hold_s", f"must be seconds >= 0, got {hold!r}")
    return task_kind


def check_asrs_task(
    site: Site, kind: str, payload: dict[str, Any], inventories: dict[str, Any] | None = None
) -> TaskKind:
    """Raise RequestError unless an AS/RS store or retrieve may be accepted now.

    `payload`: aisle_id, sku, quantity (default 1), tote_id?, slot_id?, lot? (store);
    aisle_id, sku, quantity, tote_id?, station_id?, order_id? (retrieve). With `inventories`
    (aisle id -> AsrsInventory) the aisle's inventory is asked too (stock, free slot, tote)."""
    task_kind = parse_kind(kind, ASRS_KINDS)
    aisle_id = _member(payload, "aisle_id", site.asrs, "AS/RS aisle", required=True)
    sku = _id(payload, "sku", required=True)
    if site.skus and sku not in site.skus:
        raise _invalid("payload.sku", f"unknown SKU {sku!r}", "unknown_sku")
    _quantity(payload)
    _id(payload, "tote_id", required=False)
    _id(payload, "order_id", required=False)
    lot = payload.get("lot", "")
    if not isinstance(lot, str):
        raise _invalid("payload.lot", f"must be a string, got {type(lot).__name__}", "wrong_type")
    if task_kind == TaskKind.ASRS_STORE:
        if "station_id" in payload:
            raise _invalid(
                "payload.station_id",
                "a store takes no station (the tote comes in at the I/O point)",
            )
    else:
        _member(payload, "station_id", site.stations, "pick station", required=False)
        if "slot_id" in payload:
            raise _invalid("payload.slot_id", "a retrieve names a tote or a SKU, not a slot")
    inventory = (inventories or {}).get(str(aisle_id))
    if inventory is not None:
        try:
            check_request(inventory, task_kind.value, payload)
        except RequestError:
            raise
        except AsrsRequestError as exc:
            raise RequestError(exc.status, exc.code, exc.field, exc.reason) from None
    return task_kind
