"""The monitor shows the sorter lanes' PLC state as unknown while the PLC hangs (SIGSTOP)."""

from __future__ import annotations

import os
import signal

import pytest
from browser import WcsServer, browser_missing
from test_monitor_browser import _open, _wait
from test_runtime_plc import _plc_pids

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing())),
    pytest.mark.timeout(180),
]

ROW = '#lane-table tr[data-lane-row="L03"]'


def _row_text(driver) -> str:
    return driver.execute_script(
        "const r = document.querySelector(arguments[0]); return r ? r.innerText : ''", ROW
    )


def test_lane_table_says_unknown_while_the_plc_hangs(tmp_path) -> None:
    server = WcsServer(tmp_path, extra=("--speed", "4"))
    server.start()
    pid = None
    driver = None
    try:
        viewer = server.token("viewer", "vic")
        pid = _plc_pids(tmp_path)[0]
        driver = _open(server, viewer)
        driver.find_element("css selector", '#tabs button[data-tab="lanes"]').click()
        _wait(driver, lambda d: "/30" in _row_text(d) and "unknown" not in _row_text(d),
              "a known fill", 60)
        os.kill(pid, signal.SIGSTOP)
        _wait(driver, lambda d: "unknown/30" in _row_text(d), "unknown fill", 20)
        assert "PLC unknown" in _row_text(driver)
        assert driver.execute_script(
            "return document.querySelector(arguments[0]).classList.contains('unknown-state')", ROW
        )
        os.kill(pid, signal.SIGCONT)
        pid = None
        _wait(driver, lambda d: "unknown" not in _row_text(d) and "/30" in _row_text(d),
              "the fill again", 30)
    finally:
        if pid is not None:
            os.kill(pid, signal.SIGCONT)
        if driver is not None:
            driver.quit()
        server.stop()
