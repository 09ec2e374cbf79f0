"""SQLite store: migrations, atomic order intake with outbox events, idempotency, group commit."""

from __future__ import annotations

import sqlite3
from concurrent.futures import wait

import pytest

from fleet_manager.events import Event
from fleet_manager.store import (
    AlarmRecord,
    Conflict,
    IdempotencyClaim,
    IdempotencyMismatch,
    OrderLineRecord,
    OrderQuery,
    OrderRecord,
    SqliteStore,
    StateBatch,
)
from fleet_manager.store.migrations import LATEST_VERSION, SchemaTooNew, migrate


def order(oid: str = "", sku: str = "SKU-1", qty: int = 2, priority: int = 0) -> OrderRecord:
    return OrderRecord(oid, "open", priority, (OrderLineRecord(sku, qty),), 1.0, 1000.0)


@pytest.fixture
def store(tmp_path):
    s = SqliteStore.in_dir(tmp_path)
    yield s
    s.close()


def test_migrations_run_once_and_refuse_newer_schema(tmp_path):
    path = tmp_path / "x.sqlite3"
    SqliteStore(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert migrate(conn) == []  # already at the latest version
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_version")]
    assert versions == list(range(1, LATEST_VERSION + 1))
    conn.execute("INSERT INTO schema_version VALUES (?, 0)", (LATEST_VERSION + 1,))
    conn.commit()
    with pytest.raises(SchemaTooNew, match="newer"):
        migrate(conn)


def test_order_and_its_event_commit_together(store):
    body = store.create_order(order(), None).result().body
    assert body["id"] == "WO-00000001"
    events = store.events_after(0, 10)
    assert [(e.seq, e.topic, e.kind) for e in events] == [(1, "order", "received")]
    assert events[0].data["id"] == body["id"]
    with pytest.raises(Conflict) as err:
        store.create_order(order("WO-00000001"), None).result()
    assert err.value.field == "id"
    assert store.last_seq() == 1  # the refused order left no event behind
    assert len(store.list_orders(OrderQuery())[0]) == 1


def test_idempotent_replay_and_mismatch(store):
    claim = IdempotencyClaim("tok", "key-1", "hash-a")
    first = store.create_order(order("A-1"), claim).result()
    again = store.create_order(order("A-1"), claim).result()
    assert again.replayed and again.body == first.body and not first.replayed
    with pytest.raises(IdempotencyMismatch) as err:
        store.create_order(order("A-2"), IdempotencyClaim("tok", "key-1", "hash-b")).result()
    assert err.value.field == "Idempotency-Key"
    other_scope = store.create_order(order("A-3"), IdempotencyClaim("tok2", "key-1", "h")).result()
    assert other_scope.body["id"] == "A-3"
    assert [o.id for o in store.list_orders(OrderQuery())[0]] == ["A-1", "A-3"]


def test_idempotent_response_reads_the_committed_answer(store):
    claim = IdempotencyClaim("tok", "key-r", "hash-a")
    assert store.idempotent_response(claim) is None  # a new key: go on and create
    first = store.create_order(order("R-1"), claim).result()
    prior = store.idempotent_response(claim)
    assert prior is not None and prior.replayed and prior.status == 201
    assert prior.body == first.body
    with pytest.raises(IdempotencyMismatch) as err:
        store.idempotent_response(IdempotencyClaim("tok", "key-r", "hash-b"))
    assert err.value.code == "idempotency_key_reused"
    assert store.idempotent_response(IdempotencyClaim("tok2", "key-r", "hash-a")) is None


def test_a_failing_job_does_not_spoil_its_group(store):
    futures = [store.create_order(order(f"O-{i}"), None) for i in range(50)]
    futures.append(store.create_order(order("O-7"), None))  # duplicate inside the same burst
    futures += [store.create_order(order(f"O-{i}"), None) for i in range(50, 100)]
    wait(futures)
    failed = [f for f in futures if f.exception() is not None]
    assert len(failed) == 1 and isinstance(failed[0].exception(), Conflict)
    seqs = [e.seq for e in store.events_after(0, 1000)]
    assert seqs == list(range(1, 101))  # gapless, one event per accepted order


def test_batch_updates_rows_and_appends_events_in_order(store):
    store.create_order(order("O-1", qty=3), None).result()
    batch = StateBatch(
        events=[Event("task", "queued", 2.0, {"task_id": "T-1"}), Event("order", "done", 3.0, {})],
        orders=[{"id": "O-1", "state": "done", "done_s": 3.0}],
        picks=[("O-1", "SKU-1", 2)],
        tasks=[{"id": "T-1", "kind": "pod_fetch", "state": "done", "order_id": "O-1"}],
        task_history=[
            ("T-1", {"from": None, "to": "queued", "at_s": 2.0}),
            ("T-1", {"from": "queued", "to": "done", "at_s": 3.0}),
        ],
        alarms=[AlarmRecord("A-1", "E1", "bumper", 2.5)],
    )
    stored = store.apply_batch(batch).result()
    assert [e.seq for e in stored] == [2, 3]
    got = store.get_order("O-1")
    assert got.state == "done" and got.done_s == 3.0 and got.lines[0].picked == 2
    task = store.get_task("T-1")
    assert [h["to"] for h in task.history] == ["queued", "done"]
    assert store.list_alarms("active")[0].message == "bumper"
    assert store.open_orders() == [] and store.open_tasks() == []


def test_state_survives_reopen_and_listeners_see_commits(tmp_path):
    s = SqliteStore.in_dir(tmp_path)
    seen = []
    s.add_event_listener(lambda evs: seen.extend(e.seq for e in evs))
    for i in range(5):
        s.create_order(order(f"O-{i}"), None).result()
    s.close()
    assert seen == [1, 2, 3, 4, 5]
    s = SqliteStore.in_dir(tmp_path)
    assert s.last_seq() == 5
    assert [o.id for o in s.open_orders()] == [f"O-{i}" for i in range(5)]
    assert s.create_order(order(), None).result().body["id"] == "WO-00000001"
    s.close()


def test_list_orders_filters_and_pages(store):
    for i in range(7):
        store.create_order(order(f"O-{i}", sku="SKU-2" if i % 2 else "SKU-1", priority=i), None)
    store.create_order(order("O-last"), None).result()
    page, cursor = store.list_orders(OrderQuery(limit=3))
    assert [o.id for o in page] == ["O-0", "O-1", "O-2"] and cursor is not None
    page2, _ = store.list_orders(OrderQuery(limit=3, after_cursor=cursor))
    assert [o.id for o in page2] == ["O-3", "O-4", "O-5"]
    assert [o.id for o in store.list_orders(OrderQuery(sku="SKU-2"))[0]] == ["O-1", "O-3", "O-5"]
    assert [o.id for o in store.list_orders(OrderQuery(min_priority=5))[0]] == ["O-5", "O-6"]


def test_generated_ids_skip_ids_a_client_chose(store):
    store.create_order(order("WO-00000001"), None).result()
    assert store.create_order(order(), None).result().body["id"] == "WO-00000002"
    store.create_order(order("WO-00000003"), None).result()
    assert store.create_order(order(), None).result().body["id"] == "WO-00000004"
