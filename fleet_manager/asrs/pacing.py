"""WaitUntil: how a crane driver hands control back to the runtime's clock until a time comes."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any


class WaitUntil:
    """Awaited by a driver: whoever steps the coroutine resumes it once `due_s` has come."""

    def __init__(self, due_s: float) -> None:
        self.due_s = due_s

    def __await__(self) -> Generator[WaitUntil, Any, None]:
        yield self
