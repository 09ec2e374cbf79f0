"""Mixed fleet in the real Simulation: in-process robots plus VDA 5050 vehicles in other processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from vda_helpers import MasterOnBroker, kill_until_broken, spawn, wait_online

from fleet_manager.domain import Order, OrderLine, OrderState, TaskKind, TaskState
from fleet_manager.events import Event
from fleet_manager.robots.adapter import RobotStatus
from fleet_manager.robots.vda5050.adapter import Vda5050RobotAdapter
from fleet_manager.robots.vda5050.broker import MosquittoBroker
from fleet_manager.robots.vda5050.sim_link import Vda5050Lockstep
from fleet_manager.site import load_site
from fleet_manager.site.model import Site
from sim.world import Simulation

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "maps" / "tiny.yaml"


@pytest.fixture
def site() -> Site:
    return load_site(TINY)


@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    with MosquittoBroker() as b:
        yield b


class MixedSim(MasterOnBroker):
    """Simulation with R01 in-process and the given site robots as VDA 5050 vehicles."""

    def __init__(self, site: Site, broker: MosquittoBroker, vda_ids: tuple[str, ...]) -> None:
        super().__init__(site, broker)
        starts = {r.id: r.start for r in site.robots}
        self.vda: list[Vda5050RobotAdapter] = [
            self.master.add_robot(rid, start_node=starts[rid]) for rid in vda_ids
        ]
        self.link = Vda5050Lockstep(self.master, self.vda)
        self.sim = Simulation(
            site, seed=5, robots=1, config={"orders_per_h": 0.0}, bus=self.bus,
            extra_robots=list(self.vda), before_tick=self.link.before_tick,
            after_moves=self.link.after_moves,
        )
        self.master.alarms = self.sim.alarms

    def wait_online(self, timeout_s: float = 15.0) -> None:
        wait_online(self.master, self.vda, timeout_s)

    def run_until_done(self, orders: list[Order], max_steps: int) -> None:
        """Until the orders are done and every pod is back in storage (no robot task open)."""
        for _ in range(max_steps):
            if all(o.state == OrderState.DONE for o in orders) and all(
                t.is_terminal for t in self.sim.tasks.values()
            ):
                return
            self.sim.step()
        raise AssertionError([(o.id, o.state) for o in orders], self.sim.dispatcher.motion.last_conflicts,
                             self.link.arrival_timeouts)

    def alarms(self, code: str) -> list[Event]:
        return [e for e in self.events if e.topic == "alarm" and e.data.get("code") == code]

    def lifted_by(self) -> set[str]:
        return {e.data.get("resource_id") for e in self.events
                if e.topic == "task" and e.data.get("reason") == "pod lifted"}


def orders(*skus: str, prefix: str = "O") -> list[Order]:
    return [Order(f"{prefix}{i}", [OrderLine(sku, 1)], 0.0) for i, sku in enumerate(skus)]


def test_extra_robots_must_not_clash(site: Site) -> None:
    class Fake:
        def __init__(self, rid: str, node: int) -> None:
            self.id, self.node = rid, node

        def status(self) -> RobotStatus:
            return RobotStatus(self.id, self.node, 0.0, 1.0, False)

    starts = {r.id: r.start for r in site.robots}
    with pytest.raises(ValueError, match="'R01'.*id already used"):
        Simulation(site, robots=1, extra_robots=[Fake("R01", starts["R02"])])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="'X1'.*taken by robot R01"):
        Simulation(site, robots=1, extra_robots=[Fake("X1", starts["R01"])])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="'X2'.*taken by robot X1"):
        Simulation(site, robots=0, extra_robots=[Fake("X1", 5), Fake("X2", 5)])  # type: ignore[list-item]


def test_mixed_fleet_completes_g2p_orders_without_collisions(site: Site, broker: MosquittoBroker) -> None:
    mixed = MixedSim(site, broker, ("R02", "R03"))
    proc = spawn(broker, "R02", "R03")
    try:
        mixed.wait_online()
        todo = orders("SKU-A", "SKU-B", "SKU-C", "SKU-A", "SKU-C")
        for o in todo:
            mixed.sim.submit_order(o)
        mixed.run_until_done(todo, 3000)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        mixed.transport.stop()
    d = mixed.sim.dispatcher
    assert d.kpi.conflicts == 0, (d.motion.last_conflicts, mixed.link.arrival_timeouts)
    assert mixed.lifted_by() & {"R02", "R03"}, mixed.lifted_by()
    assert mixed.link.arrival_timeouts == 0
    assert mixed.alarms("vda5050.schema_invalid") == []
    snap = {r["id"]: r for r in mixed.sim.snapshot()["robots"]}
    assert set(snap) == {"R01", "R02", "R03"}
    assert snap["R02"]["connection"] == "ONLINE" and snap["R01"]["connection"] == "ONLINE"
    assert set(snap["R02"]) == set(snap["R01"])  # same fields for every robot


def test_killed_vehicle_task_is_requeued_by_the_dispatcher_and_it_rejoins(
    site: Site, broker: MosquittoBroker
) -> None:
    mixed = MixedSim(site, broker, ("R02",))
    sim, amr = mixed.sim, mixed.vda[0]
    proc = spawn(broker, "R02")
    try:
        mixed.wait_online()
        sim.command_robot("R01", "pause")  # the first fetch must go to the VDA 5050 vehicle
        first = orders("SKU-C", prefix="A")
        sim.submit_order(first[0])
        fetch = None
        for _ in range(50):
            sim.step()
            fetch = next((t for t in sim.tasks.values() if t.kind == TaskKind.POD_FETCH), None)
            if fetch is not None and fetch.state == TaskState.ASSIGNED:
                break
        assert fetch is not None and fetch.resource_id == "R02"
        assert amr.status().pod_id is None
        kill_until_broken(proc, amr, mixed.master)
        lost_at = amr.status().node
        sim.command_robot("R01", "resume")
        mixed.run_until_done(first, 2000)
        states = [(ev.to_state, ev.resource_id) for ev in fetch.history]
        assert states[:4] == [(TaskState.QUEUED, None), (TaskState.ASSIGNED, "R02"),
                              (TaskState.QUEUED, None), (TaskState.ASSIGNED, "R01")], states
        assert fetch.state == TaskState.DONE and mixed.lifted_by() == {"R01"}
        assert amr.status().node == lost_at  # the dead robot stayed an obstacle where it was
        assert mixed.alarms("vda5050.connectionbroken") and mixed.alarms("offline")
        assert {r["id"]: r for r in sim.snapshot()["robots"]}["R02"]["connection"] == "CONNECTIONBROKEN"
        # Restart: it comes back uninitialised; the master sends initPosition at its last node.
        proc = spawn(broker, "R02")
        mixed.wait_online()
        sim.step()
        assert sim.dispatcher.robots["R02"].can_take_work
        sim.command_robot("R01", "pause")
        second = orders("SKU-B", prefix="B")
        sim.submit_order(second[0])
        mixed.run_until_done(second, 2000)
        assert mixed.lifted_by() == {"R01", "R02"}
        assert any(e.topic == "robot" and e.kind == "recovered" and e.data["robot_id"] == "R02"
                   for e in mixed.events)
        assert sim.dispatcher.kpi.conflicts == 0, sim.dispatcher.motion.last_conflicts
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        mixed.transport.stop()


def test_wcs_run_with_vda5050_robots_shows_them_moving_in_the_api(tmp_path: Path) -> None:
    import httpx

    cmd = [sys.executable, "-m", "fleet_manager.cli", "run", "--robots", "vda5050:2",
           "--data-dir", str(tmp_path), "--port", "0", "--speed", "10", "--orders-per-h", "3600",
           "--quiet", "--no-plc"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        while not lines or not lines[-1].startswith("monitor: "):
            line = proc.stdout.readline() if proc.stdout else ""
            if not line:
                raise AssertionError(f"wcs run ended early: {proc.stderr.read() if proc.stderr else ''}")
            lines.append(line.rstrip("\n"))
        assert any(line.startswith("vda5050: 2/2 online") for line in lines), lines
        tokens = dict(line.split() for line in lines if line.startswith("  "))
        url = lines[-1].split()[1]
        viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
        seen: dict[str, set[tuple[float, float]]] = {"VDA-001": set(), "VDA-002": set()}
        deadline = time.monotonic() + 40
        while min(len(v) for v in seen.values()) < 3 or not any_lifted(seen):
            assert time.monotonic() < deadline, seen
            robots = {r["id"]: r for r in httpx.get(f"{url}api/v1/robots", headers=viewer).json()["items"]}
            assert set(seen) <= set(robots) and len(robots) > 2  # beside the in-process robots
            for rid, places in seen.items():
                r = robots[rid]
                assert r["connection"] == "ONLINE" and set(r) == set(robots["AMR-01"])
                places.add((r["x_m"], r["y_m"]))
                if r["pod_id"]:
                    places.add((-1.0, -1.0))  # marker: it carried a pod at some point
            time.sleep(0.2)
        # Instant actions by name, only what the vehicle's factsheet offers.
        tech = {"Authorization": f"Bearer {tokens['technician']}"}
        base = f"{url}api/v1/robots/VDA-001/instant-actions"
        offered = httpx.get(base, headers=viewer).json()["offered"]
        assert "stateRequest" in offered and "factsheetRequest" in offered, offered
        sent = httpx.post(base, headers=tech, json={"action_type": "stateRequest"})
        assert sent.status_code == 200 and sent.json()["action_id"], sent.text
        refused = httpx.post(base, headers=tech, json={"action_type": "selfDestruct"})
        assert refused.status_code == 409 and "factsheet" in refused.json()["error"]["reason"]
        simulated = httpx.post(f"{url}api/v1/robots/AMR-01/instant-actions", headers=tech,
                               json={"action_type": "stateRequest"})
        assert simulated.status_code == 409
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped cleanly" in out


def any_lifted(seen: dict[str, set[tuple[float, float]]]) -> bool:
    return any((-1.0, -1.0) in v for v in seen.values())


def _children(pid: int) -> list[int]:
    """Pids whose parent is `pid`, read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_killed_wcs_run_leaves_no_broker_or_vehicles_behind(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "fleet_manager.cli", "run", "--robots", "vda5050:1",
           "--data-dir", str(tmp_path), "--port", "0", "--quiet", "--no-plc"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = ""
        while not line.startswith("monitor: "):
            line = proc.stdout.readline() if proc.stdout else ""
            assert line, f"wcs run ended early: {proc.stderr.read() if proc.stderr else ''}"
        children = _children(proc.pid)
        assert len(children) >= 2, children  # mosquitto and the vehicles' process
    finally:
        proc.kill()
        proc.wait(timeout=10)
    deadline = time.monotonic() + 15
    while any(_running(pid) for pid in children):
        assert time.monotonic() < deadline, f"orphans left after kill -9: {children}"
        time.sleep(0.2)


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for init to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
