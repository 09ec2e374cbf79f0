"""Simulated equipment plug-ins for the runtime (entry points in the `wcs.equipment` group).

`simulated`: the control plane over in-process simulated AMRs and an in-process crane on the
runtime's paced clock, with fault injection (tests, `wcs serve`). `demo`: the same plus what
`wcs run` starts around it on the built-in demo site: a simulated sorter PLC process reached
over Modbus TCP, optional VDA 5050 vehicles over a throwaway broker, and a generated order
stream. The runtime receives an `Equipment` and never imports this module.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from fleet_manager.asrs.rack import Rack
from fleet_manager.runtime.equipment import Equipment
from fleet_manager.site.model import Site
from sim.crane.clocked import ClockedCraneDriver
from sim.world import Simulation


class SimulatedFaults:
    """The simulator's fault injection behind `/api/v1/sim/...` (control thread only)."""

    def robot_fault(self, plane: Any, robot_id: str, code: str, message: str) -> Any:
        return plane.inject_fault(robot_id, code, message)

    def arm_crane_fault(self, driver: Any, phase: str) -> dict[str, Any]:
        return driver.arm_fault(phase)


def build_simulation(
    site: Site, *, config: Any = None, factory: Callable[..., Simulation] = Simulation,
    **kwargs: Any,
) -> Simulation:
    """The Simulation as a runtime's plane (`factory` builds it, e.g. with VDA 5050 vehicles
    beside the simulated robots): orders come from the store (API or feed), never from the
    simulator's own stream."""
    if config is None or isinstance(config, dict):
        config = {**(config or {}), "orders_per_h": 0.0}
    # start_s: a restart continues the last run's simulated time instead of starting at 0.
    return factory(site, config=config, **kwargs)


def clocked_crane(rack: Rack, clock: Any) -> ClockedCraneDriver:
    return ClockedCraneDriver(rack, clock)


def simulated(**_options: Any) -> Equipment:
    """In-process robots and crane only (no PLC, no order stream)."""
    return Equipment(
        build_plane=build_simulation,
        crane_driver=clocked_crane,
        fault_injector=SimulatedFaults(),
        describe=["robots: in-process simulated AMRs", "asrs: in-process simulated crane"],
    )


def demo(
    *,
    site: Site,
    map_path: str | Path,
    data_dir: str | Path,
    speed: float = 1.0,
    seed: int = 0,
    plc_config: str | Path | None = None,
    vda_count: int = 0,
    orders_per_h: float = 0.0,
) -> Equipment:
    """`wcs run` without a plant file: the demo floor, every device simulated.

    Raises RuntimeError (one line) when a simulated device does not come up."""
    equipment = simulated()
    if vda_count:
        from sim.vda5050.demo_fleet import VdaFleet

        fleet = VdaFleet(site, Path(map_path), vda_count, speed=speed)
        fleet.start_fleet()
        equipment.build_plane = partial(build_simulation, factory=fleet.sim_factory)
        equipment.components.append(fleet)
        equipment.describe.append(fleet.summary())
        equipment.status.append(fleet.summary)
    if plc_config is not None:
        from fleet_manager.runtime.plc_component import PlcComponent
        from sim.plc.supervisor import SimPlcSupervisor

        # Only the totes of completed orders reach the sorter, as on a real floor.
        supervisor = SimPlcSupervisor(plc_config, map_path, workdir=Path(data_dir) / "sim-plc",
                                      items="announced")
        plc = PlcComponent(config_path=plc_config, supervisor=supervisor)
        equipment.components.append(plc)
        equipment.status.append(plc.summary)
    if orders_per_h > 0:
        from sim.order_feed import OrderFeed

        equipment.components.append(OrderFeed(orders_per_h, seed=seed))
    return equipment
