"""Shared route helpers: the runtime from app state, awaiting runtime futures, error mapping."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import Any

from fastapi import Request

from fleet_manager.api.errors import ApiError
from fleet_manager.runtime import Runtime

# Exception class names from the simulator/core, mapped without importing them here.
_NOT_FOUND = ("UnknownResource", "UnknownAlarm", "KeyError", "UnknownOrder", "UnknownTask")
_REJECTED = ("CommandRejected", "IllegalTransition", "InvalidCommand", "ValueError", "IntakeError")


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


async def await_runtime(future: Future[Any], *, resource: str, resource_id: str) -> Any:
    """Await a runtime call; unknown ids -> 404, refused commands -> 409, naming the reason."""
    try:
        return await asyncio.wrap_future(future)
    except Exception as exc:
        names = _names(exc)
        reason = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        if names & set(_NOT_FOUND):
            raise ApiError(
                404,
                "not_found",
                reason or f"unknown {resource} {resource_id!r}",
                field=f"{resource}_id",
            ) from exc
        if names & set(_REJECTED):
            raise ApiError(
                409,
                "rejected",
                reason or f"{resource} {resource_id} refused",
                field=getattr(exc, "field", None),
            ) from exc
        raise
