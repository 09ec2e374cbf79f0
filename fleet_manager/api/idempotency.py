"""Idempotency-Key handling: scope per token, hash of the canonical request body."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel

from fleet_manager.api.errors import ApiError
from fleet_manager.store import IdempotencyClaim, Store, StoredResponse, TokenRecord

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


def prior_answer(store: Store, claim: IdempotencyClaim | None) -> StoredResponse | None:
    """The original answer when this key was used before (422 if with another body), else None.

    Asked before the stock and AS/RS pre-checks: a retry whose original succeeded must get
    that 201 again, even if the stock it took or the tote it stored now fails those checks.
    The create re-checks the key in its own transaction, so racing retries still store once."""
    return None if claim is None else store.idempotent_response(claim)
