"""`wcs run` (a plant's equipment, or the simulated demo floor, + API + monitor) and `wcs serve`.

Without `--plant` the equipment is the simulated demo floor, a plug-in from outside the control
plane (`wcs.equipment` entry point "demo"); with it, every device named in the plant file.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import socket
import sys
import threading
from pathlib import Path

from fleet_manager.site import MapError, default_map_path, load_site
from fleet_manager.store.open import add_database_option

EXIT_BAD_INPUT = 2
FIRST_RUN_FILE = "first-run-tokens.txt"
STATUS_EVERY_S = 5.0


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run",
        help="drive a plant file's equipment (--plant), or the simulated demo warehouse,"
        " with the API and the monitor",
    )
    _common(run)
    run.add_argument("--orders-per-h", type=float, default=600.0, help="generated orders per hour")
    run.add_argument(
        "--no-plc",
        dest="plc",
        action="store_false",
        help="no simulated sorter PLC and bridge: lanes are in-memory flags only",
    )
    run.add_argument(
        "--robots",
        default=None,
        metavar="vda5050[:N]",
        help="also run N (default 4) simulated VDA 5050 vehicles over a local MQTT broker",
    )
    run.add_argument(
        "--plant",
        default=None,
        metavar="FILE",
        help="control the equipment this plant file names (nothing simulated is started)",
    )
    run.set_defaults(func=run_command, generate=True, plc=True)
    serve = subparsers.add_parser(
        "serve", help="serve the API over an existing data dir (no generated orders)"
    )
    _common(serve)
    serve.add_argument(
        "--plc", action="store_true", help="also start the simulated sorter PLC and its bridge"
    )
    serve.add_argument("--api-only", action="store_true",
                       help="API only, beside a control plane on the same --database")
    serve.set_defaults(func=run_command, generate=False, orders_per_h=0.0)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--map", default=None, help="site map (default: maps/demo.yaml)")
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default loopback)")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--data-dir", default="data", help="where wcs.sqlite3 lives")
    add_database_option(parser, retention=True)
    parser.add_argument("--speed", type=float, default=1.0, help="simulated s per wall s")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cors-origin", action="append", default=[], help="allow this origin")
    parser.add_argument("--quiet", action="store_true", help="no periodic status line")
    parser.add_argument(
        "--webhook", action="append", default=[], help="POST every event to this URL (repeatable)"
    )
    parser.add_argument("--webhook-secret", default=None, help="HMAC-SHA256 key for webhooks")
    parser.add_argument(
        "--durable-power-loss",
        action="store_true",
        help="fsync every commit (synchronous=FULL); default survives a killed process only",
    )
    parser.add_argument(
        "--plc-config",
        default=None,
        help="PLC interface YAML of the sorter (default: config/plc/demo-sorter.yaml)",
    )


def _fail(message: str) -> int:
    print(f"wcs: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def run_command(args: argparse.Namespace) -> int:
    if args.speed < 0:
        return _fail(f"--speed must be >= 0, got {args.speed}")
    if args.orders_per_h < 0:
        return _fail(f"--orders-per-h must be >= 0, got {args.orders_per_h}")
    for url in args.webhook:
        if not url.startswith(("http://", "https://")):
            return _fail(f"--webhook must be an http:// or https:// URL, got {url!r}")
    if getattr(args, "api_only", False) and (not args.database or args.plc or args.webhook):
        return _fail("--api-only needs --database and runs no --plc or --webhook")
    plant = None
    if getattr(args, "plant", None):
        from fleet_manager.plant.cli import load_plant_or_report

        if args.robots or args.map:
            return _fail("--plant names the map and every device: drop --map and --robots")
        plant = load_plant_or_report(args.plant)
        if plant is None:
            return EXIT_BAD_INPUT
        args.plc = False  # the plant's PLCs, not the demo's simulated one
    map_path = plant.map_path if plant else Path(args.map) if args.map else default_map_path()
    try:
        site = plant.site if plant else load_site(map_path)
    except (MapError, OSError) as exc:
        return _fail(f"cannot load map {map_path}: {str(exc).splitlines()[0]}")
    args.plant_model = plant
    args.vda_count = 0
    if getattr(args, "robots", None):
        from fleet_manager.runtime.robots_option import free_start_nodes, parse_robots_option

        try:
            args.vda_count = parse_robots_option(args.robots)
            free_start_nodes(site, args.vda_count)
        except ValueError as exc:
            return _fail(str(exc))
    if args.plc and not getattr(site, "sorters", None) and args.plc_config is None:
        # A site without a sorter has nothing for the default sorter PLC to drive.
        print(f"plc: {site.name} has no sorter, running without a sorter PLC", file=sys.stderr)
        args.plc = False
    if args.plc:
        problem = _check_plc_config(args, site)
        if problem:
            return _fail(problem)
    from fleet_manager.store import StoreOpenError
    from fleet_manager.store.open import check_store_options, database_missing, open_store

    data_dir = Path(args.data_dir)
    missing = check_store_options(args.database, args.retention_days) or (
        None if args.generate else database_missing(data_dir, args.database)
    )
    if missing:
        return _fail(missing)
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.host, args.port))
        sock.listen(2048)  # connections wait in the backlog until uvicorn starts accepting
    except OSError as exc:
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    try:
        store = open_store(data_dir, args.database, durable=args.durable_power_loss,
                           retention_days=args.retention_days)
    except (StoreOpenError, ValueError) as exc:
        sock.close()
        return _fail(str(exc))
    try:
        if args.generate:
            _first_run_tokens(store, data_dir)
        return _serve(args, site, store, sock)
    finally:
        store.close()


def _check_plc_config(args: argparse.Namespace, site: object) -> str | None:
    """None if the PLC YAML loads and fits the map's sorter, else one line naming the problem."""
    from fleet_manager.runtime.plc_component import DEFAULT_PLC_CONFIG
    from plc_bridge.config import PlcConfigError, apply_site, load_plc_config
    from plc_bridge.register_map import RegisterMapError

    args.plc_config = args.plc_config or str(DEFAULT_PLC_CONFIG)
    try:
        apply_site(load_plc_config(args.plc_config), site)
    except (PlcConfigError, RegisterMapError, MapError, OSError) as exc:
        return f"--plc-config: {str(exc).splitlines()[0]}"
    return None


