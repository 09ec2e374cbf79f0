"""API tokens: `wcs_<id>_<secret>`, stored only as a sha256 hash, with a role and a name."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from fleet_manager.store import Store, TokenRecord

ROLES = ("wms", "technician", "viewer")
TOKEN_PREFIX = "wcs"
_CACHE_TTL_S = 10.0


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once, never stored
    record: TokenRecord


def issue_token(store: Store, role: str, name: str) -> IssuedToken:
    """Create a token with `role`; raises ValueError naming a bad role or empty name."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    if not name.strip():
        raise ValueError("token name must not be empty")
    token_id = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
    store.create_token(token_id, hash_token(token), role, name.strip()).result()
    return IssuedToken(token, TokenRecord(token_id, role, name.strip(), time.time()))


class TokenVerifier:
    """Checks bearer tokens against the store; remembers good ones briefly to spare the disk."""

    def __init__(self, store: Store):
        self._store = store
        self._cache: dict[str, tuple[float, TokenRecord]] = {}

    def verify(self, token: str | None) -> TokenRecord | None:
        if not token:
            return None
        now = time.monotonic()
        hit = self._cache.get(token)
        if hit is not None and hit[0] > now:
            return hit[1]
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            return None
        found = self._store.find_token(parts[1])
        if found is None:
            return None
        record, stored_hash = found
        if not hmac.compare_digest(stored_hash, hash_token(token)):
            return None
        if len(self._cache) > 1024:
            self._cache.clear()
        self._cache[token] = (now + _CACHE_TTL_S, record)
        return record
