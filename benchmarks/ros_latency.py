"""ROS 2 latency: ExecuteTask submit -> first feedback, SubmitTask round trip, fleet_state rate,
and a burst of concurrent SubmitTask / CancelTask calls (all answered? at what rate?).

Starts the fleet process (simulator + dispatcher nodes, as `wcs ros-up` does) on the demo map
for each robot count, and a client process in the ROS venv that measures over real DDS.
Run: .venv/bin/python benchmarks/ros_latency.py [--robots 32,100] [--goals 40] [--burst 200]
     [--json]
This file is also the client: the ROS venv's python runs it with --client.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))


def percentile_ms(values_s: list[float], q: float) -> float | None:
    if not values_s:
        return None
    ordered = sorted(values_s)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return round(ordered[index] * 1000, 3)


# ---- client (runs in the ROS venv) -------------------------------------------------------------
def client_main(goals: int, window_s: float, burst: int) -> dict[str, Any]:
    import rclpy
    from rclpy.action import ActionClient
    from rclpy.node import Node
    from wcs_interfaces.action import ExecuteTask
    from wcs_interfaces.msg import FleetState
    from wcs_interfaces.srv import CancelTask, SubmitTask
    from wcs_ros.qos import FLEET_STATE_QOS, SERVICE_QOS

    rclpy.init()
    node = Node("wcs_bench_client")
    arrivals: list[float] = []
    robots: list[str] = []

    def on_fleet(msg: FleetState) -> None:
        arrivals.append(time.perf_counter())
        if not robots:
            robots.extend(r.id for r in msg.robots)

    node.create_subscription(FleetState, "fleet_state", on_fleet, FLEET_STATE_QOS)
    action = ActionClient(node, ExecuteTask, "execute_task")
    # A client sending many calls at once needs the servers' queue depth for its replies too.
    submit = node.create_client(SubmitTask, "submit_task", qos_profile=SERVICE_QOS)
    cancel = node.create_client(CancelTask, "cancel_task", qos_profile=SERVICE_QOS)
    assert action.wait_for_server(timeout_sec=120) and submit.wait_for_service(timeout_sec=60)

    def spin_until(done: Any, timeout_s: float = 30.0) -> bool:
        deadline = time.perf_counter() + timeout_s
        while not done() and time.perf_counter() < deadline:
            rclpy.spin_once(node, timeout_sec=0.01)
        return bool(done())

    spin_until(lambda: robots, 60.0)
    start, n0 = time.perf_counter(), len(arrivals)
    spin_until(lambda: False, window_s)
    rate_hz = (len(arrivals) - n0) / (time.perf_counter() - start)
    gaps = [b - a for a, b in zip(arrivals[n0:], arrivals[n0 + 1:], strict=False)]

    feedback_s: list[float] = []
    for i in range(goals):
        first: list[float] = []
        goal = ExecuteTask.Goal(kind="park", payload_json=json.dumps({"robot": robots[i % 8]}))
        sent = time.perf_counter()
        future = action.send_goal_async(
            goal, feedback_callback=lambda _m, f=first: f or f.append(time.perf_counter()))
        if spin_until(lambda f=first: f) and future.done() and future.result().accepted:
            feedback_s.append(first[0] - sent)
            cancelled = future.result().cancel_goal_async()
            spin_until(cancelled.done, 10.0)

    rtt_s: list[float] = []
    for i in range(goals):
        sent = time.perf_counter()
        reply = submit.call_async(SubmitTask.Request(
            kind="park", payload_json=json.dumps({"robot": robots[i % 8]})))
        if spin_until(reply.done) and reply.result().accepted:
            rtt_s.append(time.perf_counter() - sent)
            done = cancel.call_async(CancelTask.Request(task_id=reply.result().task_id))
            spin_until(done.done, 10.0)

    def run_burst(client: Any, requests: list[Any]) -> tuple[list[Any], float, list[float]]:
        """Send every request at once; replies, wall time until the last, per-call latency."""
        done_at: dict[int, float] = {}
        start = time.perf_counter()
        futures = []
        for i, request in enumerate(requests):
            future = client.call_async(request)
            future.add_done_callback(lambda _f, i=i: done_at.setdefault(i, time.perf_counter()))
            futures.append(future)
        spin_until(lambda: all(f.done() for f in futures), 120.0)
        wall_s = time.perf_counter() - start
        return ([f.result() for f in futures if f.done()], wall_s,
                [t - start for t in done_at.values()])

    replies, burst_s, burst_lat = run_burst(submit, [SubmitTask.Request(
        kind="park", payload_json=json.dumps({"robot": robots[i % len(robots)]}))
        for i in range(burst)])
    accepted = [r.task_id for r in replies if r.accepted]
    cancels, cancel_s, _ = run_burst(cancel, [CancelTask.Request(task_id=t) for t in accepted])
    node.destroy_node()
    rclpy.try_shutdown()
    return {
        "robots": len(robots),
        "fleet_state_hz": round(rate_hz, 2),
        "fleet_state_gap_ms_p99": percentile_ms(gaps, 99),
        "first_feedback_ms_p50": percentile_ms(feedback_s, 50),
        "first_feedback_ms_p99": percentile_ms(feedback_s, 99),
        "submit_rtt_ms_p50": percentile_ms(rtt_s, 50),
        "submit_rtt_ms_p99": percentile_ms(rtt_s, 99),
        "goals_measured": len(feedback_s),
        "burst_calls": burst,
        "burst_answered": len(replies),
        "burst_accepted": len(accepted),
        "burst_submit_per_s": round(len(replies) / burst_s, 1) if burst_s else None,
        "burst_reply_ms_p50": percentile_ms(burst_lat, 50),
        "burst_reply_ms_max": percentile_ms(burst_lat, 100),
        "burst_cancel_answered": len(cancels),
        "burst_cancel_per_s": round(len(cancels) / cancel_s, 1) if cancel_s else None,
    }


# ---- driver (runs in the project venv; no rclpy) -----------------------------------------------
def run_variant(robots: int, goals: int, window_s: float, period_s: float,
                domain: int, burst: int) -> dict[str, Any]:
    import yaml

    from sim.ros_up_cli import PROCESSES, RosPaths, process_command, ros_environment

    paths = RosPaths.default()
    doc = yaml.safe_load(paths.params_file.read_text())
    sim_params = doc["wcs_simulator"]["ros__parameters"]
    sim_params.update(robots=robots, fleet_state_period_s=period_s)
    with tempfile.TemporaryDirectory() as tmp:
        params = Path(tmp) / "params.yaml"
        params.write_text(yaml.safe_dump(doc))
        env = ros_environment(paths, domain)
        fleet_proc = next(p for p in PROCESSES if p.name == "fleet")
        fleet = subprocess.Popen(process_command(paths, fleet_proc, params), env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            client = subprocess.run(
                [str(paths.python), __file__, "--client", "--goals", str(goals),
                 "--window-s", str(window_s), "--burst", str(burst)],
                env=env, capture_output=True, text=True, timeout=900, check=False)
            if client.returncode != 0:
                raise RuntimeError(f"client failed: {client.stderr[-2000:]}")
            result = json.loads(client.stdout.strip().splitlines()[-1])
        finally:
            fleet.send_signal(signal.SIGINT)
            fleet.communicate(timeout=30)
    result["fleet_state_target_hz"] = round(1.0 / period_s, 2)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--robots", default="32,100", help="robot counts to compare")
    parser.add_argument("--goals", type=int, default=40, help="goals / requests per variant")
    parser.add_argument("--window-s", type=float, default=5.0, help="fleet_state rate window")
    parser.add_argument("--period-s", type=float, default=0.1, help="fleet_state_period_s")
    parser.add_argument("--burst", type=int, default=200, help="concurrent SubmitTask calls")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        print(json.dumps(client_main(args.goals, args.window_s, args.burst)))
        return 0

    from sim.ros_up_cli import RosPaths

    if problem := RosPaths.default().missing():
        print(f"ros_latency: {problem}", file=sys.stderr)
        return 2
    counts = [int(n) for n in args.robots.split(",")]
    domain = 1 + (os.getpid() + 25) % 100
    results = [run_variant(n, args.goals, args.window_s, args.period_s, domain, args.burst)
               for n in counts]
    if not args.json:
        keys = [k for k in results[0] if k != "robots"]
        print(f"{'metric':28}" + "".join(f"{r['robots']:>12} robots" for r in results))
        for key in keys:
            print(f"{key:28}" + "".join(f"{r[key]!s:>19}" for r in results))
    summary: dict[str, Any] = {}
    for r in results:
        for key, value in r.items():
            if key != "robots":
                summary[f"{key}_{r['robots']}_robots"] = value
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
