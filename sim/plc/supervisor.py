"""SimPlcSupervisor: keeps a simulated PLC process running beside `wcs run` (the demo floor).

Starts `wcs sim-plc` as a child, watches it from its own thread and starts it again after it
dies, reporting `process_exited` / `process_restarted` through the `report` callback it was
started with (the PLC component turns them into alarms). The runtime's PLC component talks to the
process over Modbus TCP like to any PLC; only this supervisor knows it is simulated.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from fleet_manager.events import Event
from sim.plc.process import READY_TIMEOUT_S, SimPlcProcess

log = logging.getLogger(__name__)
RESTART_AFTER_S = 3.0  # wall time before a dead simulated PLC is started again


class SimPlcSupervisor:
    """`start(report)` returns the PLC's (host, port) once it answers; `stop()` ends it."""

    def __init__(
        self,
        config_path: str | Path,
        map_path: str | Path,
        *,
        workdir: Path | None = None,
        restart_after_s: float = RESTART_AFTER_S,
        items: str = "generated",
    ) -> None:
        extra = ["--map", str(map_path), "--items", items]
        if workdir is not None:
            workdir.mkdir(parents=True, exist_ok=True)
            extra += ["--state-dir", str(workdir / "state"), "--events-file"]
            extra += [str(workdir / "events.jsonl")]
        self.plc = SimPlcProcess(
            config_path,
            extra=extra,
            stderr_path=workdir / "sim-plc.stderr" if workdir else None,
            detach=True,
        )
        self.restart_after_s = restart_after_s
        self._report: Callable[[Event], None] = lambda _e: None
        self._stopping = threading.Event()
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._thread: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self.plc.proc.pid if self.plc.proc is not None else None

    def start(self, report: Callable[[Event], None]) -> tuple[str, int]:
        self._report = report
        self._thread = threading.Thread(target=self._supervise, name="wcs-plc-supervisor",
                                        daemon=True)
        self._thread.start()
        self._started.wait()
        if self._start_error is not None:
            raise RuntimeError(f"cannot start the simulated PLC: {self._start_error}")
        assert self.plc.port is not None
        return "127.0.0.1", self.plc.port

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:  # it may be restarting the PLC just now
            self._thread.join(READY_TIMEOUT_S + 1.0)
        self.plc.stop()

    def _supervise(self) -> None:
        plc = self.plc
        try:
            plc.start()
        except Exception as exc:  # noqa: BLE001 - reported by start() on the caller's thread
            self._start_error = exc
        self._started.set()
        if self._start_error is not None:
            return
        while not self._stopping.wait(0.2):
            if plc.proc is None or plc.proc.poll() is None:
                continue
            code = plc.proc.returncode
            self._report(Event("alarm", "process_exited", 0.0, {"exit_code": code}))
            if self._stopping.wait(self.restart_after_s):
                return
            try:
                plc.restart()
                self._report(Event("alarm", "process_restarted", 0.0, {"pid": plc.proc.pid}))
            except Exception as exc:  # noqa: BLE001 - tried again after the next pause
                log.warning("simulated PLC did not restart: %s", exc)
