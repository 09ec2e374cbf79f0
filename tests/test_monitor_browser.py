"""Fleet monitor in headless Chromium against a real `wcs run` process (demo site, fast clock)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from browser import REPO, WcsServer, browser_missing, make_driver

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing())),
]
ARTIFACTS = REPO / "artifacts"
WAIT_S = 20.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WcsServer]:
    srv = WcsServer(tmp_path_factory.mktemp("monitor"), extra=("--speed", "4", "--seed", "3"))
    srv.start()
    srv.tech = srv.token("technician", "tess-tech")  # type: ignore[attr-defined]
    srv.viewer = srv.token("viewer", "vic-viewer")  # type: ignore[attr-defined]
    srv.wms = srv.token("wms", "wanda-wms")  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def _open(server: WcsServer, token: str):
    driver = make_driver()
    driver.get(f"{server.base}/monitor/")
    driver.find_element("id", "token").send_keys(token)
    driver.find_element("css selector", "#login-form button").click()
    _wait(driver, lambda d: d.execute_script("return window.wcsMonitor.connected()"), "stream up")
    _wait(driver, lambda d: len(d.execute_script("return window.wcsMonitor.drawnRobots()")) > 0, "robots")
    return driver


@pytest.fixture(scope="module")
def tech(server: WcsServer):
    driver = _open(server, server.tech)  # type: ignore[attr-defined]
    yield driver
    driver.quit()


def _wait(driver, condition, what: str, timeout_s: float = WAIT_S):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    ignored = (StaleElementReferenceException,)
    wait = WebDriverWait(driver, timeout_s, poll_frequency=0.1, ignored_exceptions=ignored)
    return wait.until(condition, message=what)


def _click(driver, css: str) -> None:
    """Click the element `css` names; tables re-render twice a second, so find it afresh."""

    from selenium.common.exceptions import StaleElementReferenceException

    def clicked(d) -> bool:
        try:
            d.find_element("css selector", css).click()
            return True
        except StaleElementReferenceException:
            # Re-rendered between find and click (a loaded machine is slow enough for this to
            # repeat): find and click inside one script instead; a disabled button stays inert.
            return bool(d.execute_script(
                "const b = document.querySelector(arguments[0]); if (b) b.click(); return !!b", css
            ))

    _wait(driver, clicked, f"click {css}")


def _js(driver, expr: str):
    return driver.execute_script(f"return {expr}")


def _buttons(driver, css: str) -> list[tuple[bool, str]]:
    """(disabled, title) of every button `css` matches, read at one instant."""
    found = driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map((b) => [b.disabled, b.title])", css
    )
    return [(bool(d), str(t)) for d, t in found]


def _select_robot(driver, robot_id: str) -> None:
    driver.find_element("css selector", '#tabs button[data-tab="robots"]').click()
    search = driver.find_element("id", "robot-search")
    search.clear()
    search.send_keys(robot_id)
    _wait(driver, lambda d: d.find_elements("css selector", f'tr[data-robot="{robot_id}"]'), robot_id)
    _click(driver, f'tr[data-robot="{robot_id}"]')
    _wait(driver, lambda d: robot_id in d.find_element("id", "robot-detail").text, "detail")


def test_page_loads_demo_site(server: WcsServer, tech) -> None:
    robots = server.get("/api/v1/robots", server.tech)["items"]  # type: ignore[attr-defined]
    _wait(tech, lambda d: len(_js(d, "window.wcsMonitor.drawnRobots()")) == len(robots), "all robots")
    assert "demo" in tech.find_element("id", "site-name").text
    assert set(_js(tech, "window.wcsMonitor.drawnRobots()")) == {r["id"] for r in robots}
    assert tech.find_element("id", "banner").get_attribute("hidden") is not None
    assert "technician" in tech.find_element("id", "who").text
    # No token in any URL the page used; it lives in sessionStorage only.
    assert server.tech not in tech.current_url  # type: ignore[attr-defined]
    assert _js(tech, "sessionStorage.getItem('wcs.token')") == server.tech  # type: ignore[attr-defined]
    _wait(tech, lambda d: _js(d, "window.wcsMonitor.frames()") > 30, "frames drawn")
    errors = [e["message"] for e in tech.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors  # no script errors, no failed request while the server is up


def test_drawn_robot_positions_change(tech) -> None:
    before = _js(tech, "window.wcsMonitor.drawnRobots()")

    def moved(d) -> bool:
        now = _js(d, "window.wcsMonitor.drawnRobots()")
        return any(now.get(k) and now[k] != v for k, v in before.items())

    _wait(tech, moved, "a drawn robot moved")


def test_kpi_charts_start_from_the_server_history(server: WcsServer, tech) -> None:
    # The server sampled from its start (t=0), before the page connected: the page's oldest
    # point is the server's, not its own first snapshot.
    history = server.get("/api/v1/kpis/history", server.tech)["items"]  # type: ignore[attr-defined]
    got = _js(tech, "window.wcsMonitor.kpiHistory()")
    assert got["loads"] >= 1 and got["samples"] >= 1
    assert got["first_s"] == history[0]["time_s"]
    _click(tech, '#tabs button[data-tab="kpis"]')
    _wait(tech, lambda d: "CR1" in d.find_element("id", "asrs-line").text, "the AS/RS line")


def _busy_robot(server: WcsServer) -> str:
    for snap in server.live_snapshots(server.tech, 50):  # type: ignore[attr-defined]
        for robot in snap["robots"]:
            if robot["state"] not in ("idle", "paused", "fault", "charging") and robot["path_ahead"]:
                return robot["id"]
    pytest.fail("no robot was on the move in 50 snapshots")


def test_technician_pauses_robot_and_it_stops(server: WcsServer, tech) -> None:
    robot_id = _busy_robot(server)
    _select_robot(tech, robot_id)
    _click(tech, '#robot-detail button[data-cmd="pause"]')
    _wait(tech, lambda d: f"Robot {robot_id}: pause accepted" in d.find_element("id", "toast").text, "toast")
    # The first snapshot sent may predate the command by one snapshot period: skip it.
    snaps = server.live_snapshots(server.tech, 6, distinct_times=True)[1:]  # type: ignore[attr-defined]
    seen = [next(r for r in s["robots"] if r["id"] == robot_id) for s in snaps]
    assert len({s["time_s"] for s in snaps}) >= 5, "the simulation clock kept running"
    assert all(r["paused"] for r in seen)
    assert {(r["x_m"], r["y_m"]) for r in seen} == {(seen[0]["x_m"], seen[0]["y_m"])}
    _wait(tech, lambda d: "paused" in d.find_element("id", "robot-detail").text, "paused shown")
    _click(tech, '#robot-detail button[data-cmd="resume"]')
    _wait(tech, lambda d: "resume accepted" in d.find_element("id", "toast").text, "resumed")


def test_refused_command_shows_error_naming_robot(server: WcsServer, tech) -> None:
    robot_id = "AMR-02"
    _select_robot(tech, robot_id)
    _click(tech, '#robot-detail button[data-cmd="out_of_service"]')
    _wait(tech, lambda d: "out of service accepted" in d.find_element("id", "toast").text, "oos")
    # The monitor knows charge cannot apply to a robot out of service: the button says why.
    charge = '#robot-detail button[data-cmd="charge"]'
    _wait(tech, lambda d: _buttons(d, charge) == [(True, "out of service")], "charge disabled")
    # A stale page (the server changed first) still shows the server's refusal: click the
    # button as a page one snapshot behind would (enabled).
    tech.execute_script("const b = document.querySelector(arguments[0]); b.disabled = false; b.click()", charge)
    _wait(tech, lambda d: "failed" in d.find_element("id", "toast").text, "refusal shown")
    toast = tech.find_element("id", "toast").text
    assert robot_id in toast and "out of service" in toast
    _wait(tech, lambda d: robot_id in d.find_element("id", "robot-error").text, "error names robot")
    server.post(f"/api/v1/robots/{robot_id}/commands", server.tech, {"command": "in_service"})  # type: ignore[attr-defined]


def test_technician_disables_and_enables_a_sorter_lane(server: WcsServer, tech) -> None:
    tech.find_element("css selector", '#tabs button[data-tab="lanes"]').click()
    row = '#lane-table tr[data-lane-row="L03"]'
    _click(tech, f'{row} button[data-enable="0"]')
    _wait(tech, lambda d: "disabled" in d.find_element("css selector", row).text, "lane disabled")
    lanes = {x["id"]: x for x in server.get("/api/v1/lanes", server.tech)["items"]}  # type: ignore[attr-defined]
    assert lanes["L03"]["enabled"] is False
    _click(tech, f'{row} button[data-enable="1"]')
    _wait(tech, lambda d: "enabled" in d.find_element("css selector", row).text, "lane enabled")


def test_viewer_sees_commands_disabled_with_reason(server: WcsServer) -> None:
    driver = _open(server, server.viewer)  # type: ignore[attr-defined]
    try:
        _select_robot(driver, "AMR-03")
        # Read in one script: the tables re-render while Selenium would walk them element by element.
        buttons = _buttons(driver, "#robot-detail button[data-cmd]")
        assert len(buttons) == 8
        assert all(disabled and "technician" in title for disabled, title in buttons)
        assert "technician role" in driver.find_element("id", "cmd-reason").text
        lanes = _buttons(driver, "#lane-table button[data-lane]")
        assert lanes and all(disabled for disabled, _title in lanes)
        # The server refuses a viewer too; the disabled buttons only say so early.
        refused = server.post("/api/v1/robots/AMR-03/commands", server.viewer, {"command": "pause"})  # type: ignore[attr-defined]
        assert refused.status_code == 403
    finally:
        driver.quit()


def test_simulator_alarm_appears_and_is_acknowledged(server: WcsServer, tech) -> None:
    res = server.post("/api/v1/sim/robots/AMR-04/fault", server.tech, {"code": "bumper_hit"})  # type: ignore[attr-defined]
    assert res.status_code == 200, res.text
    alarm_id = res.json()["id"]
    tech.find_element("css selector", '#tabs button[data-tab="alarms"]').click()
    item = f'#alarm-list li[data-alarm="{alarm_id}"]'
    _wait(tech, lambda d: d.find_elements("css selector", item), "alarm listed")
    _wait(tech, lambda d: "bumper_hit" in d.find_element("css selector", item).text, "code shown")
    raised = _js(tech, "[...document.querySelectorAll('#alarm-list li')].map((li) => +li.dataset.raisedS)")
    assert raised == sorted(raised, reverse=True), "alarms are not newest first"
    _click(tech, f"{item} button[data-ack]")
    _wait(tech, lambda d: "acknowledged by tess-tech" in d.find_element("css selector", item).text, "ack")
    _wait(tech, lambda d: "at sim" in d.find_element("css selector", item).text, "ack time")
    stored = {a["id"]: a for a in server.get("/api/v1/alarms", server.tech)["items"]}  # type: ignore[attr-defined]
    assert stored[alarm_id]["acknowledged_by"] == "tess-tech"
    # The artefact: demo site running, faulted robot selected (detail, path), alarm acknowledged.
    _select_robot(tech, "AMR-04")
    tech.find_element("css selector", '#tabs button[data-tab="alarms"]').click()
    tech.execute_script("document.getElementById('toast').hidden = true")  # earlier tests' notes
    ARTIFACTS.mkdir(exist_ok=True)
    tech.save_screenshot(str(ARTIFACTS / "monitor.png"))
    assert (ARTIFACTS / "monitor.png").stat().st_size > 10_000


def _robot_with_pod(server: WcsServer, avoid: tuple[str, ...]) -> tuple[str, str]:
    for _ in range(10):
        for snap in server.live_snapshots(server.tech, 50):  # type: ignore[attr-defined]
            for robot in snap["robots"]:
                if robot["state"] == "to_station" and robot["pod_id"] and robot["id"] not in avoid:
                    return robot["id"], robot["pod_id"]
    pytest.fail("no robot carried a pod to a station")


def test_technician_clears_a_fault_and_the_pod_goes_home(server: WcsServer, tech) -> None:
    robot_id, pod_id = _robot_with_pod(server, avoid=("AMR-02", "AMR-04"))
    res = server.post(f"/api/v1/sim/robots/{robot_id}/fault", server.tech, {"code": "lidar_dirty"})  # type: ignore[attr-defined]
    assert res.status_code == 200, res.text
    _select_robot(tech, robot_id)
    _wait(tech, lambda d: "lidar_dirty" in d.find_element("id", "robot-error").text, "fault shown")
    cmd = '#robot-detail button[data-cmd="{}"]'
    _wait(tech, lambda d: _buttons(d, cmd.format("clear_fault")) == [(False, "")], "clear enabled")
    resume = _buttons(tech, cmd.format("resume"))
    assert resume[0][0] and "clear the fault" in resume[0][1]
    assert _buttons(tech, cmd.format("confirm_check"))[0][0]  # needs no check
    _click(tech, cmd.format("clear_fault"))
    _wait(tech, lambda d: f"Robot {robot_id}: clear fault accepted" in d.find_element("id", "toast").text, "toast")

    def home() -> bool:
        snap = server.live_snapshots(server.tech, 1)[0]  # type: ignore[attr-defined]
        robot = next(r for r in snap["robots"] if r["id"] == robot_id)
        pod = next(p for p in snap["pods"] if p["id"] == pod_id)
        return robot["error"] is None and robot["pod_id"] != pod_id and pod["carried_by"] is None

    _poll(home, f"pod {pod_id} back in storage", timeout_s=60)
    _wait(tech, lambda d: _buttons(d, cmd.format("clear_fault"))[0][0], "clear disabled again")
    alarms = server.get("/api/v1/alarms", server.tech)["items"]  # type: ignore[attr-defined]
    mine = [a for a in alarms if a.get("resource_id") == f"robot:{robot_id}"]
    assert mine and all(a["state"] == "cleared" for a in mine)


def _poll(check: Callable[[], Any], what: str, timeout_s: float = WAIT_S) -> Any:
    """Poll the API until `check()` is truthy; the timeout only bounds a hang."""
    deadline = time.monotonic() + timeout_s
    while not (found := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)
    return found


def _aisle(server: WcsServer, aisle_id: str = "AS1") -> dict:
    items = server.get("/api/v1/asrs", server.tech)["items"]  # type: ignore[attr-defined]
    return next(a for a in items if a["aisle_id"] == aisle_id)


def _fault_line(driver) -> bool:
    return "FAULT" in driver.find_element("id", "asrs-line").text


def test_technician_resets_a_faulted_crane_from_the_kpis_tab(server: WcsServer, tech) -> None:
    _wait(tech, lambda d: "AS1" in _js(d, "window.wcsMonitor.drawnCranes()"), "the crane drawn")
    armed = server.post("/api/v1/sim/asrs/AS1/fault", server.tech, {"phase": "to_target"})  # type: ignore[attr-defined]
    assert armed.status_code == 200, armed.text
    body = {"kind": "asrs_retrieve", "payload": {"aisle_id": "AS1", "sku": "SKU-0004", "quantity": 1}}
    res = server.post("/api/v1/tasks", server.wms, body)  # type: ignore[attr-defined]
    assert res.status_code == 201, res.text
    task_id = res.json()["id"]
    tech.find_element("css selector", '#tabs button[data-tab="kpis"]').click()
    _wait(tech, _fault_line, "the AS/RS fault line")
    assert _aisle(server)["faulted"] is True
    _wait(tech, lambda d: _js(d, "window.wcsMonitor.drawnCranes()")["AS1"]["fault"], "crane drawn faulted")
    buttons = _buttons(tech, '#asrs-line button[data-reset="AS1"]')
    assert [disabled for disabled, _title in buttons] == [False, False]

    # A viewer sees the same fault, with both resets disabled and the reason.
    viewer = _open(server, server.viewer)  # type: ignore[attr-defined]
    try:
        viewer.find_element("css selector", '#tabs button[data-tab="kpis"]').click()
        _wait(viewer, _fault_line, "the fault line for a viewer")
        buttons = _buttons(viewer, '#asrs-line button[data-reset="AS1"]')
        assert len(buttons) == 2 and all(d and "technician role" in t for d, t in buttons), buttons
    finally:
        viewer.quit()

    _click(tech, '#asrs-line button[data-reset="AS1"][data-cancel="0"]')
    _wait(tech, lambda d: "AS/RS AS1: crane reset" in d.find_element("id", "toast").text, "reset toast")
    assert "cancelled" not in tech.find_element("id", "toast").text
    task = _poll(lambda: (t := server.get(f"/api/v1/tasks/{task_id}", server.wms))["state"]  # type: ignore[attr-defined]
                 in ("done", "failed", "cancelled") and t, "the retrieve task to end")
    assert task["state"] == "done", task
    assert _aisle(server)["faulted"] is False
    _wait(tech, lambda d: not _fault_line(d) and "CR1" in d.find_element("id", "asrs-line").text,
          "the fault line gone")
    assert not tech.find_elements("css selector", "#asrs-line button[data-reset]")
    _wait(tech, lambda d: not _js(d, "window.wcsMonitor.drawnCranes()")["AS1"]["fault"], "crane drawn ok")


def test_malformed_messages_never_blank_the_page(tech) -> None:
    before = _js(tech, "window.wcsMonitor.malformed()")
    for bad in ("null", "42", '{"robots": "x"}', '{"robots": [null, {"id": 5}]}'):
        tech.execute_script(f"window.wcsMonitor.feed('live', {bad})")
    for bad in ("null", '{"events": [null, {"seq": "x"}, {"seq": 1e99, "topic": "alarm"}]}'):
        tech.execute_script(f"window.wcsMonitor.feed('events', {bad})")
    assert _js(tech, "window.wcsMonitor.malformed()") > before
    assert _js(tech, "window.wcsMonitor.lastSeq()") < 10**9, "a malformed seq was taken as real"
    _wait(tech, lambda d: len(_js(d, "window.wcsMonitor.drawnRobots()")) > 0, "robots again")
    assert tech.find_element("id", "map").is_displayed()


def test_server_killed_and_restarted_page_catches_up(server: WcsServer, tech) -> None:
    tech.execute_script("window.__keptAcrossOutage = 'still here'")
    seq_before = _js(tech, "window.wcsMonitor.lastSeq()")
    server.kill()
    _wait(tech, lambda d: d.find_element("id", "banner").is_displayed(), "outage banner")
    assert "reconnecting" in tech.find_element("id", "banner").text
    server.start()
    _wait(tech, lambda d: not d.find_element("id", "banner").is_displayed(), "banner gone")
    assert _js(tech, "window.__keptAcrossOutage") == "still here", "the page reloaded"
    stored_seq = server.get("/api/v1/health", server.tech)["last_seq"]  # type: ignore[attr-defined]
    assert stored_seq > seq_before
    _wait(tech, lambda d: _js(d, "window.wcsMonitor.lastSeq()") >= stored_seq, "caught up")
    before = _js(tech, "window.wcsMonitor.drawnRobots()")
    _wait(tech, lambda d: _js(d, "window.wcsMonitor.drawnRobots()") != before, "live again")
    assert _js(tech, "window.wcsMonitor.outages()") >= 1
    tech.save_screenshot(str(ARTIFACTS / "monitor-after-restart.png"))

