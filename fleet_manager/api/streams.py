"""WebSockets: /events (durable, resumable by sequence number) and /live (fleet snapshots).

The client's first message authenticates: {"token": "...", "after": SEQ} (tokens never go in
URLs). /events first replays everything after SEQ from the store, then streams live; messages
are {"events": [{seq, topic, kind, at_s, data}, ...]} in strictly increasing seq, with an empty
list as keep-alive. A bad token closes with code 4401.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from fleet_manager.api.schemas import INT64_MAX
from fleet_manager.store import StoredEvent

router = APIRouter(prefix="/api/v1")
AUTH_TIMEOUT_S = 10.0
KEEPALIVE_S = 15.0
PAGE = 500
MAX_BUFFER = 10_000
LIVE_HZ = 10.0
CLOSE_UNAUTHORIZED = 4401
CLOSE_BAD_REQUEST = 4400


class _Subscriber:
    def __init__(self) -> None:
        self.buffer: deque[StoredEvent] = deque()
        self.ready = asyncio.Event()
        self.overflow = False

    def push(self, events: list[StoredEvent]) -> None:
        if self.overflow:
            return
        if len(self.buffer) + len(events) > MAX_BUFFER:
            self.overflow = True  # the sender re-reads from the store instead
            self.buffer.clear()
        else:
            self.buffer.extend(events)
        self.ready.set()


class EventHub:
    """Fans committed events out to WebSocket senders; fed from the store's writer thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._subs: set[_Subscriber] = set()

    def on_commit(self, events: list[StoredEvent]) -> None:
        if self._subs:
            self._loop.call_soon_threadsafe(self._dispatch, events)

    def _dispatch(self, events: list[StoredEvent]) -> None:
        for sub in list(self._subs):
            sub.push(events)

    def subscribe(self) -> _Subscriber:
        sub = _Subscriber()
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: _Subscriber) -> None:
        self._subs.discard(sub)


async def _authenticate(ws: WebSocket) -> dict[str, Any] | None:
    await ws.accept()
    try:
        text = await asyncio.wait_for(ws.receive_text(), AUTH_TIMEOUT_S)
        hello = json.loads(text)
    except (TimeoutError, ValueError, KeyError, WebSocketDisconnect):
        await _close(ws, CLOSE_BAD_REQUEST, "first message must be JSON {token, after}")
        return None
    record = ws.app.state.verifier.verify(hello.get("token") if isinstance(hello, dict) else None)
    if record is None:
        await _close(ws, CLOSE_UNAUTHORIZED, "missing or invalid token")
        return None
    return hello


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    try:
        await ws.close(code=code, reason=reason)
    except RuntimeError:
        pass


def _payload(events: list[StoredEvent]) -> str:
    return json.dumps({"events": [e.as_dict() for e in events]}, separators=(",", ":"))


async def _drain_client(ws: WebSocket) -> None:
    """Read (and ignore) client messages so a disconnect is noticed promptly."""
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return


@router.websocket("/events")
async def events_stream(ws: WebSocket) -> None:
    hello = await _authenticate(ws)
    if hello is None:
        return
    store, hub = ws.app.state.runtime.store, ws.app.state.hub
    after = hello.get("after")
    if after is not None and (
        not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= INT64_MAX
    ):
        await _close(ws, CLOSE_BAD_REQUEST, "after must be an integer 0..2^63-1")
        return
    sub = hub.subscribe()  # subscribe before reading the store: nothing falls between
    last = store.last_seq() if after is None else after
    reader = asyncio.create_task(_drain_client(ws))
    try:
        await _stream(ws, store, sub, last, reader)
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
        pass
    finally:
        hub.unsubscribe(sub)
        reader.cancel()


async def _stream(ws: WebSocket, store: Any, sub: _Subscriber, last: int, reader: Any) -> None:
    while not reader.done():
        while True:  # catch up from the store
            page = await asyncio.to_thread(store.events_after, last, PAGE)
            if not page:
                break
            await ws.send_text(_payload(page))
            last = page[-1].seq
        while not reader.done():  # live, until a gap or an overflow sends us back to the store
            try:
                await asyncio.wait_for(sub.ready.wait(), KEEPALIVE_S)
            except TimeoutError:
                await ws.send_text('{"events":[]}')
                continue
            sub.ready.clear()
            if sub.overflow:
                sub.overflow = False
                break
            fresh = [e for e in sub.buffer if e.seq > last]
            sub.buffer.clear()
            if not fresh:
                continue
            if fresh[0].seq != last + 1:
                break
            await ws.send_text(_payload(fresh))
            last = fresh[-1].seq


@router.websocket("/live")
async def live_stream(ws: WebSocket) -> None:
    """Non-durable: the latest fleet snapshot whenever it changes, polled at LIVE_HZ."""
    if await _authenticate(ws) is None:
        return
    runtime = ws.app.state.runtime
    reader = asyncio.create_task(_drain_client(ws))
    sent = None
    try:
        while not reader.done():
            text = runtime.snapshot_json()
            if text is not sent:
                await ws.send_text(text)
                sent = text
            await asyncio.sleep(1.0 / LIVE_HZ)
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
        pass
    finally:
        reader.cancel()
