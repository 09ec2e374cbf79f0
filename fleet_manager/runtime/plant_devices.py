"""Equipment from a plant file: one adapter per device it names, nothing simulated started.

VDA 5050 fleets on the site's broker, sorter PLCs over Modbus TCP/RTU through the PLC bridge,
AS/RS cranes over their telegram link; simulated fleets and order generators only where the
plant file asks for them (plug-ins from outside the control plane, entry point groups
`wcs.fleets` and `wcs.order_generators`).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from fleet_manager.control import ControlPlane
from fleet_manager.plant.model import Plant, SimulatedFleet, Vda5050Fleet
from fleet_manager.runtime.equipment import Equipment
from fleet_manager.runtime.vda_fleet import Vda5050FleetLink
from fleet_manager.site.model import Site


class PlantError(ValueError):
    """The plant names something this build cannot drive (one line, naming the device)."""


def plugin(group: str, name: str) -> Any:
    found = {ep.name: ep for ep in entry_points(group=group)}
    if name not in found:
        raise PlantError(f"no {group} plug-in {name!r} is installed")
    return found[name].load()


def plant_equipment(plant: Plant) -> Equipment:
    """Everything the runtime needs to drive `plant`'s devices; devices connect on start."""
    site = plant.site
    links = [Vda5050FleetLink(site, f) for f in plant.fleets if isinstance(f, Vda5050Fleet)]
    simulated = [f for f in plant.fleets if isinstance(f, SimulatedFleet)]
    unsupported = [f for f in plant.fleets if not isinstance(f, Vda5050Fleet | SimulatedFleet)]
    if unsupported:
        f = unsupported[0]
        raise PlantError(f"fleet {f.name}: adapter {f.adapter!r} is not supported by this build")
    advance: list[Callable[[float], None]] = []

    def build_plane(site_: Site, *, seed: int = 0, bus: Any = None, start_s: float = 0.0,
                    **_ignored: Any) -> ControlPlane:
        robots: list[Any] = [a for link in links for a in link.adapters]
        for fleet in simulated:
            made, hook = plugin("wcs.fleets", "simulated")(site_, fleet.count, seed)
            robots += made
            advance.append(hook)
        plane = ControlPlane(site_, robots, bus=bus, seed=seed, start_s=start_s)
        plane.set_station_confirm({st.id: st.confirm for st in plant.stations})
        for link in links:
            link.attach(plane)
        plane.after_tick.extend(advance)
        return plane

    cranes = {c.aisle: c for c in plant.cranes}

    def crane_driver(rack: Any, clock: Callable[[], float]) -> Any:
        from fleet_manager.asrs.remote_driver import RemoteCraneDriver

        crane = cranes.get(rack.aisle.id)
        return RemoteCraneDriver(rack, crane.config, clock) if crane is not None else None

    equipment = Equipment(
        build_plane=build_plane,
        crane_driver=crane_driver if cranes else None,
        clock="wall" if plant.clock.kind == "wall" else "paced",
        speed=plant.clock.speed,
    )
    for link in links:
        equipment.components.append(link)
        equipment.describe.append(
            f"fleet {link.spec.name}: VDA 5050 {link.spec.version} on {link.spec.broker.url}, "
            + (f"{len(link.spec.serials)} vehicles" if link.spec.serials else "no serials listed")
            + (", accepting any vehicle of " + link.spec.manufacturer if link.spec.accept_any
               else "")
        )
        equipment.status.append(link.summary)
    for fleet in simulated:
        equipment.describe.append(f"fleet {fleet.name}: {fleet.count} simulated AMRs in-process")
    _add_plcs(plant, equipment)
    for crane in plant.cranes:
        equipment.describe.append(f"crane {crane.name}: aisle {crane.aisle} over "
                                  f"{crane.link.describe()}")
    if plant.order_generator is not None:
        gen = plant.order_generator
        feed = plugin("wcs.order_generators", "poisson")(gen.orders_per_h, seed=gen.seed)
        equipment.components.append(feed)
        equipment.describe.append(f"orders: generated, {gen.orders_per_h:g}/h")
    return equipment


def _add_plcs(plant: Plant, equipment: Equipment) -> None:
    from fleet_manager.runtime.plc_component import PlcComponent

    sorters = [p for p in plant.plcs if p.role == "sorter"]
    for plc in sorters[:1]:  # the site's one sorter; conveyor PLCs are not driven yet
        component = PlcComponent(
            config_path=plc.register_map,
            connection=plc.link.connection_changes(),
            name=plc.name,
        )
        equipment.components.append(component)
        equipment.status.append(component.summary)
        equipment.describe.append(f"plc {plc.name}: sorter over {plc.link.describe()}")
    for plc in [*sorters[1:], *(p for p in plant.plcs if p.role != "sorter")]:
        equipment.describe.append(f"plc {plc.name}: {plc.role}, not driven by this build")
