"""Checks of schema-valid bodies against the site: unknown SKUs, stations, pods, lanes -> 422."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fleet_manager.api.refusal import ApiError
from fleet_manager.api.schemas import OrderIn
from fleet_manager.api.task_schemas import (
    AnyTask,
    AsrsRetrievePayload,
    AsrsStorePayload,
    ConveyorTransferPayload,
    PodFetchPayload,
    SortPayload,
)
from fleet_manager.requests import RequestError, check_asrs_task, check_fleet_task
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
        if line.sku in wanted:  # refused, not merged: the WMS's line numbers stay its own
            raise ApiError(
                422, "duplicate_sku", f"SKU {line.sku} is on more than one line: send one line"
                " per SKU with the whole quantity", f"lines[{i}].sku",
            )
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


def _member(value: str, field: str, known: Any, what: str) -> str:
    if value not in known:
        raise _unknown("unknown_location", f"payload.{field}", f"unknown {what} {value!r}")
    return value


def check_task(site: Site, body: AnyTask, store: Store) -> None:
    """Site references of a schema-valid task: unknown ones are 422 naming the payload field."""
    if body.order_id is not None and store.get_order(body.order_id) is None:
        raise _unknown("unknown_order", "order_id", f"unknown order {body.order_id!r}")
    p = body.payload
    if isinstance(p, PodFetchPayload | AsrsStorePayload | AsrsRetrievePayload):
        # The rules every entry point shares (ROS services, VDA, this API): one module.
        try:
            if isinstance(p, PodFetchPayload):
                check_fleet_task(site, (), body.kind, body.payload_as_sent())
            else:
                check_asrs_task(site, body.kind, body.payload_as_sent())
        except RequestError as exc:
            raise ApiError(exc.status, exc.code, exc.reason, exc.field) from None
    elif isinstance(p, ConveyorTransferPayload):
        conveyor_id = _member(p.conveyor_id, "conveyor_id", site.conveyors, "conveyor")
        points = {pt.id for pt in site.conveyors[conveyor_id].points}
        _member(p.from_point, "from_point", points, f"point of conveyor {conveyor_id}")
        _member(p.to_point, "to_point", points, f"point of conveyor {conveyor_id}")
    elif isinstance(p, SortPayload):
        sorter_id = _member(p.sorter_id, "sorter_id", site.sorters, "sorter")
        if p.lane_id is not None:
            lanes = {lane.id for lane in site.sorters[sorter_id].lanes}
            _member(p.lane_id, "lane_id", lanes, f"lane of sorter {sorter_id}")
