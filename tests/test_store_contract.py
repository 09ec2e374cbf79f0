"""Store contract, run against SQLite and PostgreSQL: migrations, atomic intake with outbox
events, idempotency, group commit, outbox numbers in commit order, durable history, retention."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import wait
from pathlib import Path

import psycopg
import pytest
from store_engines import ENGINES, Engine

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
    migrations,
    pg_migrations,
)
from fleet_manager.store.migrations import SchemaTooNew


def order(oid: str = "", sku: str = "SKU-1", qty: int = 2, priority: int = 0) -> OrderRecord:
    return OrderRecord(oid, "open", priority, (OrderLineRecord(sku, qty),), 1.0, 1000.0)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_server").create_database()
    made = Engine(request.param, tmp_path, url)
    yield made
    made.close()


@pytest.fixture
def store(engine: Engine):
    return engine.open()


def test_sqlite_migrations_run_once_and_refuse_newer_schema(tmp_path):
    path = tmp_path / "x.sqlite3"
    SqliteStore(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert migrations.migrate(conn) == []  # already at the latest version
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_version")]
    assert versions == list(range(1, migrations.LATEST_VERSION + 1))
    conn.execute("INSERT INTO schema_version VALUES (?, 0)", (migrations.LATEST_VERSION + 1,))
    conn.commit()
    with pytest.raises(SchemaTooNew, match="newer"):
        migrations.migrate(conn)
    with pytest.raises(SchemaTooNew, match="newer"):
        SqliteStore(path)


def test_postgres_migrations_run_once_and_refuse_newer_schema(pg_server):
    url = pg_server.create_database()
    from fleet_manager.store.postgres import PostgresStore

    PostgresStore(url).close()
    PostgresStore(url).close()  # a second start applies nothing
    with psycopg.connect(url, autocommit=True) as conn:
        assert pg_migrations.migrate(conn) == []
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_version")]
        assert versions == list(range(1, pg_migrations.LATEST_VERSION + 1))
        conn.execute(
            "INSERT INTO schema_version VALUES (%s, 0)", (pg_migrations.LATEST_VERSION + 1,)
        )
    with pytest.raises(SchemaTooNew, match="newer"):
        PostgresStore(url)


def test_postgres_migrations_race_from_several_processes(pg_server):
    """Starters racing on an empty database: the advisory lock lets one migrate, once."""
    url = pg_server.create_database()
    from fleet_manager.store.postgres import PostgresStore

    errors: list[BaseException] = []

    def start() -> None:
        try:
            PostgresStore(url).close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with psycopg.connect(url) as conn:
        count = conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0]
        assert count == pg_migrations.LATEST_VERSION


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


def test_state_survives_reopen_and_listeners_see_commits(engine):
    s = engine.open()
    seen = []
    s.add_event_listener(lambda evs: seen.extend(e.seq for e in evs))
    for i in range(5):
        s.create_order(order(f"O-{i}"), None).result()
    s.close()
    assert seen == [1, 2, 3, 4, 5]
    s = engine.open()
    assert s.last_seq() == 5
    assert [o.id for o in s.open_orders()] == [f"O-{i}" for i in range(5)]
    assert s.create_order(order(), None).result().body["id"] == "WO-00000001"


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


def test_tokens_are_stored_hashed_and_meta_round_trips(store):
    store.create_token("tk1", "sha-of-secret", "wms", "erp").result()
    record, token_hash = store.find_token("tk1")
    assert (record.role, record.name, token_hash) == ("wms", "erp", "sha-of-secret")
    assert store.find_token("nope") is None and store.count_tokens() == 1
    with pytest.raises(Exception):  # noqa: B017 - the engine's own integrity error
        store.create_token("tk1", "other", "viewer", "x").result()
    assert store.get_meta("k") is None
    store.set_meta("k", "1").result()
    store.set_meta("k", "2").result()
    assert store.get_meta("k") == "2"


def test_alarms_tasks_and_ids_survive_reopen(engine):
    s = engine.open()
    s.apply_batch(StateBatch(
        tasks=[{"id": "T-000041", "kind": "pod_fetch", "state": "active"}],
        alarms=[AlarmRecord("A-7", "E1", "bumper", 2.5)],
    )).result()
    s.apply_batch(StateBatch(
        alarms=[AlarmRecord("A-7", "E1", "bumper", 2.5, state="acknowledged", acked_by="al",
                            acked_at=9.0)],
    )).result()
    s.close()
    s = engine.open()
    assert s.highest_ids() == {"tasks": {"T": 41}, "alarms": {"A": 7}}
    (alarm,) = s.list_alarms(None)
    assert (alarm.state, alarm.acked_by, alarm.acked_at) == ("acknowledged", "al", 9.0)
    assert s.list_alarms("active") == []
    assert [t.id for t in s.open_tasks()] == ["T-000041"]
    page, cursor = s.list_tasks(state="active", kind=None, order_id=None, after_cursor=0, limit=5)
    assert [t.id for t in page] == ["T-000041"] and cursor is None


def test_event_committed_late_never_gets_a_number_below_one_already_read(engine):
    """Two writers (two stores, as two processes would be): A numbers its event and holds its
    commit; B writes meanwhile. A reader must never see B's event before A's is readable."""
    a, b, reader = engine.open(), engine.open(), engine.open()
    gate = engine.hold_commits(a)
    first = a.apply_batch(StateBatch(events=[Event("test", "a", 1.0, {})]))
    assert gate.holding.wait(10)
    second = b.apply_batch(StateBatch(events=[Event("test", "b", 2.0, {})]))
    seen: list[tuple[int, str]] = []
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:  # give an out-of-order commit every chance to show
        seen += [(e.seq, e.kind) for e in reader.events_after(0, 10)]
        time.sleep(0.01)
    assert seen == [] and not second.done()
    gate.release.set()
    (ea,), (eb,) = first.result(10), second.result(10)
    assert ea.seq < eb.seq
    assert [(e.seq, e.kind) for e in reader.events_after(0, 10)] == [(ea.seq, "a"), (eb.seq, "b")]
    assert reader.last_seq() == eb.seq


def test_two_writers_share_ids_and_idempotency_keys(engine):
    """Two stores on one database (two API processes): generated ids never collide and a key
    sent to both creates once; the other gets the same answer replayed."""
    a, b = engine.open(), engine.open()
    futures = []
    for i in range(40):
        claim = IdempotencyClaim("tok", f"key-{i // 2}", "h")
        futures.append((a if i % 2 else b).create_order(order(), claim))
    answers = [f.result(30) for f in futures]
    ids = [r.body["id"] for r in answers]
    assert [ids[i] == ids[i + 1] for i in range(0, 40, 2)] == [True] * 20
    assert len(set(ids)) == 20
    assert sorted(r.replayed for r in answers) == [False] * 20 + [True] * 20
    seqs = [e.seq for e in a.events_after(0, 100)]
    assert seqs == list(range(1, 21))  # one event per created order, gapless


def test_kpi_samples_survive_reopen(engine):
    s = engine.open()
    for t in range(5):
        s.append_kpi_sample(10.0 * t, {"time_s": 10.0 * t, "units_picked": t})
    s.apply_batch(StateBatch()).result()  # writes are FIFO: the samples are in
    s.close()
    s = engine.open()
    got = s.kpi_samples(3)
    assert [x["units_picked"] for _, x in got] == [2, 3, 4]
    assert all(wall > 1e9 for wall, _ in got)  # wall clock, unix seconds


def test_prune_keeps_the_newest_event_and_numbering_goes_on(engine):
    s = engine.open()
    claim = IdempotencyClaim("tok", "old-key", "h")
    s.create_order(order("P-1"), claim).result()
    s.apply_batch(StateBatch(events=[Event("t", "k", float(i), {"i": i}) for i in range(250)]))
    s.append_kpi_sample(1.0, {"time_s": 1.0}).result()
    last = s.last_seq()
    assert last == 251
    done = s.prune(time.time() + 1.0, batch_rows=100)  # everything is older than the cut
    assert (done.events, done.kpi_samples, done.idempotency_keys) == (250, 1, 1)
    assert [e.seq for e in s.events_after(0, 1000)] == [last]
    assert s.last_seq() == last and s.kpi_samples(10) == []
    assert s.idempotent_response(claim) is None
    (e,) = s.apply_batch(StateBatch(events=[Event("t", "after", 0.0, {})])).result()
    assert e.seq == last + 1
    s.close()
    s = engine.open()  # and after a restart
    assert s.last_seq() == last + 1
    assert s.prune(time.time() - 3600.0, batch_rows=100).events == 0  # nothing that old


def test_prune_runs_in_batches_beside_writers(engine):
    """Writes keep committing while a long prune runs: one submitted after the prune began
    commits before the prune ends."""
    s = engine.open()
    s.apply_batch(StateBatch(events=[Event("t", "k", 0.0, {}) for _ in range(20_000)])).result()
    cut = time.time() + 1.0
    pruned: list[int] = []
    started = threading.Event()
    orig_prune_batch = 50

    def prune() -> None:
        started.set()
        pruned.append(s.prune(cut, batch_rows=orig_prune_batch).events)

    worker = threading.Thread(target=prune)
    worker.start()
    assert started.wait(10)
    s.create_order(order("during"), None).result(30)
    finished_first = not pruned
    worker.join(60)
    assert pruned[0] >= 20_000 - 1 and finished_first
    assert s.get_order("during") is not None


def test_retention_thread_prunes_on_its_own(engine):
    s = engine.open()
    s.apply_batch(StateBatch(events=[Event("t", "k", 0.0, {}) for _ in range(30)])).result()
    time.sleep(0.05)  # the events are now older than the retention below
    s.start_retention(0.01, every_s=0.05, batch_rows=7)
    deadline = time.monotonic() + 30
    while len(s.events_after(0, 100)) > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [e.seq for e in s.events_after(0, 100)] == [30]
    s.stop_retention()
    with pytest.raises(ValueError, match="retention"):
        s.start_retention(0.0)


def test_postgres_listeners_see_every_process_commits_in_order(pg_server, tmp_path):
    """A listener follows the outbox: events another store (process) commits arrive too, each
    once, in seq order, including those committed while it was not yet caught up."""
    made = Engine("postgresql", tmp_path, pg_server.create_database())
    try:
        a, b = made.open(), made.open()
        seen: list[int] = []
        a.add_event_listener(lambda evs: seen.extend(e.seq for e in evs))
        futures = [(a if i % 2 else b).apply_batch(StateBatch(
            events=[Event("t", "k", float(i), {"i": i})] * 3)) for i in range(40)]
        wait(futures)
        b.close()
        a.close()  # closes after a last catch-up
        assert seen == list(range(1, 121))
    finally:
        made.close()


def test_batch_meta_rows_commit_with_their_events_and_survive_reopen(engine):
    s = engine.open()
    batch = StateBatch(events=[Event("robot", "out_of_service", 1.0, {"robot_id": "R1"})],
                       meta={"robot_states": '{"R1": {"out_of_service": true}}'})
    before = time.time()
    (live,) = s.apply_batch(batch).result()
    s.apply_batch(StateBatch(meta={"robot_states": "{}"})).result()
    (read,) = s.events_after(0, 10)
    # Every event carries its wall time (ISO 8601 UTC) beside the simulated seconds.
    assert live.as_dict()["at"] == read.as_dict()["at"] and read.as_dict()["at"].endswith("Z")
    assert before - 1 <= (read.wall_s or 0) <= time.time() + 1 and read.at_s == 1.0
    assert s.get_meta("robot_states") == "{}"
    s.close()
    s = engine.open()
    assert s.get_meta("robot_states") == "{}"
    assert s.last_seq() == 1
    s.close()
