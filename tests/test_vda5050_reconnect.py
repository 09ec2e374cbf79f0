"""VDA 5050 links that tell the truth (issue 22): vehicles paused past the keepalive reconnect
with back-off, the last will outranks the ONLINE before it, an unknown vehicle is one alarm."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator

import pytest
from vda_helpers import MasterOnBroker, spawn, wait_online

from fleet_manager.robots.vda5050.broker import MosquittoBroker
from fleet_manager.site import default_map_path, load_site
from fleet_manager.site.model import Site


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(default_map_path())


@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    with MosquittoBroker() as b:
        yield b


def _pump_until(master, check, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        master.wait(0.2)


@pytest.mark.slow
def test_paused_vehicles_reconnect_and_the_will_outranks_online(site: Site,
                                                              broker: MosquittoBroker) -> None:
    mob = MasterOnBroker(site, broker)
    heard: list[dict] = []
    inner = mob.master.on_raw

    def tap(topic: str, payload: bytes) -> None:
        if topic.endswith("/connection"):
            heard.append(json.loads(payload))
        inner(topic, payload)

    mob.transport._on_raw = tap  # see every connection message in arrival order
    robots = [mob.master.add_robot(s, start_node=n) for s, n in (("AMR-001", 40), ("AMR-002", 80))]
    proc = spawn(broker, "AMR-001", "AMR-002")
    try:
        wait_online(mob.master, robots, 20)
        os.kill(proc.pid, signal.SIGSTOP)  # a 20 s stall: load, a debugger, a broker failover
        try:
            _pump_until(mob.master, lambda: all(not r.online for r in robots), 30,
                        "the broker to give up on the paused vehicles")
            time.sleep(max(0.0, 20.0 - 8.0))
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        _pump_until(mob.master, lambda: all(r.online for r in robots), 30,
                    "the vehicles back online")
        for serial in ("AMR-001", "AMR-002"):
            mine = [(h["connectionState"], h["headerId"]) for h in heard
                    if h["serialNumber"] == serial]
            states = [state for state, _ in mine]
            # Online, lost (the broker's last will), online again: in that order, whatever
            # else a loaded machine adds in between.
            first_broken = states.index("CONNECTIONBROKEN")
            assert "ONLINE" in states[:first_broken], mine
            assert "ONLINE" in states[first_broken + 1:], mine
            for (before, before_id), (after, after_id) in zip(mine, mine[1:], strict=False):
                if before == "ONLINE" and after == "CONNECTIONBROKEN":
                    assert after_id > before_id, mine  # the will outranks the ONLINE before it
        # And they take orders again.
        robots[0].move_to(next(iter(site.graph.successors(robots[0].node))))
        _pump_until(mob.master, lambda: not robots[0].busy, 20, "the move after the pause")
    finally:
        proc.terminate()
        proc.wait(10)
        mob.transport.stop()


def test_an_unknown_vehicle_is_one_alarm(site: Site, broker: MosquittoBroker) -> None:
    mob = MasterOnBroker(site, broker)
    proc = spawn(broker, "STRANGER-1")
    try:
        _pump_until(mob.master, lambda: mob.master.unknown_seen.get(("WCS-SIM", "STRANGER-1"), 0)
                    >= 6, 30, "several messages from the unknown vehicle")
        alarms = [a for a in mob.master.alarms.list() if a.code == "vda5050.unknown_serial"]
        assert len(alarms) == 1 and "STRANGER-1" in alarms[0].message
    finally:
        proc.terminate()
        proc.wait(10)
        mob.transport.stop()
