"""AS/RS for technicians: aisle and crane status, and the crane fault reset."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from fleet_manager.api.auth import READ_ROLES, TECH_ROLES, require
from fleet_manager.api.deps import runtime
from fleet_manager.api.errors import ApiError, documented
from fleet_manager.api.schemas import CraneResetIn, CraneResetOut, ItemList
from fleet_manager.runtime.asrs_status import CancelRefused, CraneNotFaulted, UnknownAisle
from fleet_manager.store import TokenRecord

router = APIRouter(prefix="/api/v1/asrs", tags=["asrs"])
Reader = Annotated[TokenRecord, Depends(require(*READ_ROLES))]
Tech = Annotated[TokenRecord, Depends(require(*TECH_ROLES))]


@router.get(
    "",
    response_model=ItemList,
    responses=documented(401),
    summary="Aisles: crane state and position, fault, current move, slot counts by state",
)
async def list_aisles(request: Request, _caller: Reader):
    rt = runtime(request)
    found = await asyncio.wrap_future(rt.call(lambda _sim: rt.asrs.status() if rt.asrs else []))
    return {"items": found}


@router.post(
    "/{aisle_id}/reset",
    response_model=CraneResetOut,
    responses=documented(400, 401, 403, 404, 409, 413, 422),
    summary="Reset a faulted crane: finish the faulted move, or cancel it",
)
async def reset_crane(
    aisle_id: str, request: Request, caller: Tech, body: CraneResetIn | None = None
) -> dict[str, Any]:
    rt = runtime(request)
    cancel = body.cancel if body is not None else False

    def reset(_sim: Any) -> dict[str, Any]:  # on the control thread: check and reset at once
        if rt.asrs is None:
            raise UnknownAisle(f"unknown AS/RS aisle {aisle_id!r}: the site has no AS/RS")
        done = rt.asrs.reset_crane(aisle_id, cancel, user=caller.name)
        done["aisle"] = next(a for a in rt.asrs.status() if a["aisle_id"] == aisle_id)
        return done

    try:
        return await asyncio.wrap_future(rt.call(reset))
    except UnknownAisle as exc:
        raise ApiError(404, "not_found", str(exc.args[0]), field="aisle_id") from exc
    except CraneNotFaulted as exc:
        raise ApiError(409, "not_faulted", str(exc), field="aisle_id") from exc
    except CancelRefused as exc:
        raise ApiError(409, "tote_on_forks", str(exc), field="cancel") from exc
    except ValueError as exc:  # the inventory refused (nothing was applied)
        raise ApiError(409, "rejected", str(exc), field="aisle_id") from exc
