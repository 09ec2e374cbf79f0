"""A throwaway PostgreSQL server from the installed binaries, for tests and benchmarks.

initdb into a temporary directory, listen on a unix socket there only (no TCP port to collide
with), fsync off: fast and disposable, never for data that matters. As root, the server runs as
the `postgres` user the Debian package creates (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

START_TIMEOUT_S = 30.0


def find_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/N/bin with initdb, or the one on PATH; None if absent."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


class ThrowawayPostgres:
    """`with ThrowawayPostgres() as pg: pg.create_database("x") -> URL`."""

    def __init__(
        self, bin_dir: Path | None = None, user: str = "wcs", *, fsync: bool = False
    ) -> None:
        found = bin_dir or find_bin_dir()
        if found is None:
            raise FileNotFoundError(
                "PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb);"
                " run scripts/setup-system.sh"
            )
        self.bin_dir = found
        self.user = user
        self.fsync = fsync  # on for benchmarks that compare durable commits
        self.dir = Path(tempfile.mkdtemp(prefix="wcs-pg-"))
        self._proc: subprocess.Popen[bytes] | None = None
        self._as: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._databases = 0

    def start(self) -> Self:
        data = self.dir / "data"
        subprocess.run(
            [*self._as, str(self.bin_dir / "initdb"), "-D", str(data), "-U", self.user,
             "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"],
            check=True, capture_output=True,
        )
        log = open(self.dir / "server.log", "wb")  # noqa: SIM115 - the server's lifetime
        self._proc = subprocess.Popen(
            [*self._as, str(self.bin_dir / "postgres"), "-D", str(data), "-k", str(self.dir),
             "-c", "listen_addresses=", "-c", f"fsync={'on' if self.fsync else 'off'}",
             "-c", f"full_page_writes={'on' if self.fsync else 'off'}",
             "-c", "max_connections=200"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"postgres exited: {(self.dir / 'server.log').read_text()}")
            ready = subprocess.run(
                [str(self.bin_dir / "pg_isready"), "-h", str(self.dir), "-U", self.user],
                capture_output=True,
                check=False,
            )
            if ready.returncode == 0:
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"postgres did not accept connections within {START_TIMEOUT_S} s")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@/{database}?host={self.dir}"

    def create_database(self, name: str | None = None) -> str:
        """A fresh, empty database; returns its URL."""
        self._databases += 1
        return create_database(self.url(), name or f"wcs_{os.getpid()}_{self._databases}")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()  # smart shutdown would wait for clients; SIGTERM is "fast"
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def create_database(server_url: str, name: str) -> str:
    """CREATE DATABASE `name` on the server of `server_url`; the new database's URL."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    return database_url(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def database_url(server_url: str, name: str) -> str:
    """`server_url` with its database name replaced by `name`."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}"))
