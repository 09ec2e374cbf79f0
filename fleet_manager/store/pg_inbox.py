"""Commands through the database: API-only processes ask, the control plane answers.

A command is a row of `inbox` (name, JSON arguments). The sender NOTIFYs `wcs_inbox`; the
control plane's CommandServer LISTENs, runs each new row once through its handler (a runtime
method returning a Future), writes ok/result into the row and NOTIFYs `wcs_inbox_done`, on which
the sender's CommandClient resolves the caller's Future. Both sides also poll, so a lost
notification only delays. An error travels as its class (module, name, MRO names), args and
attributes, and is rebuilt on the API side as the same class where it can be imported, so the
API maps it to the same status as in one process. Rows not taken within EXPIRE_S (no control
plane running) fail with CommandTimeout.
"""

from __future__ import annotations

import builtins
import importlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from fleet_manager.store import rows

log = logging.getLogger(__name__)
COMMANDS_CHANNEL = "wcs_inbox"
DONE_CHANNEL = "wcs_inbox_done"
EXPIRE_S = 30.0
KEEP_DONE_S = 3600.0
Handler = Callable[[str, dict[str, Any]], Future[Any]]


class CommandTimeout(TimeoutError):
    """No control plane answered the command in time."""


def _listen_loop(
    url: str, channel: str, stop: threading.Event, step: Callable[[], float], name: str
) -> None:
    """LISTEN on `channel`; call step() on each wake-up, waiting at most what it returns."""
    while not stop.is_set():
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"LISTEN {channel}")  # type: ignore[arg-type]
                while not stop.is_set():
                    wait_s = step()
                    for _note in conn.notifies(timeout=wait_s, stop_after=1):
                        pass
        except Exception:  # reconnect: the rows are still there
            if not stop.is_set():
                log.exception("%s lost its connection; reconnecting", name)
                stop.wait(1.0)


