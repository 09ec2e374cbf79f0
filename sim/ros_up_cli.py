"""`wcs ros-up`: start the ROS 2 nodes of wcs_bringup as processes (no `ros2 launch` here).

launch/launch_ros do not install from PyPI, so this starts the same executables with the same
params file the launch files use, in the ROS venv built by scripts/setup-ros.sh. It imports no
rclpy: it only builds the environment and supervises the processes. A node that exits on its
own is restarted after a back-off (the other nodes keep running); one that keeps exiting, or
that exits with code 2 (bad parameters), is given up alone.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXIT_BAD_INPUT = 2
REPO_ROOT = Path(__file__).resolve().parents[1]
STOP_TIMEOUT_S = 10.0
RESTART_DELAY_S = 1.0  # first restart after this; doubles with each restart in the window
RESTART_WINDOW_S = 60.0
MAX_RESTARTS = 5  # exits within RESTART_WINDOW_S before ros-up gives up on that node


@dataclass(frozen=True)
class RosProcess:
    """One process of the system: what launch starts as `executable` of package wcs_ros."""

    name: str
    executable: str  # console script name in setup.py (what the launch files name)
    module: str  # the same entry point as a module, run with the venv's python
    extra_args: tuple[str, ...] = ()


# Same executables as wcs_bringup/launch/*.launch.py (tests/test_ros_workspace.py checks this).
# The PLC bridge is a lifecycle node: launch walks it to active with events; here it is told
# to do that itself (autostart), the one difference from the launch files.
PROCESSES: tuple[RosProcess, ...] = (
    RosProcess("fleet", "fleet", "wcs_ros.fleet_main"),
    RosProcess("plc_bridge", "plc_bridge", "wcs_ros.plc_bridge_node",
               ("-p", "autostart:=true")),
    RosProcess("asrs", "asrs", "wcs_ros.asrs_node"),
)


@dataclass(frozen=True)
class RosPaths:
    """Where setup-ros.sh put the ROS venv and the built workspace."""

    venv: Path
    workspace: Path

    @classmethod
    def default(cls) -> RosPaths:
        venv = Path(os.environ.get("WCS_ROS_VENV", REPO_ROOT / ".ros-venv"))
        return cls(venv, REPO_ROOT / "ros_ws")

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def install(self) -> Path:
        return self.workspace / "install"

    @property
    def params_file(self) -> Path:
        return self.workspace / "src" / "wcs_bringup" / "config" / "demo.yaml"

    def missing(self) -> str | None:
        """Why the ROS environment cannot be used, or None when it is ready."""
        if not self.python.exists():
            return f"ROS venv not found at {self.venv} (run scripts/setup-ros.sh)"
        if not (self.install / "share" / "wcs_interfaces").is_dir():
            return f"ROS workspace not built at {self.install} (run scripts/setup-ros.sh)"
        return None


def ros_environment(paths: RosPaths, domain_id: int | None = None,
                    base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a process of the ROS venv that uses the built workspace."""
    env = dict(os.environ if base is None else base)
    # Let the child's ros-wheels-bootstrapper compute its own library path.
    env.pop("_ROS_WHEELS_BOOTSTRAP_COMPLETE", None)
    install = paths.install

    def prepend(name: str, *values: str) -> None:
        env[name] = os.pathsep.join([*values, *filter(None, [env.get(name, "")])])

    prepend("LD_LIBRARY_PATH", str(install / "lib"))
    prepend("PYTHONPATH", str(install / "lib" / "python3.11" / "site-packages"))
    prepend("AMENT_PREFIX_PATH", str(install), str(paths.venv))
    env.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")  # never leave this machine
    if domain_id is not None:
        env["ROS_DOMAIN_ID"] = str(domain_id)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def process_command(paths: RosPaths, proc: RosProcess, params_file: Path) -> list[str]:
    return [str(paths.python), "-m", proc.module, "--ros-args", "--params-file",
            str(params_file), *proc.extra_args]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ros-up", help="start the ROS 2 nodes (fleet, PLC bridge, AS/RS) as processes")
    parser.add_argument("--params", help="ros__parameters YAML (default: wcs_bringup demo.yaml)")
    parser.add_argument("--only", help="comma-separated subset of: "
                        + ", ".join(p.name for p in PROCESSES))
    parser.add_argument("--domain-id", type=int, help="ROS_DOMAIN_ID for every process")
    parser.set_defaults(func=run)


def _select(only: str | None) -> list[RosProcess] | str:
    if not only:
        return list(PROCESSES)
    by_name = {p.name: p for p in PROCESSES}
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in by_name]
    if unknown or not names:
        return f"ros-up: --only: unknown process {', '.join(unknown) or only!r} " \
               f"(choose from {', '.join(by_name)})"
    return [by_name[n] for n in names]


