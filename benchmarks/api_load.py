"""Sustained order intake over HTTP on loopback, with the simulator running.

Starts `wcs serve` in a subprocess on a free port over a fresh data dir, then drives
POST /api/v1/orders (each with an Idempotency-Key) from concurrent httpx async clients in one
or more client processes. Reports accepted orders/s and p50/p99 latency per variant.
With --database, every variant runs on SQLite and on PostgreSQL, side by side: a
postgresql:// URL names a server where the benchmark may CREATE (and afterwards DROP) one
scratch database per variant; `throwaway` starts a server from the installed binaries (fsync on).

    .venv/bin/python benchmarks/api_load.py [--duration-s 10] [--concurrency 32] [--json]
    .venv/bin/python benchmarks/api_load.py --database throwaway --variants group-commit
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np

from fleet_manager.child_process import free_loopback_port
from fleet_manager.store.pg_throwaway import ThrowawayPostgres, create_database, drop_database

REPO = Path(__file__).resolve().parents[1]


free_port = free_loopback_port


def make_token(data_dir: Path, database: list[str]) -> str:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "fleet_manager.cli",
            "token",
            "create",
            "--role",
            "wms",
            "--name",
            "bench",
            "--data-dir",
            str(data_dir),
            *database,
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    return out.stdout.strip().splitlines()[0]


def stocked_skus() -> list[str]:
    """SKUs of the demo site repeated by stock, so uniform draws follow stock and never run
    a SKU dry within a run (each variant starts from a fresh data dir and full pods)."""
    from fleet_manager.site import default_map_path, load_site

    stock: dict[str, int] = {}
    for pod in load_site(default_map_path()).pods.values():
        for sku, qty in pod.inventory.items():
            stock[sku] = stock.get(sku, 0) + qty
    return [sku for sku, qty in sorted(stock.items()) for _ in range(qty)]


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc), to report cost per order."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(
    data_dir: Path, port: int, env_extra: dict[str, str], extra_args: list[str]
) -> subprocess.Popen:
    env = {**os.environ, **env_extra}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fleet_manager.cli",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--quiet",
            "--speed",
            "1.0",
            *extra_args,
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not come up within 60 s")


async def _worker(
    base: str,  # one API process's URL
    headers: dict[str, str],
    skus: list[str],
    stop_at: float,
    warm_until: float,
    rng: np.random.Generator,
    lat: list[float],
    errors: list[int],
) -> None:
    # One client with one keep-alive connection per worker: httpx's shared pool costs far more
    # CPU per request as it grows, which would measure the client instead of the server.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as c:
        while time.perf_counter() < stop_at:
            body = {"lines": [{"sku": skus[int(rng.integers(len(skus)))], "quantity": 1}]}
            t0 = time.perf_counter()
            r = await c.post(
                "/api/v1/orders", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
            )
            t1 = time.perf_counter()
            if t0 >= warm_until:
                if r.status_code == 201:
                    lat.append(t1 - t0)
                else:
                    errors.append(r.status_code)


async def _client_main(
    ports: list[int],
    token: str,
    concurrency: int,
    warmup_s: float,
    duration_s: float,
    seed: int,
    skus: list[str],
) -> tuple[list[float], list[int], float]:
    headers = {"Authorization": f"Bearer {token}"}
    start = time.perf_counter()
    warm_until, stop_at = start + warmup_s, start + warmup_s + duration_s
    lat: list[float] = []
    errors: list[int] = []
    rng = np.random.default_rng(seed)
    await asyncio.gather(
        *(
            _worker(f"http://127.0.0.1:{ports[(seed + i) % len(ports)]}", headers, skus,
                    stop_at, warm_until, rng, lat, errors)
            for i in range(concurrency)
        )
    )
    return lat, errors, duration_s


def _client_proc(args: tuple) -> tuple[list[float], list[int], float]:
    return asyncio.run(_client_main(*args))


def run_variant(
    name: str,
    env_extra: dict[str, str],
    extra_args: list[str],
    opts: argparse.Namespace,
    database_url: str | None = None,
    api_procs: int = 1,
) -> dict:
    """`api_procs` > 1 (PostgreSQL only): the control plane plus api_procs - 1 `--api-only`
    servers on the same database, the clients' connections spread over all of them."""
    database = ["--database", database_url] if database_url else []
    with tempfile.TemporaryDirectory(prefix="wcs-bench-") as tmp:
        data_dir = Path(tmp)
        token = make_token(data_dir, database)
        ports = [free_port() for _ in range(api_procs)]
        servers = [start_server(data_dir, ports[0], env_extra, [*extra_args, *database])]
        try:
            for i, p in enumerate(ports[1:]):
                servers.append(start_server(data_dir / f"api-{i}", p, env_extra,
                                            [*extra_args, *database, "--api-only"]))
            skus = stocked_skus()
            per_proc = max(1, opts.concurrency // opts.client_procs)
            jobs = [
                (ports, token, per_proc, opts.warmup_s, opts.duration_s, opts.seed + i, skus)
                for i in range(opts.client_procs)
            ]
            cpu0 = sum(cpu_s(p.pid) for p in servers)
            if opts.client_procs == 1:
                results = [_client_proc(jobs[0])]
            else:
                with mp.get_context("spawn").Pool(opts.client_procs) as pool:
                    results = pool.map(_client_proc, jobs)
            server_cpu_s = sum(cpu_s(p.pid) for p in servers) - cpu0
            health = httpx.get(f"http://127.0.0.1:{ports[0]}/api/v1/health").json()
        finally:
            for proc in reversed(servers):
                proc.terminate()
                proc.wait(timeout=30)
    lat = np.array([x for r in results for x in r[0]]) * 1000.0
    errors = [e for r in results for e in r[1]]
    return {
        "variant": name,
        "engine": "postgresql" if database_url else "sqlite",
        "api_procs": api_procs,
        "orders_per_s": round(len(lat) / opts.duration_s, 1),
        "latency_ms_p50": round(float(np.percentile(lat, 50)), 2) if len(lat) else None,
        "latency_ms_p99": round(float(np.percentile(lat, 99)), 2) if len(lat) else None,
        "orders_accepted": len(lat),
        "errors": len(errors),
        "error_statuses": sorted(set(errors)),
        # Warm-up included; divides the server's CPU by every order it answered.
        "server_cpu_ms_per_order": round(
            1000 * server_cpu_s / max(1, len(lat) * (1 + opts.warmup_s / opts.duration_s)), 3
        ),
        "sim_time_s": round(float(health["sim_time_s"]), 1),
    }


# name -> (environment, extra `wcs serve` arguments)
VARIANTS: dict[str, tuple[dict[str, str], list[str]]] = {
    "group-commit": ({}, []),
    "commit-per-request": ({"WCS_MAX_JOBS_PER_COMMIT": "1"}, []),
    "group-commit+fsync": ({}, ["--durable-power-loss"]),
    "commit-per-request+fsync": ({"WCS_MAX_JOBS_PER_COMMIT": "1"}, ["--durable-power-loss"]),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration-s", type=float, default=10.0)
    parser.add_argument("--warmup-s", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=12)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated")
    parser.add_argument(
        "--database",
        default=None,
        help="also run every variant on PostgreSQL: a server URL, or `throwaway`",
    )
    parser.add_argument(
        "--api-procs",
        type=int,
        default=1,
        help="with --database, also run PostgreSQL with this many API processes"
        " (control plane + N-1 --api-only)",
    )
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()
    names = opts.variants.split(",")
    for name in names:
        if name not in VARIANTS:
            print(f"api_load: unknown variant {name!r}", file=sys.stderr)
            return 2
    if opts.database not in (None, "throwaway") and not opts.database.startswith("postgres"):
        print("api_load: --database must be a postgresql:// URL or `throwaway`", file=sys.stderr)
        return 2
    rows = []
    with _postgres(opts.database) as server_url:
        for n, name in enumerate(names):
            env, extra = VARIANTS[name]
            rows.append(run_variant(name, env, extra, opts))
            if server_url is not None:
                for procs in sorted({1, max(1, opts.api_procs)}):
                    scratch = f"wcs_bench_{os.getpid()}_{n}_{procs}"
                    url = create_database(server_url, scratch)
                    try:
                        rows.append(run_variant(name, env, extra, opts, url, procs))
                    finally:
                        drop_database(server_url, scratch)
    summary = {
        "cpus": os.cpu_count(),
        "concurrency": opts.concurrency,
        "client_procs": opts.client_procs,
        "duration_s": opts.duration_s,
        "variants": rows,
        "orders_per_s": rows[0]["orders_per_s"],
        "latency_ms_p50": rows[0]["latency_ms_p50"],
        "latency_ms_p99": rows[0]["latency_ms_p99"],
    }
    if opts.json:
        print(json.dumps(summary))
        return 0
    print(
        f"{'engine':<12}{'API procs':>10}  {'variant':<26}{'orders/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'accepted':>10}{'errors':>8}"
        f"{'server CPU ms/order':>21}"
    )
    for r in rows:
        print(
            f"{r['engine']:<12}{r['api_procs']:>10}  {r['variant']:<26}{r['orders_per_s']:>10}{r['latency_ms_p50']:>9}"
            f"{r['latency_ms_p99']:>9}{r['orders_accepted']:>10}{r['errors']:>8}"
            f"{r['server_cpu_ms_per_order']:>21}"
        )
    print(
        f"({opts.concurrency} concurrent clients in {opts.client_procs} process(es), "
        f"{opts.duration_s:.0f} s after {opts.warmup_s:.0f} s warm-up, {os.cpu_count()} CPUs)"
    )
    return 0


@contextlib.contextmanager
def _postgres(database: str | None) -> Iterator[str | None]:
    """The server URL to make scratch databases on (None: SQLite only)."""
    if database is None:
        yield None
    elif database == "throwaway":
        with ThrowawayPostgres(fsync=True) as server:
            yield server.url()
    else:
        yield database


if __name__ == "__main__":
    sys.exit(main())
