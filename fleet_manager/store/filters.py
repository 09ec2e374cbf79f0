"""List filters as SQL, once for both engines: the WHERE clause and its parameters, paging."""

from __future__ import annotations

from typing import Any

from fleet_manager.store.base import MAX_PAGE_SIZE, OrderQuery


def order_filter(query: OrderQuery, ph: str) -> tuple[str, list[Any]]:
    """WHERE clause (after the cursor) and parameters of an order listing; `ph` is the
    engine's placeholder (`?` for SQLite, `%s` for PostgreSQL)."""
    where, params = [f"seq > {ph}"], [query.after_cursor]
    for clause, value in (
        (f"state = {ph}", query.state),
        (f"source = {ph}", query.source),
        (f"priority >= {ph}", query.min_priority),
        (f"id IN (SELECT order_id FROM order_lines WHERE sku = {ph})", query.sku),
    ):
        if value is not None and value != "":
            where.append(clause)
            params.append(value)
    return " AND ".join(where), params


def task_filter(
    ph: str, *, state: str | None, kind: str | None, order_id: str | None, after_cursor: int
) -> tuple[str, list[Any]]:
    """WHERE clause (after the cursor) and parameters of a task listing."""
    where, params = [f"seq > {ph}"], [after_cursor]
    for column, value in (("state", state), ("kind", kind), ("order_id", order_id)):
        if value is not None:
            where.append(f"{column} = {ph}")
            params.append(value)
    return " AND ".join(where), params


def page_size(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE_SIZE))


def next_page(found: list[Any], limit: int) -> tuple[list[Any], int | None]:
    """The first `limit` rows (each starting with its seq) and the cursor of the next page."""
    more = len(found) > limit
    found = found[:limit]
    return found, (found[-1][0] if more else None)
