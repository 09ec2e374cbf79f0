"""Simulator-only controls for demos and tests: raise a robot fault (an alarm) on purpose."""

from __future__ import annotations

from typing import Annotated, Any

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
    if not callable(getattr(rt.sim, "inject_fault", None)):
        raise ApiError(
            409, "not_simulated", "the runtime drives no simulation: no faults to inject"
        )
    fault = body or FaultIn()
    alarm = await await_runtime(
        rt.call(lambda sim: sim.inject_fault(robot_id, fault.code, fault.message or "").as_dict()),
        resource="robot",
        resource_id=robot_id,
    )
    return dict(alarm)
