"""Webhooks: POST every committed event to a URL, in sequence order, at least once, with retries.

Each webhook remembers the last sequence number its receiver acknowledged (2xx) in the store's
meta table, so a restart resumes where delivery stopped; a new webhook starts at the current
end of the log. Bodies are {"events": [...]} like the WebSocket stream; with a secret, the
header `X-WCS-Signature: sha256=<hex HMAC of the body>` lets the receiver check the sender.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from typing import Any

import httpx

log = logging.getLogger(__name__)


class WebhookSender:
    """A runtime component (start/stop) delivering events to one URL."""

    def __init__(
        self,
        url: str,
        *,
        secret: str | None = None,
        batch: int = 200,
        timeout_s: float = 5.0,
        first_retry_s: float = 0.5,
        max_retry_s: float = 30.0,
    ):
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook URL must start with http:// or https://, got {url!r}")
        self.url = url
        self.secret = secret
        self.batch = batch
        self.timeout_s = timeout_s
        self.first_retry_s = first_retry_s
        self.max_retry_s = max_retry_s
        self.meta_key = f"webhook.{hashlib.sha256(url.encode()).hexdigest()[:16]}.seq"
        self.delivered_seq = 0
        self.failures = 0
        self._store: Any = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._remove_listener: Any = None

    def start(self, runtime: Any) -> None:
        self._store = runtime.store
        saved = self._store.get_meta(self.meta_key)
        if saved is None:
            self.delivered_seq = self._store.last_seq()
            self._store.set_meta(self.meta_key, str(self.delivered_seq)).result()
        else:
            self.delivered_seq = int(saved)
        self._remove_listener = self._store.add_event_listener(lambda _events: self._wake.set())
        self._thread = threading.Thread(target=self._run, name="wcs-webhook", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout_s + 5)
        if self._remove_listener is not None:
            self._remove_listener()

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout_s) as client:
            retry_s = self.first_retry_s
            while not self._stop.is_set():
                events = self._store.events_after(self.delivered_seq, self.batch)
                if not events:
                    self._wake.wait(1.0)
                    self._wake.clear()
                    continue
                if self._deliver(client, events):
                    self.delivered_seq = events[-1].seq
                    self._store.set_meta(self.meta_key, str(self.delivered_seq))
                    retry_s = self.first_retry_s
                else:
                    self.failures += 1
                    self._stop.wait(retry_s)  # same batch again, later
                    retry_s = min(self.max_retry_s, retry_s * 2)

    def _deliver(self, client: httpx.Client, events: list[Any]) -> bool:
        body = json.dumps({"events": [e.as_dict() for e in events]}, separators=(",", ":"))
        headers = {"Content-Type": "application/json"}
        if self.secret:
            digest = hmac.new(self.secret.encode(), body.encode(), hashlib.sha256).hexdigest()
            headers["X-WCS-Signature"] = f"sha256={digest}"
        try:
            response = client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("webhook %s: %s", self.url, exc)
            return False
        if response.is_success:
            return True
        log.warning("webhook %s answered %s", self.url, response.status_code)
        return False