def _first_run_tokens(store: object, data_dir: Path) -> None:
    from fleet_manager.api.tokens import ROLES, issue_token

    if store.count_tokens():  # type: ignore[attr-defined]
        return
    lines = [f"{role:<10} {issue_token(store, role, f'first-run {role}').token}" for role in ROLES]  # type: ignore[arg-type]
    path = data_dir / FIRST_RUN_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("\n".join(lines) + "\n")
    print(f"first start: created one API token per role (shown once, also in {path}):")
    for line in lines:
        print(f"  {line}")


def _serve(args: argparse.Namespace, site: object, store: object, sock: socket.socket) -> int:
    import uvicorn

    from fleet_manager.api.app import create_app
    from fleet_manager.api.webhooks import WebhookSender
    from fleet_manager.runtime import Runtime, RuntimeConfig

    # Handlers first, so a signal at any point below stops cleanly. uvicorn installs its own
    # while serving, then restores these and re-raises the signal: that only asks again.
    stopping = threading.Event()
    server: uvicorn.Server | None = None

    def ask_to_stop(_sig: int, _frame: object) -> None:
        stopping.set()
        if server is not None:
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, ask_to_stop)
    # The store's writer thread releases the GIL on every SQLite call and must win it back from
    # the busy event loop; the default 5 ms switch interval would stall each of those calls.
    sys.setswitchinterval(float(os.environ.get("WCS_SWITCH_INTERVAL_S", "0.0005")))
    plant = getattr(args, "plant_model", None)
    if getattr(args, "api_only", False):
        from fleet_manager.api.remote_runtime import RemoteRuntime as Runtime  # type: ignore[assignment]
        from fleet_manager.runtime.equipment import Equipment

        equipment = Equipment(build_plane=Runtime)  # devices are the control plane's business
    else:
        equipment = _plant_equipment(plant) if plant is not None else _demo_equipment(args, site)
    if isinstance(equipment, str):
        return _fail(equipment)
    try:
        runtime = Runtime(
            site,  # type: ignore[arg-type]
            store,  # type: ignore[arg-type]
            config=RuntimeConfig(speed=args.speed, seed=args.seed),
            equipment=equipment,
        )
    except BaseException:
        for component in equipment.components:
            component.stop()
        raise
    for line in equipment.describe:
        print(line, flush=True)
    if args.database and not getattr(args, "api_only", False):  # API-only processes may join
        from fleet_manager.runtime.control_bridge import ControlBridge

        runtime.add_component(ControlBridge())
    for url in args.webhook:
        runtime.add_component(WebhookSender(url, secret=args.webhook_secret))
    stop_status = threading.Event()
    try:
        runtime.start()
    except RuntimeError as exc:  # the simulated PLC did not come up
        runtime.stop()
        return _fail(str(exc).splitlines()[0])
    _print_plc(equipment)
    # Site, graph and simulator are long-lived: keep them out of every full GC pass, which
    # would otherwise pause request handling for tens of milliseconds.
    gc.freeze()
    try:
        app = create_app(runtime, cors_origins=args.cors_origin)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        server = uvicorn.Server(config)
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(
            f"monitor: http://{shown}:{port}/   API: http://{shown}:{port}/api/v1/  (Ctrl-C stops)"
        )
        sys.stdout.flush()
        if not args.quiet:
            threading.Thread(
                target=_status_loop,
                args=(runtime, stop_status, equipment),
                daemon=True,
                name="wcs-status",
            ).start()
        if not stopping.is_set():
            server.run(sockets=[sock])  # SIGINT/SIGTERM: finish requests, then return
    finally:
        stop_status.set()
        runtime.stop()
        print("wcs: stopped cleanly", flush=True)
    return 0


