"""Monitor load: frames/s drawn in headless Chromium and stream bytes/s, at 300 and 1,000 robots.

Each robot count gets a generated goods-to-person site (sim.site_gen) written as a YAML map and a
real `wcs run --map ...` process on loopback. While the page draws, two Python WebSocket clients
count what the server pushes on /api/v1/live (fleet snapshots) and /api/v1/events (durable events).

    .venv/bin/python benchmarks/monitor_load.py [--robots 300 1000] [--seconds 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the Chromium setup lives with the browser tests

from browser import CHROMEDRIVER, CHROMIUM, chromium_driver, free_port

WCS = REPO / ".venv" / "bin" / "wcs"
# Site size per robot count: enough aisle cells that robots are not packed nose to tail.
SITES = {
    300: {"blocks_x": 10, "blocks_y": 8, "stations": 6, "chargers": 12},
    1000: {"blocks_x": 18, "blocks_y": 16, "stations": 10, "chargers": 24},
}


@dataclass
class Result:
    robots: int
    frames_per_s: float
    draw_ms_per_frame: float
    page_snapshots_per_s: float
    snapshot_handling_ms: float
    live_messages_per_s: float
    live_bytes_per_s: float
    live_bytes_per_snapshot: float
    events_per_s: float
    events_bytes_per_s: float


def _site_doc(robots: int) -> dict:
    from sim.site_gen import generate_document

    size = SITES.get(robots) or SITES[1000 if robots > 300 else 300]
    return generate_document(
        block_len=6, queue_len=4, robots=robots, skus=400, seed=1, name=f"load-{robots}", **size
    )


def _start_server(workdir: Path, robots: int, speed: float) -> tuple[subprocess.Popen, int, str]:
    map_path = workdir / f"load-{robots}.yaml"
    map_path.write_text(yaml.safe_dump(_site_doc(robots), sort_keys=False))
    port = free_port()
    args = [str(WCS), "run", "--map", str(map_path), "--port", str(port), "--data-dir",
            str(workdir), "--speed", str(speed), "--orders-per-h", str(3 * robots), "--quiet"]
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"monitor_load: wcs run exited: {(workdir / 'server.log').read_text()[-500:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    tokens = dict(line.split() for line in (workdir / "first-run-tokens.txt").read_text().splitlines())
    return proc, port, tokens["viewer"]


def _count_ws(port: int, path: str, token: str, seconds: float, out: dict[str, float]) -> None:
    """Bytes, messages and events received on one WebSocket for `seconds`."""
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=10) as ws:
        ws.send(json.dumps({"token": token}))
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                text = ws.recv(timeout=left)
            except TimeoutError:
                break
            out["bytes"] += len(text.encode() if isinstance(text, str) else text)
            out["messages"] += 1
            if path.endswith("/events"):
                out["events"] += len(json.loads(text).get("events", []))


def _wait(driver, script: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not driver.execute_script(f"return {script}"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"page never satisfied: {script}")
        time.sleep(0.2)


def measure(robots: int, seconds: float, speed: float, shots: Path | None = None) -> Result:
    workdir = Path(tempfile.mkdtemp(prefix=f"wcs-monitor-load-{robots}-"))
    proc, port, token = _start_server(workdir, robots, speed)
    driver = None
    try:
        driver = chromium_driver("wcs-bench-")
        driver.get(f"http://127.0.0.1:{port}/monitor/")
        driver.execute_script("sessionStorage.setItem('wcs.token', arguments[0])", token)
        driver.get(f"http://127.0.0.1:{port}/monitor/")
        _wait(driver, "window.wcsMonitor && window.wcsMonitor.connected()")
        _wait(driver, f"Object.keys(window.wcsMonitor.drawnRobots()).length === {robots}")
        time.sleep(2.0)  # settle: static layer built, first tables rendered
        counts = {p: {"bytes": 0.0, "messages": 0.0, "events": 0.0} for p in ("live", "events")}
        threads = [
            threading.Thread(target=_count_ws, args=(port, f"/api/v1/{p}", token, seconds, counts[p]))
            for p in counts
        ]
        before = driver.execute_script("return window.wcsMonitor.loadStats()")
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        after = driver.execute_script("return window.wcsMonitor.loadStats()")
        wall = time.monotonic() - t0
        if shots is not None:
            shots.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(shots / f"monitor-load-{robots}.png"))
    finally:
        if driver is not None:
            driver.quit()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    frames = after["frames"] - before["frames"]
    snaps = after["snapshots"] - before["snapshots"]
    live, events = counts["live"], counts["events"]
    return Result(
        robots=robots,
        frames_per_s=round(frames / wall, 1),
        draw_ms_per_frame=round((after["draw_ms"] - before["draw_ms"]) / max(1, frames), 2),
        page_snapshots_per_s=round(snaps / wall, 2),
        snapshot_handling_ms=round((after["snapshot_ms"] - before["snapshot_ms"]) / max(1, snaps), 2),
        live_messages_per_s=round(live["messages"] / seconds, 2),
        live_bytes_per_s=round(live["bytes"] / seconds),
        live_bytes_per_snapshot=round(live["bytes"] / max(1, live["messages"])),
        events_per_s=round(events["events"] / seconds, 1),
        events_bytes_per_s=round(events["bytes"] / seconds),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--robots", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring window per run")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated s per wall s")
    parser.add_argument("--screenshots", type=Path, default=None, help="save page shots here")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.robots) or args.seconds <= 0:
        print("monitor_load: --robots must be >= 1 and --seconds > 0", file=sys.stderr)
        return 2
    for path, what in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromedriver"), (WCS, "wcs")):
        if not os.path.exists(path):
            print(f"monitor_load: {what} not found at {path}", file=sys.stderr)
            return 2
    results = [measure(n, args.seconds, args.speed, args.screenshots) for n in args.robots]
    rows = [asdict(r) for r in results]
    keys = [k for k in rows[0] if k != "robots"]
    print(f"{'metric':<24}" + "".join(f"{r['robots']:>12} robots" for r in rows))
    for key in keys:
        print(f"{key:<24}" + "".join(f"{r[key]:>19}" for r in rows))
    if args.json:
        print(json.dumps({"seconds": args.seconds, "speed": args.speed,
                          "runs": {f"robots_{r['robots']}": r for r in rows}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