def run(args: argparse.Namespace) -> int:
    paths = RosPaths.default()
    selected = _select(args.only)
    if isinstance(selected, str):
        print(selected, file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.domain_id is not None and not 0 <= args.domain_id <= 232:
        print(f"ros-up: --domain-id {args.domain_id} is outside 0..232", file=sys.stderr)
        return EXIT_BAD_INPUT
    params = Path(args.params) if args.params else paths.params_file
    if not params.is_file():
        print(f"ros-up: params file not found: {params}", file=sys.stderr)
        return EXIT_BAD_INPUT
    problem = paths.missing()
    if problem:
        print(f"ros-up: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return supervise(paths, selected, params, args.domain_id)


@dataclass
class _Child:
    """One supervised process: its spec, the running Popen, and its recent restarts."""

    proc: RosProcess
    popen: subprocess.Popen[bytes] | None = None
    restarts_s: list[float] = field(default_factory=list)  # monotonic times of restarts
    restart_at_s: float | None = None  # a restart is due then
    gave_up: bool = False


def _start(child: _Child, paths: RosPaths, params: Path, env: dict[str, str]) -> None:
    # Own session: a terminal's Ctrl-C reaches us once, and we stop children in order.
    child.popen = subprocess.Popen(process_command(paths, child.proc, params), env=env,
                                   start_new_session=True)


def _on_exit(child: _Child, now_s: float) -> None:
    """A child ended on its own: restart it (with back-off), or give up on it alone."""
    assert child.popen is not None
    code = child.popen.returncode
    name = child.proc.name
    child.restarts_s = [t for t in child.restarts_s if now_s - t < RESTART_WINDOW_S]
    if code == EXIT_BAD_INPUT:
        print(f"ros-up: {name} exited with code {code} (bad parameters or config); "
              "not restarting it", file=sys.stderr)
        child.gave_up = True
    elif len(child.restarts_s) >= MAX_RESTARTS:
        print(f"ros-up: {name} exited with code {code} after {MAX_RESTARTS} restarts within "
              f"{RESTART_WINDOW_S:.0f} s; giving up on it (the other nodes keep running)",
              file=sys.stderr)
        child.gave_up = True
    else:
        delay_s = RESTART_DELAY_S * 2 ** len(child.restarts_s)
        print(f"ros-up: {name} exited with code {code}; restarting it in {delay_s:.0f} s",
              file=sys.stderr)
        child.restart_at_s = now_s + delay_s
    child.popen = None


def supervise(paths: RosPaths, selected: list[RosProcess], params: Path,
              domain_id: int | None) -> int:
    """Start every process and keep it running: a node that exits is restarted on its own
    (the others go on); stop all on SIGINT/SIGTERM. 1 when a node had to be given up."""
    env = ros_environment(paths, domain_id)
    stopping = False

    def on_signal(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    children = [_Child(proc) for proc in selected]
    try:
        for child in children:
            _start(child, paths, params, env)
            assert child.popen is not None
            print(f"ros-up: started {child.proc.name} (pid {child.popen.pid})", flush=True)
        print("ros-up: running; Ctrl-C stops every node", flush=True)
        while not stopping:
            now_s = time.monotonic()
            for child in children:
                if child.popen is not None and child.popen.poll() is not None:
                    _on_exit(child, now_s)
                elif child.restart_at_s is not None and now_s >= child.restart_at_s:
                    child.restart_at_s = None
                    child.restarts_s.append(now_s)
                    _start(child, paths, params, env)
                    assert child.popen is not None
                    print(f"ros-up: restarted {child.proc.name} (pid {child.popen.pid})",
                          flush=True)
            if all(c.gave_up for c in children):
                print("ros-up: no node left running", file=sys.stderr)
                break
            time.sleep(0.1)
    finally:
        running = {c.proc.name: c.popen for c in children if c.popen is not None}
        clean = _stop_all(running)
        for s, handler in old.items():
            signal.signal(s, handler)
        print("ros-up: stopped", flush=True)
    gave_up = any(c.gave_up for c in children)
    return 0 if clean and not gave_up else 1


def _stop_all(children: dict[str, subprocess.Popen[bytes]]) -> bool:
    """SIGINT (the nodes' clean shutdown path), then SIGKILL after STOP_TIMEOUT_S.

    True when every process that was still running exited with code 0.
    """
    running = {name for name, child in children.items() if child.poll() is None}
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for name, child in children.items():
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"ros-up: {name} did not stop in {STOP_TIMEOUT_S:.0f} s; killing it",
                  file=sys.stderr)
            child.kill()
            child.wait()
    unclean = [n for n in running if children[n].returncode != 0]
    for name in unclean:
        print(f"ros-up: {name} stopped with code {children[name].returncode}", file=sys.stderr)
    return not unclean