class CommandClient:
    """API side: `send(name, args)` -> Future of the control plane's answer."""

    def __init__(self, url: str, pool: ConnectionPool, timeout_s: float = EXPIRE_S) -> None:
        self._url, self._pool, self._timeout_s = url, pool, timeout_s
        self._pending: dict[int, tuple[Future[Any], float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._senders = ThreadPoolExecutor(2, thread_name_prefix="inbox-send")
        self._thread = threading.Thread(
            target=_listen_loop,
            args=(url, DONE_CHANNEL, self._stop, self._collect, "command client"),
            name="inbox-results",
            daemon=True,
        )
        self._thread.start()

    def send(self, name: str, args: dict[str, Any]) -> Future[Any]:
        future: Future[Any] = Future()
        text = rows.dumps(args)

        def insert() -> None:
            try:
                with self._pool.connection() as conn:
                    row = conn.execute(
                        "WITH i AS (INSERT INTO inbox (command, args, created_at)"
                        " VALUES (%s, %s, %s) RETURNING seq)"
                        " SELECT seq, pg_notify(%s, seq::text) FROM i",
                        (name, text, time.time(), COMMANDS_CHANNEL),
                    ).fetchone()
                with self._lock:
                    self._pending[int(row[0]) if row else 0] = (future, time.monotonic())
            except Exception as exc:  # noqa: BLE001 - the caller's Future carries it
                future.set_exception(exc)

        self._senders.submit(insert)
        return future

    def _collect(self) -> float:
        with self._lock:
            waiting = dict(self._pending)
        if not waiting:
            return 1.0
        with self._pool.connection() as conn:
            done = conn.execute(
                "SELECT seq, ok, result FROM inbox WHERE seq = ANY(%s) AND done_at IS NOT NULL",
                (list(waiting),),
            ).fetchall()
        now = time.monotonic()
        with self._lock:
            for seq, ok, result in done:
                future, _ = self._pending.pop(seq)
                value = json.loads(result) if result else None
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(rebuild_error(value or {}))
            for seq, (future, sent) in list(self._pending.items()):
                if now - sent > self._timeout_s:
                    del self._pending[seq]
                    future.set_exception(
                        CommandTimeout(f"no control plane answered within {self._timeout_s:g} s")
                    )
        return 0.2  # commands in flight: poll soon in case a notification is lost

    def close(self) -> None:
        self._stop.set()
        self._senders.shutdown(wait=True)
        self._thread.join(timeout=5)


class CommandServer:
    """Control-plane side: runs every new inbox row once through `handler`."""

    def __init__(self, url: str, pool: ConnectionPool, handler: Handler) -> None:
        self._url, self._pool, self._handler = url, pool, handler
        self._started: set[int] = set()
        self._finished: dict[int, float] = {}  # seq -> when answered (forgotten after a minute)
        self._results: queue.SimpleQueue[tuple[int, bool, str] | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._last_cleanup = 0.0
        with pool.connection() as conn:  # a previous control plane's leftovers are stale
            conn.execute(
                "UPDATE inbox SET done_at = %s, ok = false, result = %s"
                " WHERE done_at IS NULL AND created_at < %s",
                (time.time(), rows.dumps(_error_dict(CommandTimeout("expired"))),
                 time.time() - EXPIRE_S),
            )
        self._writer = threading.Thread(target=self._write_results, name="inbox-answer",
                                        daemon=True)
        self._writer.start()
        self._thread = threading.Thread(
            target=_listen_loop,
            args=(url, COMMANDS_CHANNEL, self._stop, self._take, "command server"),
            name="inbox-serve",
            daemon=True,
        )
        self._thread.start()

    def _take(self) -> float:
        with self._pool.connection() as conn:
            found = conn.execute(
                "SELECT seq, command, args FROM inbox WHERE done_at IS NULL ORDER BY seq"
            ).fetchall()
            if time.monotonic() - self._last_cleanup > 60.0:
                self._last_cleanup = time.monotonic()
                conn.execute("DELETE FROM inbox WHERE done_at < %s", (time.time() - KEEP_DONE_S,))
                # A row answered a minute ago cannot be in a SELECT still to be looked at.
                for seq, at in list(self._finished.items()):
                    if self._last_cleanup - at > 60.0:
                        self._started.discard(seq)
                        del self._finished[seq]
        for seq, command, args in found:
            if seq in self._started:
                continue
            self._started.add(seq)
            try:
                future = self._handler(command, json.loads(args))
            except Exception as exc:  # noqa: BLE001 - an unknown command, bad arguments
                future = Future()
                future.set_exception(exc)
            future.add_done_callback(lambda f, seq=seq: self._results.put(_outcome(seq, f)))
        return 1.0

    def _write_results(self) -> None:
        while (item := self._results.get()) is not None:
            seq, ok, text = item
            try:
                with self._pool.connection() as conn:
                    conn.execute(
                        "WITH u AS (UPDATE inbox SET done_at = %s, ok = %s, result = %s"
                        " WHERE seq = %s RETURNING seq) SELECT pg_notify(%s, seq::text) FROM u",
                        (time.time(), ok, text, seq, DONE_CHANNEL),
                    )
                self._finished[seq] = time.monotonic()
            except Exception:  # the sender times out; the log says why
                log.exception("could not store the answer to command %s", seq)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._results.put(None)
        self._writer.join(timeout=5)


def _outcome(seq: int, done: Future[Any]) -> tuple[int, bool, str]:
    exc = done.exception()
    if exc is not None:
        return seq, False, rows.dumps(_error_dict(exc))
    return seq, True, rows.dumps(done.result())


def _error_dict(exc: BaseException) -> dict[str, Any]:
    cls = type(exc)
    attrs = {}
    for key, value in vars(exc).items():
        try:
            json.dumps(value)
            attrs[key] = value
        except (TypeError, ValueError):
            attrs[key] = str(value)
    return {
        "module": cls.__module__,
        "qualname": cls.__qualname__,
        "mro": [c.__name__ for c in cls.__mro__],
        "args": [a if isinstance(a, (str, int, float, bool)) or a is None else str(a)
                 for a in exc.args],
        "attrs": attrs,
    }


def rebuild_error(err: dict[str, Any]) -> BaseException:
    """The same exception class where importable (fleet_manager, plc_bridge, builtins), else
    stand-in classes named as the original's MRO, so callers matching by name still match."""
    cls = _importable(str(err.get("module", "")), str(err.get("qualname", "")))
    if cls is None:
        names = [n for n in err.get("mro", []) if isinstance(n, str)] or ["RemoteError"]
        base: type[BaseException] = Exception
        chain = []
        for name in names:
            known = getattr(builtins, name, None)
            if isinstance(known, type) and issubclass(known, BaseException):
                base = known
                break
            chain.append(name)
        cls = base
        for name in reversed(chain):
            cls = type(name, (cls,), {})
    exc = cls.__new__(cls)
    exc.args = tuple(err.get("args", ()))
    try:
        exc.__dict__.update(err.get("attrs", {}))
    except AttributeError:  # builtins without a __dict__
        pass
    return exc


def _importable(module: str, qualname: str) -> type[BaseException] | None:
    if module != "builtins" and not module.startswith(("fleet_manager.", "plc_bridge.")):
        return None
    try:
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return None
    return found if isinstance(found, type) and issubclass(found, BaseException) else None
