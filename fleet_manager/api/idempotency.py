"""Idempotency-Key handling: scope per token, hash of the canonical request body."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel

from fleet_manager.api.errors import ApiError
from fleet_manager.store import IdempotencyClaim, TokenRecord

MAX_KEY_LENGTH = 255


def claim_for(
    key: str | None, caller: TokenRecord, route: str, body: BaseModel
) -> IdempotencyClaim | None:
    """None without a key; 400 for an unusable key; otherwise what the store must remember."""
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ApiError(
            400,
            "invalid_idempotency_key",
            f"Idempotency-Key must be 1..{MAX_KEY_LENGTH} printable characters",
            field="Idempotency-Key",
        )
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(f"{route}\n{canonical}".encode()).hexdigest()
    return IdempotencyClaim(scope=caller.id, key=key, request_hash=digest)
