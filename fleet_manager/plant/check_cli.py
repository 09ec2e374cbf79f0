"""`wcs check-plant FILE`: reach every device a plant names without moving anything.

Prints one row per device: reachable or not, protocol version, whether the register map or
telegram map matches what answers (a read of every block), and the vehicle serials seen on
the broker. Exit 0 when every device answered and matched, 1 when one did not, 2 for a bad
plant file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from dataclasses import dataclass

from fleet_manager.plant.cli import load_plant_or_report
from fleet_manager.plant.model import CraneDevice, Plant, PlcDevice, Vda5050Fleet

EXIT_BAD_INPUT = 2


@dataclass
class Row:
    device: str
    endpoint: str
    reachable: bool
    version: str
    match: str
    seen: str = ""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "check-plant", help="reach every device of a plant file without moving anything"
    )
    p.add_argument("plant", help="plant file (YAML)")
    p.add_argument("--listen-s", type=float, default=3.0,
                   help="how long to listen for vehicles on each broker")
    p.add_argument("--json", action="store_true", help="print the rows as one JSON object")
    p.set_defaults(func=main)


async def _check_modbus(name: str, device: PlcDevice | CraneDevice) -> Row:
    """Connect, then read every register block of the map: a block the PLC refuses (or a
    different layout: exception 2) is a mismatch named by block."""
    from plc_bridge.transport import ModbusTransport

    cfg = device.config
    endpoint = device.link.describe()
    transport = ModbusTransport(cfg.connection, cfg.unit_id, cfg.timing, cfg.registers.span_name)
    await transport.start()
    try:
        if not await transport.wait_connected(3.0):
            return Row(name, endpoint, False, "-", "not checked")
        bad = []
        for block in cfg.registers.blocks.values():
            try:
                await transport.read(block.address, block.size)
            except Exception as exc:  # noqa: BLE001 - named in the table
                bad.append(f"{block.name}: {str(exc).splitlines()[0][:60]}")
        match = "ok" if not bad else "MISMATCH " + "; ".join(bad[:3])
        return Row(name, endpoint, True, "modbus", match)
    finally:
        await transport.stop()


def _check_fleet(fleet: Vda5050Fleet, listen_s: float) -> Row:
    """Subscribe to the fleet's connection and state topics; list the serials heard."""
    from fleet_manager.robots.vda5050.transport import MqttTransport, TransportError

    heard: dict[str, str] = {}
    lock = threading.Lock()

    def on_raw(topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        if len(parts) < 5 or parts[2] != fleet.manufacturer:
            return
        try:
            version = str(json.loads(payload).get("version", "?"))
        except (ValueError, AttributeError):
            version = "?"
        with lock:
            heard[parts[3]] = version

    b = fleet.broker
    transport = MqttTransport(
        b.host, b.port, on_raw, client_id=f"wcs-check-plant-{time.monotonic_ns()}",
        interface_name=fleet.interface_name, username=b.username, password=b.password,
        tls=b.tls, ca_file=str(b.ca_file) if b.ca_file else None,
    )
    try:
        transport.start(timeout_s=3.0)
    except TransportError as exc:
        return Row(f"fleet {fleet.name}", b.describe(), False, "-", str(exc)[:60])
    try:
        time.sleep(listen_s)
    finally:
        transport.stop()
    with lock:
        seen = sorted(heard)
        versions = sorted(set(heard.values())) or ["-"]
    missing = [s for s in fleet.serials if s not in heard]
    match = "ok" if not missing else f"{len(missing)} listed not seen: {', '.join(missing[:4])}"
    return Row(f"fleet {fleet.name}", b.describe(), True, "/".join(versions), match,
               ", ".join(seen) or "none")


def check(plant: Plant, listen_s: float) -> list[Row]:
    rows = [
        _check_fleet(f, listen_s) for f in plant.fleets if isinstance(f, Vda5050Fleet)
    ]
    for plc in plant.plcs:
        rows.append(asyncio.run(_check_modbus(f"plc {plc.name}", plc)))
    for crane in plant.cranes:
        rows.append(asyncio.run(_check_modbus(f"crane {crane.name}", crane)))
    return rows


def main(args: argparse.Namespace) -> int:
    plant = load_plant_or_report(args.plant)
    if plant is None:
        return EXIT_BAD_INPUT
    rows = check(plant, args.listen_s)
    ok = all(r.reachable and r.match == "ok" for r in rows)
    if args.json:
        print(json.dumps({"plant": plant.name, "ok": ok, "devices": [r.__dict__ for r in rows]}))
        return 0 if ok else 1
    head = ("device", "endpoint", "reachable", "version", "map/handshake", "serials seen")
    table = [head, *[(r.device, r.endpoint, "yes" if r.reachable else "NO", r.version,
                      r.match, r.seen) for r in rows]]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(head))]
    for row in table:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    print(f"plant {plant.name}: " + ("every device answered" if ok else "NOT every device ok"))
    return 0 if ok else 1
