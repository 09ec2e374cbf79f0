"""The two store engines for the contract tests: SQLite in a tmp dir, PostgreSQL in a fresh
database of a throwaway server (tests/test_store_contract.py starts it once per session)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleet_manager.store.base import Store
from fleet_manager.store.open import open_store

ENGINES = ("sqlite", "postgresql")


@dataclass
class Gate:
    """Holds one store's next commit open after its events are numbered, until released."""

    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def hold(self) -> None:
        if not self.release.is_set():
            self.holding.set()
            assert self.release.wait(30), "gate never released"


@dataclass
class Engine:
    """Opens stores on one fresh database; `hold_commits(store)` delays that store's commits."""

    name: str
    data_dir: Path
    url: str | None
    opened: list[Store] = field(default_factory=list)

    def open(self, **kwargs: Any) -> Store:
        store = open_store(self.data_dir, self.url, **kwargs)
        self.opened.append(store)
        return store

    def hold_commits(self, store: Any) -> Gate:
        gate = Gate()
        if self.name == "postgresql":
            number = store._writer.number_events  # numbers taken, counter row locked

            def late(conn: Any, jobs: Any) -> None:
                number(conn, jobs)
                gate.hold()

            store._writer.number_events = late
        else:
            submit = store._submit  # inside BEGIN IMMEDIATE, events inserted

            def late_submit(fn: Callable[..., Any]) -> Any:
                def held(conn: Any, emitted: list[Any]) -> Any:
                    value = fn(conn, emitted)
                    gate.hold()
                    return value

                return submit(held)

            store._submit = late_submit
        return gate

    def close(self) -> None:
        for store in reversed(self.opened):
            store.close()
