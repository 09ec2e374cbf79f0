"""Runtime without HTTP: restart recovery (exactly once), id continuity, feed, timed tasks."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import Future

from test_api_helpers import demo_site, wait_for

from fleet_manager.domain import Task, TaskKind
from fleet_manager.runtime import Runtime, RuntimeConfig
from fleet_manager.store import (
    OrderLineRecord,
    OrderQuery,
    OrderRecord,
    SqliteStore,
    StateBatch,
    StoredEvent,
)
from sim.order_feed import OrderFeed


def _order(i: int) -> OrderRecord:
    lines = (OrderLineRecord(f"SKU-{1 + i % 30:04d}", 1 + i % 2),)
    return OrderRecord(f"R-{i:03d}", "open", 0, lines, 0.0, 0.0)


def _runtime(store: SqliteStore, speed: float = 0.0) -> Runtime:
    return Runtime(demo_site(), store, config=RuntimeConfig(speed=speed, seed=3))


class _HoldAfterDone:
    """Tick hook + component: once the simulation has finished `done` orders, hold the control
    thread until stop() is asked for, so the first run stops with work left however fast the
    machine is. (Waiting from the test thread, at speed 0, let a busy machine finish all 40
    orders first; counting committed orders instead lags behind when the writer is slow.)"""

    def __init__(self, runtime: Runtime, done: int) -> None:
        self.runtime, self.done = runtime, done
        self.holding, self.release = threading.Event(), threading.Event()

    def tick(self, _now_s: float) -> None:
        orders = self.runtime.sim.orders.values()  # on the control thread: safe to read
        if not self.release.is_set() and sum(o.state == "done" for o in orders) >= self.done:
            self.holding.set()
            self.release.wait()

    def start(self, _runtime: Runtime) -> None:
        pass

    def stop(self) -> None:  # Runtime.stop() stops components first, then the loop
        self.release.set()


def test_restart_resubmits_open_orders_once_and_continues_ids(tmp_path):
    store = SqliteStore.in_dir(tmp_path)
    first = _runtime(store)
    hold = _HoldAfterDone(first, done=5)
    first.add_tick_hook(hold.tick)
    first.add_component(hold)
    for i in range(40):  # committed and queued before the loop runs: all enter the first tick
        first.submit_order(_order(i), None).result()
    first.start()
    wait_for(hold.holding.is_set, what="some orders to finish")
    first.stop()
    open_before = {o.id for o in store.open_orders()}
    tasks_before = {t.id for t in store.list_tasks(limit=500)[0]}
    left_open = {t.id for t in store.open_tasks()}
    assert open_before and left_open, ("the first run should stop with work left",
                                       store.count_orders(), len(left_open))

    second = _runtime(store)
    second.start()
    # What the first run left open is closed (reason "restart"), not silently continued.
    for task_id in left_open:
        task = store.get_task(task_id)
        assert task.state == "cancelled" and task.history[-1]["reason"] == "restart", task
    wait_for(lambda: store.count_orders() == {"done": 40}, 60, "all orders done")
    second.stop()
    assert second.stats.orders_submitted == len(open_before)
    events = store.events_after(0, 1_000_000)
    done = Counter(e.data["order_id"] for e in events if (e.topic, e.kind) == ("order", "done"))
    picked: Counter[str] = Counter()
    for e in events:
        if (e.topic, e.kind) == ("pick", "confirmed"):
            picked[e.data["order_id"]] += e.data["picked"]
    for order in store.list_orders(OrderQuery(limit=100))[0]:
        assert done[order.id] == 1
        assert picked[order.id] == order.lines[0].quantity == order.lines[0].picked
    tasks_after = store.list_tasks(limit=500)[0]
    new_ids = {t.id for t in tasks_after} - tasks_before
    assert new_ids and all(
        int(n.split("-")[1]) > max(int(o.split("-")[1]) for o in tasks_before if o.startswith("T-"))
        for n in new_ids
        if n.startswith("T-")
    )
    store.close()


def test_order_feed_enters_orders_durably(tmp_path):
    store = SqliteStore.in_dir(tmp_path)
    rt = _runtime(store, speed=0.0)
    feed = OrderFeed(orders_per_h=3600.0, seed=1)
    rt.add_component(feed)
    rt.start()
    wait_for(lambda: len(store.list_orders(OrderQuery(source="generator"))[0]) >= 10)
    rt.stop()
    stored, cursor = store.list_orders(OrderQuery(source="generator", limit=500))
    while cursor is not None:  # a fast machine generates more than one page
        more, cursor = store.list_orders(OrderQuery(source="generator", after_cursor=cursor,
                                                     limit=500))
        stored += more
    assert len(stored) == feed.generated  # every generated order was committed
    received = [e for e in store.events_after(0, 1_000_000) if e.kind == "received"]
    assert len(received) == feed.generated
    store.close()


def test_timed_tasks_take_their_geometric_time(tmp_path):
    store = SqliteStore.in_dir(tmp_path)
    rt = _runtime(store, speed=0.0)
    site = demo_site()
    conveyor = site.conveyors["CV1"]
    first, last = conveyor.points[0], conveyor.points[-1]
    task = Task(
        "X-1",
        TaskKind.CONVEYOR_TRANSFER,
        0.0,
        payload={"conveyor_id": "CV1", "from_point": first.id, "to_point": last.id},
    )
    rt.start()
    rt.call(lambda _sim: rt.timed.submit(task, rt.now_s)).result()
    wait_for(lambda: (store.get_task("X-1") or None) and store.get_task("X-1").state == "done")
    rt.stop()
    history = {h["to"]: h["at_s"] for h in store.get_task("X-1").history}
    expected_s = (last.position_m - first.position_m) / conveyor.speed_mps
    assert history["done"] - history["active"] == expected_s
    store.close()


class _SlowCommits(SqliteStore):
    """A real SQLite store whose batch commits can be held back (a busy disk), remembering
    every batch future the runtime was handed."""

    delay_s = 0.0
    batches: list[Future[list[StoredEvent]]]

    def apply_batch(self, batch: StateBatch) -> Future[list[StoredEvent]]:
        if self.delay_s:
            self._submit(lambda _conn, _emitted, d=self.delay_s: time.sleep(d))
        future = super().apply_batch(batch)
        self.batches.append(future)
        return future


def test_stop_returns_only_after_the_last_tick_is_committed(tmp_path):
    # The restart test's flake: stop() returned while the last tick's batch (a pod fetch
    # going "done") was still queued in the writer, so the next run read it as open.
    store = _SlowCommits.in_dir(tmp_path)
    store.batches = []
    rt = _runtime(store)
    rt.start()
    for i in range(10):
        rt.submit_order(_order(i), None).result()
    wait_for(lambda: store.list_tasks(limit=1)[0], what="the simulation to plan a task")
    store.delay_s = 0.3  # the batches of the ticks around stop() commit late
    rt.stop()
    assert all(f.done() for f in store.batches), "stop() returned before the commit"
    recorded = sum(len(f.result()) for f in store.batches)
    assert recorded == rt.stats.events_recorded
    store.close()


def test_simulated_time_goes_on_across_a_restart(tmp_path):
    store = SqliteStore.in_dir(tmp_path)
    first = _runtime(store)
    first.start()
    first.submit_order(_order(1), None).result(timeout=30)
    wait_for(lambda: first.now_s > 120.0, 60, "two simulated minutes")
    first.stop()
    stopped_s = first.now_s
    last_event_s = store.events_after(0, 100_000)[-1].at_s
    second = _runtime(store)
    assert second.now_s == stopped_s >= last_event_s  # not back to 0
    second.start()
    wait_for(lambda: second.now_s > stopped_s + 10.0, 60, "time to move on")
    second.stop()
    assert store.events_after(0, 100_000)[-1].at_s >= last_event_s
    store.close()
