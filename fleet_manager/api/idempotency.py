"""Idempotency-Key handling: scope per token, hash of the canonical request body."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from fleet_manager.api.refusal import ApiError
from fleet_manager.store import IdempotencyClaim, Store, StoredResponse, TokenRecord

MAX_KEY_LENGTH = 255
# Visible ASCII, spaces inside: what survives every HTTP stack unchanged (leading and trailing
# whitespace is stripped by parsers, other bytes are decoded differently by different ones).
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]([ -~]*[!-~])?$"
_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)


def claim_for(
    key: str | None, caller: TokenRecord, route: str, body: dict[str, Any]
) -> IdempotencyClaim | None:
    """None without a key; 400 for an unusable key; otherwise what the store must remember.
    `body` is the request's canonical JSON form."""
    if key is None:
        return None
    if len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise ApiError(
            400,
            "invalid_idempotency_key",
            f"Idempotency-Key must be 1..{MAX_KEY_LENGTH} visible ASCII characters"
            " (spaces only inside)",
            field="Idempotency-Key",
        )
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(f"{route}\n{canonical}".encode()).hexdigest()
    return IdempotencyClaim(scope=caller.id, key=key, request_hash=digest)


def prior_answer(store: Store, claim: IdempotencyClaim | None) -> StoredResponse | None:
    """The original answer when this key was used before (422 if with another body), else None.

    Asked before the stock and AS/RS pre-checks: a retry whose original succeeded must get
    that 201 again, even if the stock it took or the tote it stored now fails those checks.
    The create re-checks the key in its own transaction, so racing retries still store once."""
    return None if claim is None else store.idempotent_response(claim)
