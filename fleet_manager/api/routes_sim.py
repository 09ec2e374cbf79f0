"""Simulator-only controls for demos and tests: fault a robot (an alarm), or arm a crane fault.

Mounted only when the runtime's equipment has a fault injector (a simulated floor); under a
plant file with real equipment these routes do not exist.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from fleet_manager.api.auth import TECH_ROLES, require
from fleet_manager.api.deps import await_runtime, runtime
from fleet_manager.api.errors import ApiError, documented
from fleet_manager.store import TokenRecord

router = APIRouter(prefix="/api/v1/sim", tags=["simulator"])
Tech = Annotated[TokenRecord, Depends(require(*TECH_ROLES))]


class FaultIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    code: str = Field(default="injected_fault", min_length=1, max_length=64)
    message: str | None = Field(default=None, max_length=500)


@router.post(
    "/robots/{robot_id}/fault",
    responses=documented(400, 401, 403, 404, 413, 422),
    summary="Fault a simulated robot: it stops and an error alarm is raised",
)
async def inject_fault(
    robot_id: str, request: Request, _caller: Tech, body: FaultIn | None = None
) -> dict[str, Any]:
    rt = runtime(request)
    injector = rt.equipment.fault_injector
    if injector is None:
        raise ApiError(
            409, "not_simulated", "the runtime drives no simulation: no faults to inject"
        )
    fault = body or FaultIn()
    alarm = await await_runtime(
        rt.call(
            lambda plane: injector.robot_fault(
                plane, robot_id, fault.code, fault.message or ""
            ).as_dict()
        ),
        resource="robot",
        resource_id=robot_id,
    )
    return dict(alarm)


class CraneFaultIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    phase: Literal["to_source", "to_target"] = "to_target"


@router.post(
    "/asrs/{aisle_id}/fault",
    responses=documented(400, 401, 403, 404, 409, 413, 422),
    summary="Arm a simulated AS/RS crane to fault halfway through `phase` of its next move",
)
async def arm_crane_fault(
    aisle_id: str, request: Request, _caller: Tech, body: CraneFaultIn | None = None
) -> dict[str, Any]:
    rt = runtime(request)
    phase = (body or CraneFaultIn()).phase
    injector = rt.equipment.fault_injector

    def arm(_plane: Any) -> dict[str, Any]:  # on the control thread: the crane is not moving now
        aisle = rt.asrs.aisles.get(aisle_id) if rt.asrs is not None else None
        if aisle is None:
            raise ApiError(404, "not_found", f"unknown AS/RS aisle {aisle_id!r}", field="aisle_id")
        if injector is None or not callable(getattr(aisle.driver, "arm_fault", None)):
            raise ApiError(409, "not_simulated",
                           f"aisle {aisle_id} drives a real crane: no faults to arm", field="aisle_id")
        try:
            armed = injector.arm_crane_fault(aisle.driver, phase)
        except ValueError as exc:
            raise ApiError(409, "already_armed", f"aisle {aisle_id}: {exc}",
                           field="aisle_id") from exc
        return {"aisle_id": aisle_id, **armed}

    return await asyncio.wrap_future(rt.call(arm))
