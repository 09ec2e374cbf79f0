"""Vda5050RobotAdapter: a RobotAdapter whose robot is a VDA 5050 vehicle reached over MQTT.

Moves become orders: the first move opens an order at the vehicle's node, each later move is an
order update (orderUpdateId + 1) releasing exactly the planner's next node after the stitching
node, with the rest of the planned path (if given) as horizon. Lifts and set-downs are new
one-node orders carrying a `pick` / `drop` action; charging, pause, cancel, initPosition and
factsheet requests are instant actions. The adapter never touches MQTT: it hands message bodies
to `send` (the master stamps headers, validates and publishes).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from fleet_manager.domain import NodeId, PodId, RobotId
from fleet_manager.robots.adapter import CommandRejected, RobotStatus
from fleet_manager.robots.vda5050 import messages as m
from fleet_manager.robots.vda5050.order_tracker import OrderTracker
from fleet_manager.robots.vda5050.topics import VehicleAddress
from fleet_manager.site.model import RobotModel, Site

Send = Callable[[VehicleAddress, str, m.Message], None]  # (vehicle, subtopic, body)
Alarm = Callable[[str, str, str], None]  # (code, field, message) about this robot
DONE_ACTION = ("FINISHED", "FAILED")
STALE_MIN_S = 1.0  # never call a vehicle lagging sooner than this


def vda_xy(site: Site, node: NodeId) -> tuple[float, float]:
    """Site metres (y down) -> VDA map frame (right-handed, y up, theta CCW from +x)."""
    x, y = site.node_xy_m(node)
    return x, -y


class Vda5050RobotAdapter:
    """Master-side view of one VDA 5050 vehicle; `on_state` etc. are fed by Vda5050Master."""

    def __init__(
        self, address: VehicleAddress, site: Site, send: Send, alarm: Alarm,
        *, start_node: NodeId | None = None, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.address = address
        self.site = site
        self._send = send
        self._alarm = alarm
        self.tracker = OrderTracker(
            f"{address.serial_number}", lambda n: vda_xy(site, n), site.robot_model.speed_mps
        )
        self.node: NodeId | None = start_node  # committed node (target of the last move)
        self.connection = "UNKNOWN"  # last connectionState received
        self.state: m.Message | None = None  # last state received (kept while offline)
        self._fresh = False  # a state arrived since the last (re)connection
        self.factsheet: m.Message | None = None
        self.model: RobotModel = site.robot_model  # the factsheet's speeds replace the site's
        self.footprint_m: tuple[float, float] | None = None  # (length, width) from the factsheet
        self.max_load_kg: float | None = None
        self._factsheet_asked = False
        self._target: tuple[str, int, int, int] | None = None  # (orderId, updateId, node, seq)
        self._pending_actions: dict[str, str] = {}  # actionId -> actionType awaiting FINISHED
        self._pod: PodId | None = None
        self._leaving: NodeId | None = None
        self._action_count = 0
        self._errors_seen: frozenset[tuple[str, str]] = frozenset()
        self._init_sent = False
        self.messages_in = 0
        self.clock = clock
        self.last_state_s = clock()
        self._usual_gap_s: float | None = None  # typical seconds between two states

    # ---- RobotAdapter --------------------------------------------------------------------
    @property
    def id(self) -> RobotId:
        return self.address.serial_number

    @property
    def online(self) -> bool:
        """Connected, reporting state, and localised on a node the master knows."""
        return self.connection == "ONLINE" and self._fresh and self._localised()

    def status(self) -> RobotStatus:
        st = self.state or {}
        battery = st.get("batteryState", {})
        theta = st.get("agvPosition", {}).get("theta", 0.0)
        fatal = [e for e in st.get("errors", []) if e.get("errorLevel") == "FATAL"]
        return RobotStatus(
            robot_id=self.id,
            node=self.node if self.node is not None else -1,
            heading_deg=math.degrees(theta) % 360.0,
            battery_soc=float(battery.get("batteryCharge", 0.0)) / 100.0,
            busy=self.busy,
            pod_id=self._pod,
            online=self.online,
            error=fatal[0]["errorType"] if fatal else None,
            charging=bool(battery.get("charging", False)),
            paused=bool(st.get("paused", False)),
        )

    @property
    def moving(self) -> bool:
        """A released node has not been reached yet (lifts and charging excluded)."""
        return self._target is not None

    @property
    def trailing_node(self) -> NodeId | None:
        """While driving to a released node, the node it is leaving (no one may enter it yet)."""
        return self._leaving if self._target is not None else None

    @property
    def busy(self) -> bool:
        return self._target is not None or bool(self._pending_actions) or self.lagging

    @property
    def lagging(self) -> bool:
        """Silent for longer than its own rhythm (3 x its usual gap between states, at least
        STALE_MIN_S): a vehicle that hangs gets no new order before the silence timeout
        declares it lost. Measured per vehicle, so one that reports rarely is not penalised."""
        gap = self._usual_gap_s
        if gap is None:
            return False
        return self.clock() - self.last_state_s > max(STALE_MIN_S, 3.0 * gap)

    def move_to(self, node: NodeId, horizon: Sequence[NodeId] = ()) -> None:
        """Release `node` (next step of the plan); `horizon` = the rest of the path, unreleased."""
        if node == self.node:
            return
        self._require_free(f"move to node {node}")
        assert self.node is not None
        if not self.site.graph.has_edge(self.node, node):
            raise CommandRejected(f"robot {self.id}: node {node} is not next to node {self.node}")
        st = self.state or {}
        if st.get("batteryState", {}).get("charging"):
            raise CommandRejected(f"robot {self.id}: move rejected, robot is charging")
        if self.tracker.active and self.tracker.last_base_node == self.node:
            body = self.tracker.extend(node, horizon)
        else:
            body = self.tracker.new_order(self.node, node, horizon)
        self._target = (self.tracker.order_id, self.tracker.update_id, node, self.tracker.last_base_seq)
        self._leaving = self.node
        self.node = node
        self._send(self.address, "order", body)

    def lift_pod(self, pod_id: PodId) -> None:
        self._require_free(f"lift pod {pod_id}")
        if self._pod is not None:
            raise CommandRejected(f"robot {self.id}: already carries pod {self._pod}")
        self._node_action("pick", [("loadId", pod_id), ("loadType", "pod")])
        self._pod = pod_id

    def set_down_pod(self) -> None:
        self._require_free("set down pod")
        if self._pod is None:
            raise CommandRejected(f"robot {self.id}: carries no pod to set down")
        self._node_action("drop", [("loadId", self._pod), ("loadType", "pod")])
        self._pod = None

    def start_charging(self) -> None:
        if not self.online:
            raise CommandRejected(f"robot {self.id}: cannot charge, robot offline")
        self._instant("startCharging")

    def stop_charging(self) -> None:
        self._instant("stopCharging", track=False)

    def pause(self) -> None:
        self._instant("startPause", track=False)

    def resume(self) -> None:
        self._instant("stopPause", track=False)

    # ---- VDA 5050 extras -----------------------------------------------------------------
    def cancel_order(self) -> None:
        """Stop after the current edge and drop the order (the robot reports where it stopped)."""
        self._instant("cancelOrder")
        self.tracker.reset()
        self._target = None

    def request_factsheet(self) -> None:
        self._instant("factsheetRequest", track=False)

    def instant_actions_offered(self) -> list[str]:
        """Instant action types the vehicle's factsheet offers (2.1 `agvActions`, 3.0
        `mobileRobotActions`); empty until a factsheet arrived."""
        features = (self.factsheet or {}).get("protocolFeatures", {})
        offered = features.get("agvActions", features.get("mobileRobotActions", []))
        return [a["actionType"] for a in offered if "INSTANT" in a.get("actionScopes", [])]

    def instant_action(self, action_type: str, params: Sequence[tuple[str, Any]] = ()) -> str:
        """A technician's instant action (e.g. 3.0 hibernation, shutdown, retry) by name; only
        what the factsheet offers is sent. Returns the actionId (its state shows the outcome)."""
        offered = self.instant_actions_offered()
        if action_type not in offered:
            raise CommandRejected(
                f"robot {self.id}: instant action {action_type!r} is not in its factsheet "
                f"(offers: {', '.join(offered) or 'no factsheet yet'})"
            )
        return self._instant(action_type, list(params), track=False)

    def request_state(self) -> None:
        """Ask for a state now (`stateRequest`), e.g. from a technician's refresh."""
        self._instant("stateRequest", track=False)

    def init_position(self, node: NodeId, heading_deg: float = 0.0) -> None:
        params = m.init_position_params(node, vda_xy(self.site, node), math.radians(heading_deg))
        self._instant("initPosition", params, track=False)
        self.node = node
        self._init_sent = True

    # ---- incoming (called by the master, on the dispatcher thread) ------------------------
    def on_connection(self, msg: m.Message) -> None:
        state = msg["connectionState"]
        if state == self.connection:
            return
        previous, self.connection = self.connection, state
        if state != "ONLINE":
            self._lose(f"robot {self.id} is {state} (was {previous})")

    def on_silence(self, silent_s: float) -> None:
        """No state for too long although the broker says ONLINE: handle as a broken link."""
        self.connection = "SILENT"
        self._lose(f"robot {self.id} sent no state for {silent_s:.1f} s")

    def _lose(self, why: str) -> None:
        # Whatever was in flight is lost: the dispatcher sees online=False and re-queues; the
        # robot remains an obstacle on its committed node.
        self._alarm(f"vda5050.{self.connection.lower()}", "connectionState", why)
        self.tracker.reset()
        self._target = None
        self._pending_actions.clear()
        self._fresh = False
        self._init_sent = False

    def on_factsheet(self, msg: m.Message) -> None:
        """The vehicle's own figures drive its model: top speed (order edges' maxSpeed and the
        planner's speed for this robot), acceleration, footprint and load limit."""
        self.factsheet = msg
        phys = msg.get("physicalParameters", {})
        speed = float(phys.get("speedMax", 0.0))
        accel = float(phys.get("accelerationMax", 0.0))
        self.model = dataclasses.replace(
            self.site.robot_model,
            speed_mps=speed if speed > 0 else self.site.robot_model.speed_mps,
            accel_mps2=accel if accel > 0 else self.site.robot_model.accel_mps2,
        )
        self.tracker.max_speed_mps = self.model.speed_mps
        if phys.get("length") and phys.get("width"):
            self.footprint_m = (float(phys["length"]), float(phys["width"]))
        spec = msg.get("typeSpecification", {})
        mass = spec.get("maxLoadMass", spec.get("maximumLoadMass"))
        self.max_load_kg = float(mass) if mass is not None else None

    def on_state(self, msg: m.Message) -> None:
        self.messages_in += 1
        self.state = msg
        self._fresh = True
        now = self.clock()
        if self.messages_in > 1:  # the usual gap between states, smoothed
            gap = now - self.last_state_s
            prev = self._usual_gap_s
            self._usual_gap_s = gap if prev is None else 0.8 * prev + 0.2 * gap
        self.last_state_s = now
        if self.connection != "ONLINE":
            self.connection = "ONLINE"  # a live state implies a connection (retained msg lost)
        self._check_errors(msg)
        if not self._localised():
            if self.node is not None and not self._init_sent:
                self.init_position(self.node)
            return
        if self.factsheet is None and not self._factsheet_asked:
            self._factsheet_asked = True  # once per adapter: the model follows the vehicle
            self.request_factsheet()
        last = m.parse_node_id(msg.get("lastNodeId", ""))
        if self.node is None and last is not None:
            self.node = last  # first contact: adopt the vehicle's own position
        if self._target is not None:
            order_id, _update, node, seq = self._target
            if msg["orderId"] == order_id and last == node and msg["lastNodeSequenceId"] == seq:
                self._target = None
        elif not self._pending_actions and not msg.get("driving") and last is not None:
            self.node = last  # idle: the vehicle's own report is the truth (e.g. after cancel)
        for a in msg.get("actionStates", []):
            kind = self._pending_actions.get(a["actionId"])
            if kind is not None and a["actionStatus"] in DONE_ACTION:
                del self._pending_actions[a["actionId"]]
                if a["actionStatus"] == "FAILED":
                    self._alarm("vda5050.action_failed", "actionStates",
                                f"robot {self.id}: action {kind} failed: "
                                f"{a.get('resultDescription', '')}")
        loads = msg.get("loads")
        if loads is not None and not self._pending_actions:
            self._pod = loads[0].get("loadId") if loads else None

    # ---- internals -----------------------------------------------------------------------
    def _localised(self) -> bool:
        st = self.state or {}
        pos = st.get("agvPosition")
        initialised = pos is None or bool(pos.get("positionInitialized"))
        return initialised and m.parse_node_id(st.get("lastNodeId", "")) is not None

    def _check_errors(self, msg: m.Message) -> None:
        """Alarm once per newly appearing vehicle error (order rejections included)."""
        seen = set()
        for err in msg.get("errors", []):
            key = (err["errorType"], err.get("errorDescription", ""))
            seen.add(key)
            if key in self._errors_seen:
                continue
            refs = {r["referenceKey"]: r["referenceValue"] for r in err.get("errorReferences", [])}
            field = next(iter(refs), "errors")
            self._alarm(f"vda5050.{err['errorType']}", field,
                        f"robot {self.id} reports {err['errorLevel']} {err['errorType']}: "
                        f"{err.get('errorDescription', '')} {refs}".strip())
            if err["errorType"] in ("orderError", "orderUpdateError") and self._refuses_ours(refs):
                self._order_refused(msg)
        self._errors_seen = frozenset(seen)

    def _refuses_ours(self, refs: dict[str, str]) -> bool:
        """Does an order error name the order (and update) we sent last?"""
        ours = (self.tracker.order_id, str(self.tracker.update_id))
        return self.tracker.active and (refs.get("orderId"), refs.get("orderUpdateId")) == ours

    def _order_refused(self, msg: m.Message) -> None:
        """Our last order was refused: drop what it promised so the dispatcher can re-plan."""
        self._target = None
        for aid, kind in list(self._pending_actions.items()):
            if kind in ("pick", "drop"):
                del self._pending_actions[aid]
        loads = msg.get("loads") or []
        self._pod = loads[0].get("loadId") if loads else None
        last = m.parse_node_id(msg.get("lastNodeId", ""))
        if last is not None:
            self.node = last
        self.tracker.reset()

    def _require_free(self, what: str) -> None:
        if not self.online:
            raise CommandRejected(f"robot {self.id}: {what} rejected, robot offline ({self.connection})")
        if self.status().error:
            raise CommandRejected(f"robot {self.id}: {what} rejected, robot faulted")
        if (self.state or {}).get("paused"):
            raise CommandRejected(f"robot {self.id}: {what} rejected, robot is paused")
        if self.busy:
            raise CommandRejected(f"robot {self.id}: {what} rejected, robot is busy")

    def _next_action_id(self, kind: str) -> str:
        self._action_count += 1
        return f"{self.id}-{kind}-{self._action_count:06d}"

    def _node_action(self, kind: str, params: list[tuple[str, Any]]) -> None:
        """A one-node order at the current node whose only job is the action."""
        assert self.node is not None
        action_id = self._next_action_id(kind)
        body = self.tracker.new_order(self.node, None, (), [m.action(kind, action_id, "HARD", params)])
        self._pending_actions[action_id] = kind
        self._send(self.address, "order", body)

    def _instant(self, kind: str, params: list[tuple[str, Any]] | None = None, track: bool = True) -> str:
        action_id = self._next_action_id(kind)
        if track:
            self._pending_actions[action_id] = kind
        self._send(self.address, "instantActions", {"actions": [m.action(kind, action_id, "HARD", params or [])]})
        return action_id
