"""Stopping asyncio tasks for sure (Python 3.11's wait_for can swallow a cancellation)."""

from __future__ import annotations

import asyncio
import contextlib


async def cancel_and_wait(task: asyncio.Task | None, attempts: int = 20) -> None:
    """Cancel a task and wait until it is done, cancelling again if it swallowed the first
    cancel (asyncio.wait_for before 3.12 does when its inner future completes at that moment)."""
    if task is None:
        return
    for _ in range(attempts):
        if task.done():
            break
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    if task.done() and not task.cancelled():
        with contextlib.suppress(Exception):
            task.exception()  # retrieved: no "exception was never retrieved" noise
