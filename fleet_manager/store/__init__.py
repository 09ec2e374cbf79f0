"""Durable state behind one interface: orders, tasks, the event outbox, tokens, alarms."""

from fleet_manager.store.base import (
    AlarmRecord,
    Conflict,
    IdempotencyClaim,
    IdempotencyMismatch,
    NotFound,
    OrderLineRecord,
    OrderQuery,
    OrderRecord,
    StateBatch,
    Store,
    StoredEvent,
    StoredResponse,
    StoreError,
    StoreOpenError,
    TaskRecord,
    TokenRecord,
)
from fleet_manager.store.sqlite import DB_FILE_NAME, SqliteStore

__all__ = [
    "DB_FILE_NAME",
    "AlarmRecord",
    "Conflict",
    "IdempotencyClaim",
    "IdempotencyMismatch",
    "NotFound",
    "OrderLineRecord",
    "OrderQuery",
    "OrderRecord",
    "SqliteStore",
    "StateBatch",
    "Store",
    "StoreError",
    "StoreOpenError",
    "StoredEvent",
    "StoredResponse",
    "TaskRecord",
    "TokenRecord",
]
