"""Bearer-token auth for HTTP routes: 401 without a valid token, 403 with the wrong role."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fleet_manager.api.errors import ApiError
from fleet_manager.api.tokens import TokenVerifier
from fleet_manager.store import TokenRecord

bearer = HTTPBearer(auto_error=False, description="API token: `wcs token create --role R`")

READ_ROLES = ("wms", "technician", "viewer")
WMS_ROLES = ("wms",)
TECH_ROLES = ("technician",)


def verifier(request: Request) -> TokenVerifier:
    return request.app.state.verifier


def require(*roles: str) -> Callable[..., Coroutine[Any, Any, TokenRecord]]:
    """Dependency: the caller's token record, if its role is one of `roles`."""

    async def dependency(
        request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> TokenRecord:
        record = verifier(request).verify(creds.credentials if creds else None)
        if record is None:
            raise ApiError(
                401,
                "unauthorized",
                "missing or invalid API token (send Authorization: Bearer <token>)",
                field="Authorization",
            )
        if record.role not in roles:
            raise ApiError(
                403,
                "forbidden",
                f"role {record.role!r} may not do this; needs {' or '.join(roles)}",
                field="Authorization",
            )
        return record

    return dependency
