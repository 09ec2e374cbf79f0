"""ControlPlane: dispatch, allocation, traffic, goods-to-person and alarms on one time line.

The plane knows robots only through `RobotAdapter`s and time only through the `now_s` it is
stepped to, so the same object drives in-process simulated robots (sim.Simulation, on a manual
clock) and real vehicles (the runtime, on the wall clock). Devices that need servicing every
tick (a VDA 5050 master pumping its messages, simulated robots paying their busy time) hang on
`before_tick` / `after_tick`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fleet_manager.alarms import Alarm, AlarmRegistry
from fleet_manager.dispatch import (
    CommandRejected,
    DispatchConfig,
    Dispatcher,
    RobotRecord,
    Scanner,
    UnknownResource,
    perfect_scanner,
)
from fleet_manager.dispatch.robot_states import restore, robot_states
from fleet_manager.domain import Order, Task
from fleet_manager.events import EventBus
from fleet_manager.robots.adapter import RobotAdapter
from fleet_manager.site.model import Site

TickHook = Callable[[float], None]

__all__ = ["CommandRejected", "ControlPlane", "TickHook", "UnknownResource", "tick_s_for"]


def tick_s_for(site: Site) -> float:
    """One control tick: the time to cross one cell at cruise speed (one planner step)."""
    return site.cell_size_m / site.robot_model.speed_mps


class ControlPlane:
    """Orders, tasks, inventory and robots under one dispatcher; `step()` runs one tick."""

    def __init__(
        self,
        site: Site,
        robots: list[RobotAdapter],
        *,
        bus: EventBus | None = None,
        config: DispatchConfig | None = None,
        seed: int = 0,
        scanner: Scanner = perfect_scanner,
        start_s: float = 0.0,
        tick_s: float | None = None,
    ) -> None:
        self.site = site
        self.bus = bus or EventBus()
        self.tick_s = tick_s or tick_s_for(site)
        self.now_s = float(start_s)
        self.alarms = AlarmRegistry(self.bus, clock=lambda: self.now_s)
        self.dispatcher = Dispatcher(
            site,
            robots,
            bus=self.bus,
            alarms=self.alarms,
            config=config,
            seed=seed,
            tick_s=self.tick_s,
            scanner=scanner,
        )
        self.dispatcher.now_s = self.now_s
        self.dispatcher.kpi.reset_window(self.now_s)  # rates count from this run's start
        self.before_tick: list[TickHook] = []
        self.after_tick: list[TickHook] = []

    # ---- state the API reads ---------------------------------------------------------------------
    @property
    def orders(self) -> dict[str, Order]:
        return self.dispatcher.orders

    @property
    def tasks(self) -> dict[str, Task]:
        return self.dispatcher.tasks

    @property
    def inventory(self) -> Any:
        return self.dispatcher.inventory

    @property
    def adapters(self) -> dict[str, RobotAdapter]:
        return {rid: rec.adapter for rid, rec in self.dispatcher.robots.items()}

    # ---- robots joining at run time ------------------------------------------------------------
    def join_robot(self, adapter: RobotAdapter) -> RobotRecord:
        """A robot that announced itself (e.g. a VDA 5050 vehicle going ONLINE) joins the fleet
        at the position it reports; it takes work from the next tick on."""
        d = self.dispatcher
        if adapter.id in d.robots:
            raise ValueError(f"robot {adapter.id!r} is already in the fleet")
        rec = RobotRecord(adapter, adapter.status())
        d.robots[adapter.id] = rec
        d.robot_order.append(adapter.id)
        d.events.robot_event(rec, "joined", node=rec.status.node)
        return rec

    # ---- commands (control thread) ---------------------------------------------------------------
    def _at_now(self) -> Dispatcher:
        self.dispatcher.now_s = self.now_s
        return self.dispatcher

    def submit_order(self, order: Order) -> None:
        self._at_now().submit_order(order)

    def cancel_order(self, order_id: str) -> None:
        self._at_now().cancel_order(order_id)

    def set_order_priority(self, order_id: str, priority: int) -> None:
        self._at_now().set_order_priority(order_id, priority)

    def submit_task(self, task: Task) -> None:
        self._at_now().submit_task(task)

    def cancel_task(self, task_id: str) -> None:
        self._at_now().cancel_task(task_id)

    def command_robot(self, robot_id: str, command: str) -> None:
        self._at_now().command_robot(robot_id, command)

    def instant_actions(self, robot_id: str) -> list[str]:
        """Instant actions the robot offers (a VDA 5050 vehicle's factsheet); [] otherwise."""
        adapter = self._adapter(robot_id)
        offered = getattr(adapter, "instant_actions_offered", None)
        return list(offered()) if offered is not None else []

    def instant_action(self, robot_id: str, action_type: str, params: dict[str, Any]) -> str:
        """A technician's instant action (VDA 5050): only what the vehicle's factsheet offers;
        pause and resume go through the robot commands, which the dispatcher follows."""
        adapter = self._adapter(robot_id)
        send = getattr(adapter, "instant_action", None)
        if send is None:
            raise CommandRejected(f"robot {robot_id}: not a VDA 5050 vehicle, no instant actions")
        if action_type in ("startPause", "stopPause", "cancelOrder", "initPosition"):
            raise CommandRejected(
                f"robot {robot_id}: {action_type} changes what the dispatcher plans; use the "
                "robot commands (pause, resume, out_of_service) instead"
            )
        return str(send(action_type, sorted(params.items())))

    def _adapter(self, robot_id: str) -> RobotAdapter:
        rec = self.dispatcher.robots.get(robot_id)
        if rec is None:
            raise UnknownResource(f"unknown robot id {robot_id!r}")
        return rec.adapter

    def set_station_confirm(self, modes: dict[str, str]) -> None:
        """How each station's picks are confirmed (plant file `stations:`), all or nothing."""
        d = self.dispatcher
        before = {sid: st.confirm for sid, st in d.stations.items()}
        try:
            for station_id, mode in modes.items():
                d.set_station_confirm(station_id, mode)
        except (UnknownResource, CommandRejected):
            for sid, mode in before.items():  # nothing half-applied
                d.stations[sid].confirm = mode
            raise

    def confirm_station(self, station_id: str, pod_id: str) -> dict[str, Any]:
        """The visit of `pod_id` at `station_id` is confirmed (WMS, terminal or scanner)."""
        return self._at_now().confirm_station(station_id, pod_id)

    def raise_robot_fault(self, robot_id: str, code: str, message: str) -> Alarm:
        """A fault reported out of band (e.g. by a simulator's fault injection): raise its alarm
        now, once; the dispatcher's own fault check then keeps the same alarm."""
        rec = self.dispatcher.robots.get(robot_id)
        if rec is None:
            raise UnknownResource(f"unknown robot id {robot_id!r}")
        rec.status = rec.adapter.status()
        alarm = self.alarms.raise_alarm(
            f"robot:{robot_id}", code, "error", message or f"robot {robot_id}: {code}"
        )
        rec.fault_alarm_id = alarm.id
        self.dispatcher.events.robot_event(rec, "fault", code=code)
        self.dispatcher.exec.stopped(rec, f"robot {robot_id} stopped: {code}")
        return alarm

    # ---- states of record ------------------------------------------------------------------------
    def robot_states(self) -> dict[str, dict[str, Any]]:
        """What a restart must restore per robot (see `restore_robot_states`)."""
        return robot_states(self.dispatcher.floor)

    def restore_robot_states(self, states: dict[str, dict[str, Any]]) -> list[str]:
        """Before the first tick: locked-out robots stay out, paused stay paused, faulted stay
        faulted until cleared; robots stopped mid-trip need a check."""
        d = self._at_now()
        return restore(d.floor, d.events, states)

    # ---- time ------------------------------------------------------------------------------------
    def step(self) -> None:
        """One control tick at `now_s`, then time moves on by `tick_s`."""
        now = self.now_s
        self.dispatcher.now_s = now
        for hook in self.before_tick:
            hook(now)
        self.dispatcher.tick(now)
        for hook in self.after_tick:
            hook(now)
        self.now_s = round(now + self.tick_s, 9)

    def run_until(self, t_s: float) -> None:
        while self.now_s < t_s - 1e-9:
            self.step()

    # ---- reports ---------------------------------------------------------------------------------
    def kpis(self) -> dict[str, Any]:
        d = self.dispatcher
        open_orders = sum(1 for o in self.orders.values() if o.state in ("open", "in_progress"))
        report = d.kpi.report(self.now_s, open_orders)
        report["sim_time_s"] = round(self.now_s, 3)
        report["robots"] = len(d.robots)
        return report

    def snapshot(self) -> dict[str, Any]:
        from fleet_manager.control.snapshot import snapshot

        return snapshot(self)
