"""Robots, stations, sorter lanes, alarms, inventory, the map and the caller: read and command."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from fleet_manager.api.auth import READ_ROLES, TECH_ROLES, WMS_ROLES, require
from fleet_manager.api.deps import await_runtime, runtime
from fleet_manager.api.errors import ApiError, documented
from fleet_manager.api.schemas import (
    AlarmAckIn,
    AlarmList,
    AlarmOut,
    CommandResult,
    Health,
    InstantActionIn,
    InstantActionOut,
    InstantActionsOffered,
    ItemList,
    KpiHistoryOut,
    LanePatch,
    Me,
    RobotCommandIn,
    SkuLocation,
    StationConfirmIn,
    StationConfirmOut,
)
from fleet_manager.store import TokenRecord

router = APIRouter(prefix="/api/v1", tags=["fleet"])
Reader = Annotated[TokenRecord, Depends(require(*READ_ROLES))]
Tech = Annotated[TokenRecord, Depends(require(*TECH_ROLES))]
Confirmer = Annotated[TokenRecord, Depends(require(*WMS_ROLES, *TECH_ROLES))]


def _items(request: Request, key: str) -> list[dict[str, Any]]:
    found = runtime(request).snapshot().get(key, [])
    return list(found.values()) if isinstance(found, dict) else list(found)


@router.get("/me", response_model=Me, responses=documented(401))
async def me(caller: Reader):
    return {"name": caller.name, "role": caller.role, "token_id": caller.id}


@router.get("/health", response_model=Health)
async def health(request: Request):
    rt = runtime(request)
    return {"status": "ok", "sim_time_s": rt.now_s, "last_seq": rt.store.last_seq()}


@router.get("/map", responses=documented(401), summary="The site as JSON for drawing")
async def site_map(request: Request, _caller: Reader):
    return Response(request.app.state.map_json, media_type="application/json")


@router.get("/robots", response_model=ItemList, responses=documented(401))
async def list_robots(request: Request, _caller: Reader):
    return {"items": _items(request, "robots")}


@router.get("/robots/{robot_id}", responses=documented(401, 404))
async def get_robot(robot_id: str, request: Request, _caller: Reader) -> dict[str, Any]:
    for robot in _items(request, "robots"):
        if robot.get("id") == robot_id:
            return robot
    raise ApiError(404, "not_found", f"unknown robot {robot_id!r}", field="robot_id")


@router.post(
    "/robots/{robot_id}/commands",
    response_model=CommandResult,
    responses=documented(400, 401, 403, 404, 409, 413, 422),
    summary="pause, resume, charge, park, out_of_service, in_service, clear_fault, confirm_check",
    description=(
        "`clear_fault` clears a robot's fault (a simulated robot clears it; a real vehicle must "
        "have cleared it itself, else 409 with the reason); its stranded pod then goes back to "
        "storage and its failed task's lines are planned again. `confirm_check` is a "
        "technician's word that a robot marked `needs_check` after a restart is fine (409 if it "
        "needs none). Out of service, paused, faulted and the pod held survive a restart."
    ),
)
async def command_robot(robot_id: str, body: RobotCommandIn, request: Request, _caller: Tech):
    result = await await_runtime(
        runtime(request).command_robot(robot_id, body.command),
        resource="robot",
        resource_id=robot_id,
    )
    detail = result if isinstance(result, dict) else {}
    return {"id": robot_id, "accepted": True, "detail": {"command": body.command, **detail}}


@router.get(
    "/robots/{robot_id}/instant-actions",
    response_model=InstantActionsOffered,
    responses=documented(401, 404),
    summary="Instant actions a VDA 5050 vehicle offers (from its factsheet)",
)
async def instant_actions(robot_id: str, request: Request, _caller: Reader) -> dict[str, Any]:
    offered = await await_runtime(
        runtime(request).instant_actions(robot_id), resource="robot", resource_id=robot_id
    )
    return {"robot_id": robot_id, "offered": offered}


@router.post(
    "/robots/{robot_id}/instant-actions",
    response_model=InstantActionOut,
    responses=documented(400, 401, 403, 404, 409, 413, 422),
    summary="Send a VDA 5050 instant action the vehicle offers (e.g. stateRequest)",
)
async def instant_action(
    robot_id: str, body: InstantActionIn, request: Request, _caller: Tech
) -> dict[str, Any]:
    action_id = await await_runtime(
        runtime(request).instant_action(robot_id, body.action_type, body.params),
        resource="robot",
        resource_id=robot_id,
    )
    return {"robot_id": robot_id, "action_type": body.action_type, "action_id": action_id}


@router.get("/stations", response_model=ItemList, responses=documented(401))
async def list_stations(request: Request, _caller: Reader):
    return {"items": _items(request, "stations")}


@router.post(
    "/stations/{station_id}/confirm",
    response_model=StationConfirmOut,
    responses=documented(400, 401, 403, 404, 409, 413, 422),
    summary="Confirm the picks of the pod presented at a station (stations confirmed by api)",
)
async def confirm_station(
    station_id: str, body: StationConfirmIn, request: Request, _caller: Confirmer
) -> dict[str, Any]:
    return await await_runtime(
        runtime(request).confirm_station(station_id, body.pod_id),
        resource="station",
        resource_id=station_id,
    )


@router.get("/lanes", response_model=ItemList, responses=documented(401))
async def list_lanes(request: Request, _caller: Reader):
    lanes = await await_runtime(runtime(request).lanes(), resource="lane", resource_id="*")
    return {"items": lanes}


@router.patch(
    "/lanes/{lane_id}",
    response_model=ItemList,
    responses=documented(400, 401, 403, 404, 413, 422),
    summary="Enable or disable a sorter lane",
)
async def patch_lane(lane_id: str, body: LanePatch, request: Request, _caller: Tech):
    lane = await await_runtime(
        runtime(request).set_lane_enabled(lane_id, body.enabled),
        resource="lane",
        resource_id=lane_id,
    )
    return {"items": [lane]}


@router.get("/alarms", response_model=AlarmList, responses=documented(401, 422))
async def list_alarms(
    request: Request,
    _caller: Reader,
    state: Annotated[str | None, Query(pattern="^(active|acknowledged|cleared)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
):
    found = runtime(request).store.list_alarms(state)
    return {"items": [a.as_dict() for a in found[-limit:]]}


@router.post(
    "/alarms/{alarm_id}/ack",
    response_model=AlarmOut,
    responses=documented(400, 401, 403, 404, 413, 422),
)
async def ack_alarm(alarm_id: str, request: Request, caller: Tech, body: AlarmAckIn | None = None):
    rt = runtime(request)
    await await_runtime(rt.ack_alarm(alarm_id, caller.name), resource="alarm", resource_id=alarm_id)
    for alarm in rt.store.list_alarms(None):
        if alarm.id == alarm_id:
            return alarm.as_dict()
    raise ApiError(404, "not_found", f"unknown alarm {alarm_id!r}", field="alarm_id")


@router.get(
    "/inventory/skus/{sku}",
    response_model=SkuLocation,
    responses=documented(401, 404),
    summary="Where is SKU X: pods, slots, robots and AS/RS totes holding it",
)
async def where_is(sku: str, request: Request, _caller: Reader):
    return await await_runtime(runtime(request).where_is(sku), resource="sku", resource_id=sku)


@router.get(
    "/kpis/history",
    response_model=KpiHistoryOut,
    responses=documented(401, 422),
    summary="KPI samples (about one per 10 simulated s) over the last window_s, oldest first",
)
async def kpi_history(
    request: Request,
    _caller: Reader,
    window_s: Annotated[float, Query(gt=0, le=86_400)] = 3600.0,
):
    history = runtime(request).kpi_history
    return {"step_s": history.step_s, "horizon_s": history.horizon_s, "window_s": window_s,
            "items": history.window(window_s)}
