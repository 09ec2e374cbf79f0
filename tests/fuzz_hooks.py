"""Schemathesis hooks for tests/test_api_fuzz.py: per-role tokens and the form-refusal check."""

from __future__ import annotations

import json
import os
import re

import schemathesis

# Error codes that refuse a request for its form (what the schema describes). A request the
# schema accepts must never get one; refusals for what it means (unknown_sku, 409s) are fine.
FORM_CODES = {
    "malformed_json",
    "missing_body",
    "missing_field",
    "unknown_field",
    "wrong_type",
    "invalid_value",
    "invalid_request",
    "invalid_idempotency_key",
    "unsupported_media_type",
    "body_too_large",
}
# Operations only a technician may call (everything else is tried with the wms token).
_TECHNICIAN = re.compile(
    r"^(PATCH /api/v1/lanes/|POST /api/v1/(alarms/[^/]+/ack|asrs/[^/]+/reset"
    r"|robots/[^/]+/commands|sim/))"
)


@schemathesis.auth()
class RoleTokens:
    """The technician's token on technician routes, the wms token everywhere else."""

    def get(self, case, ctx) -> dict[str, str]:
        return {"wms": os.environ["WCS_FUZZ_WMS_TOKEN"], "tech": os.environ["WCS_FUZZ_TECH_TOKEN"]}

    def set(self, case, data: dict[str, str], ctx) -> None:
        label = f"{case.operation.method.upper()} {case.operation.path}"
        token = data["tech"] if _TECHNICIAN.match(label) else data["wms"]
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


@schemathesis.check
def refused_for_its_form(ctx, response, case) -> bool | None:
    """A schema-valid request answered 4xx with an error code about its form."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code not in (400, 413, 415, 422):
        return None
    try:
        code = json.loads(response.content)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = None
    if code is None or code in FORM_CODES:
        raise AssertionError(
            f"schema-valid request refused for its form: {response.status_code} "
            f"{response.content[:300]!r}"
        )
    return None
