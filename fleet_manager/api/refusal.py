"""Refusals without a web framework: ApiError, and pydantic errors mapped to one (code, field)."""

from __future__ import annotations

from typing import Any

from fleet_manager.api.task_schemas import TASK_KINDS


class ApiError(Exception):
    """A refused request: answered `status` with the standard error body by the HTTP API, and
    raised as is by every other entry point (intake.py)."""

    def __init__(self, status: int, code: str, reason: str, field: str | None = None):
        super().__init__(reason)
        self.status = status
        self.code = code
        self.reason = reason
        self.field = field

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "code": self.code,
            "field": self.field,
            "reason": self.reason,
        }


def field_path(loc: tuple[Any, ...]) -> str | None:
    """('body', 'lines', 0, 'quantity') -> 'lines[0].quantity'; the tag pydantic puts after
    'body' for a union discriminated by `kind` is left out: ('body', 'sort', 'payload') ->
    'payload'."""
    parts = list(loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc)
    if loc and loc[0] == "body" and len(parts) > 1 and parts[0] in TASK_KINDS:
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or None


_TYPE_CODES = {
    "missing": "missing_field",
    "extra_forbidden": "unknown_field",
    "json_invalid": "malformed_json",
    "json_type": "malformed_json",
}


def _validation_code(err_type: str) -> str:
    if err_type in _TYPE_CODES:
        return _TYPE_CODES[err_type]
    if err_type.endswith(("_type", "_parsing")):
        return "wrong_type"
    return "invalid_value"


def refusal_from_errors(errors: list[Any], fallback: str = "invalid request") -> ApiError:
    """The refusal for pydantic's errors (locations starting with body/query/path/header): the
    first error decides, 422 naming the field; 400 for bad JSON or a bad Idempotency-Key."""
    if not errors:
        return ApiError(422, "invalid_request", fallback)
    first = errors[0]
    err_type = str(first.get("type", ""))
    code = _validation_code(err_type)
    if code == "malformed_json":
        return ApiError(400, code, f"request body is not valid JSON: {first.get('msg')}")
    loc = tuple(first.get("loc", ()))
    where = field_path(loc)
    if loc[:1] == ("header",) and str(loc[-1]).lower() == "idempotency-key":
        return ApiError(
            400,
            "invalid_idempotency_key",
            "Idempotency-Key must be 1..255 visible ASCII characters (spaces only inside)",
            "Idempotency-Key",
        )
    if err_type in ("union_tag_invalid", "union_tag_not_found"):
        code = "missing_field" if err_type == "union_tag_not_found" else "invalid_value"
        where = f"{where}.kind" if where else "kind"
        return ApiError(422, code, str(first.get("msg", "invalid kind")), where)
    if loc and loc[0] == "body" and len(loc) == 1 and code == "missing_field":
        return ApiError(422, "missing_body", "a JSON request body is required")
    return ApiError(422, code, str(first.get("msg", "invalid value")), where)
