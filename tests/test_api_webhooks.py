"""Webhooks: every event delivered in order to a real HTTP receiver, retried, resumed."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from test_api_helpers import demo_site, wait_for

from fleet_manager.api.webhooks import WebhookSender
from fleet_manager.runtime import Runtime, RuntimeConfig
from fleet_manager.store import OrderLineRecord, OrderRecord, SqliteStore

SECRET = "s3cret"


class Receiver:
    """HTTP server on a free loopback port; fails the first `fail_first` POSTs with 503."""

    def __init__(self, fail_first: int):
        self.accepted: list[dict] = []
        self.attempts = 0
        self.bad_signatures = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.attempts += 1
                want = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                if self.headers.get("X-WCS-Signature") != f"sha256={want}":
                    outer.bad_signatures += 1
                status = 503 if outer.attempts <= fail_first else 200
                if status == 200:
                    outer.accepted.extend(json.loads(body)["events"])
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def _runtime(store: SqliteStore, receiver: Receiver) -> tuple[Runtime, WebhookSender]:
    rt = Runtime(demo_site(), store, config=RuntimeConfig(speed=0.0))
    sender = WebhookSender(receiver.url, secret=SECRET, first_retry_s=0.05)
    rt.add_component(sender)
    return rt, sender


def _order(i: int) -> OrderRecord:
    return OrderRecord(f"H-{i}", "open", 0, (OrderLineRecord("SKU-0001", 1),), 0.0, 0.0)


def test_events_reach_the_webhook_in_order_despite_failures_and_restarts(tmp_path):
    receiver = Receiver(fail_first=2)
    store = SqliteStore.in_dir(tmp_path)
    store.create_order(_order(0), None).result()  # before the webhook existed: not sent
    rt, sender = _runtime(store, receiver)
    rt.start()
    for i in range(1, 4):
        rt.submit_order(_order(i), None).result()
    wait_for(
        lambda: store.count_orders().get("done") == 4 and sender.delivered_seq == store.last_seq()
    )
    rt.stop()
    seqs = [e["seq"] for e in receiver.accepted]
    assert seqs == list(range(2, sender.delivered_seq + 1))  # from where it joined, gapless
    assert sender.failures == 2 and receiver.bad_signatures == 0
    first_run_seq = sender.delivered_seq
    # Restart: events committed while it was down are sent, nothing acknowledged is resent.
    store.create_order(_order(9), None).result()
    rt, sender = _runtime(store, receiver)
    rt.start()
    wait_for(
        lambda: store.count_orders().get("done") == 5 and sender.delivered_seq == store.last_seq()
    )
    rt.stop()
    seqs = [e["seq"] for e in receiver.accepted]
    assert seqs == list(range(2, sender.delivered_seq + 1))
    assert sender.delivered_seq > first_run_seq
    store.close()
    receiver.close()


def test_webhook_url_must_be_http():
    with pytest.raises(ValueError, match="http"):
        WebhookSender("ftp://example")
