"""Test helper: `wcs sim-equipment` + `wcs run --plant` on loopback, each its own process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from test_api_helpers import wait_for as wait_until  # noqa: F401  (the one poll helper)

from fleet_manager.child_process import free_loopback_port

REPO = Path(__file__).resolve().parents[1]
LOOPBACK = REPO / "config" / "plants" / "loopback.yaml"
WCS = [sys.executable, "-m", "fleet_manager.cli"]


class PlantFloor:
    """Simulated equipment where loopback.yaml says (ports from the environment), and the
    control plane driving it over MQTT and Modbus TCP on the wall clock."""

    def __init__(self, tmp: Path, *, amr_count: int = 4, time_scale: float = 3.0) -> None:
        self.tmp = tmp
        self.env = {
            **os.environ,
            "WCS_MQTT_URL": f"mqtt://127.0.0.1:{free_loopback_port()}",
            "WCS_SORTER_PLC": f"127.0.0.1:{free_loopback_port()}",
            "WCS_CRANE_PLC": f"127.0.0.1:{free_loopback_port()}",
            "WCS_AMR_COUNT": str(amr_count),
        }
        self.time_scale = time_scale
        self.data_dir = tmp / "data"
        self.equipment: subprocess.Popen[str] | None = None
        self.pids: dict[str, int] = {}
        self.equipment_lines: list[str] = []
        self.wcs: subprocess.Popen[str] | None = None
        self.base = ""
        self.tokens: dict[str, str] = {}

    # ---- processes -------------------------------------------------------------------------
    def start_equipment(self) -> None:
        self.equipment = subprocess.Popen(
            [*WCS, "sim-equipment", str(LOOPBACK), "--workdir", str(self.tmp / "equipment"),
             "--time-scale", str(self.time_scale), "--restart-after-s", "2"],
            cwd=REPO, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        assert self.equipment.stdout is not None
        for line in self.equipment.stdout:
            self.equipment_lines.append(line)
            if " pid " in line:
                name, pid = line.split("sim-equipment: ")[1].split(" pid ")
                self.pids[name.strip()] = int(pid)
            if "ready" in line:
                break
        else:
            raise AssertionError("sim-equipment ended early:\n" + "".join(self.equipment_lines))
        import threading

        threading.Thread(target=self._drain_equipment, daemon=True).start()

    def _drain_equipment(self) -> None:
        assert self.equipment is not None and self.equipment.stdout is not None
        for line in self.equipment.stdout:
            self.equipment_lines.append(line)
            if " restarted, pid " in line:
                name, pid = line.split("sim-equipment: ")[1].split(" restarted, pid ")
                self.pids[name.strip()] = int(pid)

    def start_wcs(self) -> None:
        self.wcs = subprocess.Popen(
            [*WCS, "run", "--plant", str(LOOPBACK), "--port", "0", "--quiet",
             "--data-dir", str(self.data_dir)],
            cwd=REPO, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert self.wcs.stdout is not None
        for line in self.wcs.stdout:
            if line.startswith("monitor:"):
                self.base = line.split("API: ")[1].split("/api/v1/")[0]
                break
        else:
            err = self.wcs.stderr.read() if self.wcs.stderr else ""
            raise AssertionError(f"wcs run --plant did not start: {err}")
        rows = (self.data_dir / "first-run-tokens.txt").read_text().split("\n")
        self.tokens = {role: tok for role, tok in (r.split() for r in rows if r.strip())}

    def kill_wcs(self) -> None:
        assert self.wcs is not None
        self.wcs.send_signal(signal.SIGKILL)
        self.wcs.wait(10)

    def stop(self) -> None:
        for proc in (self.wcs, self.equipment):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    # ---- API ----------------------------------------------------------------------------------
    def client(self, role: str = "wms") -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=10.0,
                            headers={"Authorization": f"Bearer {self.tokens[role]}"})

    def get(self, path: str, role: str = "technician") -> Any:
        with self.client(role) as c:
            r = c.get(path)
        r.raise_for_status()
        return r.json()