def _plant_equipment(plant: object) -> object:
    """Every device the plant names (nothing simulated); a one-line problem string if not."""
    from fleet_manager.runtime.plant_devices import PlantError, plant_equipment

    try:
        return plant_equipment(plant)  # type: ignore[arg-type]
    except PlantError as exc:
        return f"{plant.source}: {exc}"  # type: ignore[attr-defined]


def _demo_equipment(args: argparse.Namespace, site: object) -> object:
    """The simulated demo floor (plug-in "demo"); a one-line problem string if it fails."""
    from fleet_manager.runtime.equipment import load_equipment

    map_path = Path(args.map) if args.map else default_map_path()
    try:
        return load_equipment(
            "demo",
            site=site,
            map_path=map_path,
            data_dir=args.data_dir,
            speed=args.speed,
            seed=args.seed,
            plc_config=args.plc_config if args.plc else None,
            vda_count=args.vda_count,
            orders_per_h=args.orders_per_h if args.generate else 0.0,
        )
    except (RuntimeError, LookupError) as exc:
        return str(exc).splitlines()[0]


def _print_plc(equipment: object) -> None:
    from fleet_manager.runtime.plc_component import PlcComponent

    for plc in equipment.components:  # type: ignore[attr-defined]
        if not isinstance(plc, PlcComponent) or plc.config is None:
            continue
        pid = plc.supervisor.pid if plc.supervisor is not None else None
        kind = f"simulated sorter PLC {plc.config.name} pid {pid}" if pid else (
            f"sorter PLC {plc.config.name}"
        )
        print(f"plc: {kind} at {plc.config.connection.describe()}, bridge connecting")


def _status_loop(runtime: object, stop: threading.Event, equipment: object) -> None:
    from fleet_manager.runtime.status import status_line

    while not stop.wait(STATUS_EVERY_S):
        extra = "".join(f"  {part()}" for part in equipment.status)  # type: ignore[attr-defined]
        print(status_line(runtime) + extra, flush=True)
