"""Equipment: what a runtime's control plane drives, and how each device is reached.

The runtime never builds devices itself: a plant file (fleet_manager.runtime.plant_devices) or a
simulator plug-in (the `wcs.equipment` entry points, e.g. sim's demo floor) hands it one
`Equipment`. That keeps the control plane ignorant of whether a robot, PLC or crane is real.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol

PlaneFactory = Callable[..., Any]  # (site, *, seed, config, bus, start_s) -> ControlPlane-like
CraneDriverFactory = Callable[[Any, Callable[[], float]], Any]  # (rack, clock) -> CraneDriver
ENTRY_POINT_GROUP = "wcs.equipment"


class Component(Protocol):
    """Something that runs beside the control plane (PLC bridge, webhook sender, order feed)."""

    def start(self, runtime: Any) -> None: ...

    def stop(self) -> None: ...


class FaultInjector(Protocol):
    """Simulator-only controls (the `/api/v1/sim/...` routes exist only when one is given)."""

    def robot_fault(self, plane: Any, robot_id: str, code: str, message: str) -> Any: ...

    def arm_crane_fault(self, driver: Any, phase: str) -> dict[str, Any]: ...


@dataclass
class Equipment:
    """Everything device-specific a runtime needs; built before the runtime starts.

    `clock`: "paced" (simulated time at `speed` x wall time, the demo) or "wall" (production).
    `components` start after the control thread, in order, and stop in reverse order.
    """

    build_plane: PlaneFactory
    crane_driver: CraneDriverFactory | None = None
    components: list[Component] = field(default_factory=list)
    fault_injector: FaultInjector | None = None
    clock: str = "paced"
    speed: float | None = None  # paced clock speed; None: the runtime config's
    describe: list[str] = field(default_factory=list)  # one line per device, for the console
    status: list[Callable[[], str]] = field(default_factory=list)  # short phrases, status line


def load_equipment(name: str, **options: Any) -> Equipment:
    """The equipment plug-in `name` (entry point group `wcs.equipment`) built with `options`.

    Simulators register here from outside the control plane, so `fleet_manager` never imports
    them; a missing plug-in is a clear error, not an ImportError deep in the runtime."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if name not in found:
        known = ", ".join(sorted(found)) or "none installed"
        raise LookupError(f"no equipment plug-in {name!r} ({ENTRY_POINT_GROUP}: {known})")
    return found[name].load()(**options)
