"""Start the simulated PLC as a real process (and a socat virtual serial pair) for tests/benchmarks."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Self

from fleet_manager.child_process import free_loopback_port

READY_TIMEOUT_S = 20.0


class SimPlcProcess:
    """`wcs sim-plc` in a subprocess: start (waits for READY), kill, restart with the same args."""

    def __init__(
        self,
        config: str | Path,
        *,
        port: int | None = None,
        rtu: str | None = None,
        extra: list[str] | None = None,
        workdir: Path | None = None,
        stderr_path: Path | None = None,
        detach: bool = False,
    ) -> None:
        self.config = str(config)
        self.port = port if port is not None or rtu else free_loopback_port()
        self.rtu = rtu
        self.extra = list(extra or [])
        self.workdir = workdir
        self.proc: subprocess.Popen[str] | None = None
        self.stderr_path = stderr_path or ((workdir / "sim-plc.stderr") if workdir else None)
        # detach: own session (a terminal's Ctrl-C reaches only the parent, which stops it in
        # order), and the child exits by itself when this process dies (no orphan after kill -9).
        self.detach = detach

    @property
    def events_file(self) -> Path | None:
        return self.workdir / "events.jsonl" if self.workdir else None

    @property
    def stats_file(self) -> Path | None:
        return self.workdir / "stats.json" if self.workdir else None

    def command(self) -> list[str]:
        # The module itself (same command as `wcs sim-plc`) starts faster than the full CLI.
        cmd = [sys.executable, "-m", "sim.plc.cli", "--config", self.config]
        cmd += ["--rtu", self.rtu] if self.rtu else ["--port", str(self.port)]
        if self.workdir:
            cmd += [
                "--state-dir",
                str(self.workdir / "state"),
                "--events-file",
                str(self.events_file),
                "--stats-file",
                str(self.stats_file),
            ]
        if self.detach:
            cmd += ["--exit-with-parent", str(os.getpid())]
        return cmd + self.extra

    def start(self) -> SimPlcProcess:
        stderr = self.stderr_path.open("a") if self.stderr_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=self.detach,
        )
        if stderr is not subprocess.DEVNULL:
            stderr.close()  # the child has its own copy; one handle per restart would leak
        deadline = time.monotonic() + READY_TIMEOUT_S
        line = ""
        while (remaining := deadline - time.monotonic()) > 0 and self.proc.stdout:
            # select: never block past the deadline on a process that neither speaks nor exits
            ready, _, _ = select.select([self.proc.stdout], [], [], remaining)
            if not ready:
                break
            line = self.proc.stdout.readline()
            if line.startswith("READY") or not line:
                break
        if not line.startswith("READY"):
            self.stop()
            raise RuntimeError(f"simulated PLC did not start: {self.command()}")
        return self

    def kill(self) -> None:
        """SIGKILL: the PLC dies without writing anything more (a power cut)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()

    def restart(self) -> SimPlcProcess:
        self.stop()
        return self.start()

    def events(self) -> list[dict[str, Any]]:
        if not self.events_file or not self.events_file.exists():
            return []
        return [json.loads(x) for x in self.events_file.read_text().splitlines() if x.strip()]

    def stats(self) -> dict[str, Any]:
        if not self.stats_file or not self.stats_file.exists():
            return {}
        return json.loads(self.stats_file.read_text())

    def command_log(self) -> list[dict[str, Any]]:
        if not self.workdir:
            return []
        logs = sorted((self.workdir / "state").glob("*-commands.jsonl"))
        return [json.loads(x) for p in logs for x in p.read_text().splitlines() if x.strip()]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class VirtualSerialPair:
    """`socat -d -d pty,raw,echo=0 pty,raw,echo=0`: two linked pseudo-terminals (a null modem)."""

    def __init__(self) -> None:
        if not shutil.which("socat"):
            raise RuntimeError("socat not installed (Debian package socat)")
        self.proc: subprocess.Popen[str] | None = None
        self.ends: tuple[str, str] = ("", "")

    def __enter__(self) -> Self:
        self.proc = subprocess.Popen(
            ["socat", "-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"],
            stderr=subprocess.PIPE,
            text=True,
        )
        found: list[str] = []
        deadline = time.monotonic() + 5.0
        while len(found) < 2 and time.monotonic() < deadline and self.proc.stderr:
            line = self.proc.stderr.readline()
            found += re.findall(r"PTY is (\S+)", line)
        if len(found) < 2:
            self.__exit__()
            raise RuntimeError("socat did not report two PTYs")
        self.ends = (found[0], found[1])
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
