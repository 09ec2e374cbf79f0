"""`wcs run` whose simulated PLC hangs (SIGSTOP) for 5 s: the API shows the PLC state as
unknown meanwhile, and the outage is one alarm, cleared once the link is healthy again."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest
from test_api_helpers import wait_for
from test_runtime_plc import _get, _start_wcs, _tokens

HANG_S = 5.0


@pytest.mark.timeout(150)
def test_wcs_run_shows_unknown_plc_state_during_a_hang_and_raises_one_alarm(tmp_path):
    proc, seen = _start_wcs(tmp_path)
    pid = int(seen["plc"].split(" pid ")[1].split()[0])
    stopped = False
    try:
        token = _tokens(tmp_path)["viewer"]
        api = httpx.Client(
            base_url=seen["base"], headers={"Authorization": f"Bearer {token}"}, timeout=10
        )

        def lanes_state() -> set[str]:
            return {lane["plc_state"] for lane in _get(api, "/api/v1/lanes")}

        wait_for(lambda: lanes_state() == {"running"}, 60, "the conveyors to run")
        os.kill(pid, signal.SIGSTOP)
        stopped, since = True, time.monotonic()
        wait_for(lambda: lanes_state() == {"unknown"}, 4.0, "the PLC state to become unknown")
        during = []
        while time.monotonic() - since < HANG_S:
            during.append(_get(api, "/api/v1/lanes"))
            time.sleep(0.3)
        os.kill(pid, signal.SIGCONT)
        stopped = False
        assert during
        for lanes in during:
            assert {lane["plc_state"] for lane in lanes} == {"unknown"}
            assert all(lane["fill_items"] is None and not lane["plc_connected"] for lane in lanes)

        def link_alarms() -> list[dict]:
            return [a for a in _get(api, "/api/v1/alarms") if a["code"] == "plc_connection_lost"]

        wait_for(lambda: lanes_state() == {"running"}, 30, "the conveyors to run again")
        wait_for(lambda: link_alarms() and link_alarms()[0]["state"] == "cleared", 30, "clear")
        time.sleep(3.0)  # the link stays up: no second alarm
        alarms = link_alarms()
        assert len(alarms) == 1 and alarms[0]["resource_id"] == "plc:demo-sorter"
        assert all(isinstance(lane["fill_items"], int) for lane in _get(api, "/api/v1/lanes"))
    finally:
        if stopped:
            os.kill(pid, signal.SIGCONT)
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
