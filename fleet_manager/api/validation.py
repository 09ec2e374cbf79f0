"""Checks of request bodies against the site: unknown SKUs, stations, pods, lanes -> 422."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fleet_manager.api.errors import ApiError
from fleet_manager.api.schemas import OrderIn, TaskIn
from fleet_manager.site.model import Site
from fleet_manager.store import Store


def _unknown(code: str, field: str, reason: str) -> ApiError:
    return ApiError(422, code, reason, field)


def check_order(site: Site, body: OrderIn, free_units: Callable[[str], int | None]) -> None:
    known = site.skus
    wanted: dict[str, int] = {}
    for i, line in enumerate(body.lines):
        if known and line.sku not in known:
            raise _unknown("unknown_sku", f"lines[{i}].sku", f"unknown SKU {line.sku!r}")
        wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
        free = free_units(line.sku)
        if free is not None and wanted[line.sku] > free:
            raise ApiError(
                422,
                "insufficient_stock",
                f"{wanted[line.sku]} units of {line.sku} wanted, the site holds {free} not yet"
                " promised to other orders",
                f"lines[{i}].quantity",
            )
    if body.station_id is not None and body.station_id not in site.stations:
        raise _unknown(
            "unknown_location", "station_id", f"unknown pick station {body.station_id!r}"
        )


def _require(payload: dict[str, Any], name: str, kind: str) -> Any:
    if name not in payload:
        raise ApiError(
            422, "missing_field", f"a {kind} task needs payload.{name}", f"payload.{name}"
        )
    return payload[name]


def _member(payload: dict[str, Any], name: str, kind: str, known: Any, what: str) -> Any:
    value = _require(payload, name, kind)
    if not isinstance(value, str):
        raise ApiError(422, "wrong_type", f"payload.{name} must be a string", f"payload.{name}")
    if value not in known:
        raise _unknown("unknown_location", f"payload.{name}", f"unknown {what} {value!r}")
    return value


def _quantity(payload: dict[str, Any], kind: str) -> None:
    qty = payload.get("quantity", 1)
    if not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0:
        raise ApiError(
            422, "invalid_value", "payload.quantity must be a positive integer", "payload.quantity"
        )


def check_task(site: Site, body: TaskIn, store: Store) -> None:
    p, kind = body.payload, body.kind
    if body.order_id is not None and store.get_order(body.order_id) is None:
        raise _unknown("unknown_order", "order_id", f"unknown order {body.order_id!r}")
    if kind == "pod_fetch":
        _member(p, "pod_id", kind, site.pods, "pod")
        _member(p, "station_id", kind, site.stations, "pick station")
        hold = p.get("hold_s", 0.0)
        if isinstance(hold, bool) or not isinstance(hold, int | float) or not 0 <= hold < 1e9:
            raise ApiError(
                422, "invalid_value", "payload.hold_s must be seconds >= 0", "payload.hold_s"
            )
    elif kind in ("asrs_store", "asrs_retrieve"):
        _member(p, "aisle_id", kind, site.asrs, "AS/RS aisle")
        sku = _require(p, "sku", kind)
        if site.skus and sku not in site.skus:
            raise _unknown("unknown_sku", "payload.sku", f"unknown SKU {sku!r}")
        _quantity(p, kind)
    elif kind == "conveyor_transfer":
        conveyor_id = _member(p, "conveyor_id", kind, site.conveyors, "conveyor")
        points = {pt.id for pt in site.conveyors[conveyor_id].points}
        _member(p, "from_point", kind, points, f"point of conveyor {conveyor_id}")
        _member(p, "to_point", kind, points, f"point of conveyor {conveyor_id}")
    elif kind == "sort":
        sorter_id = _member(p, "sorter_id", kind, site.sorters, "sorter")
        lanes = {lane.id for lane in site.sorters[sorter_id].lanes}
        if "lane_id" in p:
            _member(p, "lane_id", kind, lanes, f"lane of sorter {sorter_id}")
