"""A throwaway Debian `mosquitto` broker on a free loopback port (tests and benchmarks)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

from fleet_manager.child_process import die_with_parent, free_loopback_port

MOSQUITTO = "/usr/sbin/mosquitto"


class MosquittoBroker:
    """`with MosquittoBroker() as b:` -> b.host, b.port; the broker dies with the block."""

    def __init__(self, port: int | None = None, exe: str | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_loopback_port()
        self.exe = exe or shutil.which("mosquitto") or MOSQUITTO
        self._dir = Path(tempfile.mkdtemp(prefix="wcs-mosquitto-"))
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 5.0) -> Self:
        conf = self._dir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 10000\n"
            # As root mosquitto would switch to its own user, which clears the parent-death
            # signal (die_with_parent); a throwaway loopback broker needs no such switch.
            + ("user root\n" if os.geteuid() == 0 else "")
        )
        with open(self._dir / "mosquitto.log", "wb") as log:  # the child keeps its own fd
            self._proc = subprocess.Popen(
                [self.exe, "-c", str(conf)],
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - one libc call, no locks
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited at start: {self.log_tail()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on port {self.port} within {timeout_s} s")

    def log_tail(self, n_chars: int = 2000) -> str:
        path = self._dir / "mosquitto.log"
        return path.read_text(errors="replace")[-n_chars:] if path.exists() else ""

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
