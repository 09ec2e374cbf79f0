"""SimVehicle: the behaviour of one simulated VDA 5050 vehicle (no MQTT; see host.py for that).

It drives straight between the positions of released order nodes at the RobotModel's speed,
turning on the spot first, runs `pick` / `drop` node actions for the lift time, drains and
charges its battery, and answers order updates and instant actions as VDA 5050 2.1 / 3.0 ask:
stale or non-stitching updates are rejected with an `orderUpdateError` in its state. Input is
checked against its own version's schema, then decoded to the internal model (`codec`); its
state keeps instant actions apart (`instantActionStates`, as 3.0 asks; 2.1 merges them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fleet_manager.robots.vda5050 import messages as m
from fleet_manager.robots.vda5050.codec import V2, Codec
from fleet_manager.robots.vda5050.schema import check
from fleet_manager.site.model import RobotModel

Outbox = Callable[[str, dict[str, Any]], None]  # (subtopic, body without header)
MAX_ACTION_STATES = 32


@dataclass
class Pose:
    x: float = 0.0
    y: float = 0.0
    theta: float = 0.0
    initialised: bool = False


@dataclass
class RunningAction:
    action_id: str
    action_type: str
    remaining_s: float
    load_id: str = ""


@dataclass
class SimVehicle:
    """One vehicle; `handle(subtopic, msg)` for input, `advance(dt_s)` for time, `state()` out."""

    model: RobotModel
    emit: Outbox
    state_interval_s: float = 1.0
    pose: Pose = field(default_factory=Pose)
    last_node_id: str = ""
    last_node_seq: int = 0
    soc_pct: float = 100.0
    order_id: str = ""
    update_id: int = 0
    nodes: list[dict[str, Any]] = field(default_factory=list)  # not yet reached, base + horizon
    edges: list[dict[str, Any]] = field(default_factory=list)
    action_states: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    running: list[RunningAction] = field(default_factory=list)
    load_id: str | None = None
    paused: bool = False
    charging: bool = False
    driving: bool = False
    cancelling: bool = False
    distance_m: float = 0.0
    codec: Codec = V2  # wire version it speaks (validation and decoding of its input)
    instant_ids: set[str] = field(default_factory=set)  # actionIds that came as instant actions

    # ---- input -----------------------------------------------------------------------------
    def handle(self, subtopic: str, msg: Any) -> None:
        issues = check(subtopic, msg, self.codec.version)
        if not issues:
            msg = self.codec.decode(subtopic, msg)
        if issues:
            self._error("validationError", f"{subtopic} rejected: {issues[0]}",
                        [("topic", subtopic), ("field", issues[0].field)])
        elif subtopic == "order":
            self._on_order(msg)
        elif subtopic == "instantActions":
            for a in msg["actions"]:
                self._on_instant(a)
        self.publish_state()

    def _on_order(self, msg: dict[str, Any]) -> None:
        oid, uid, nodes = msg["orderId"], msg["orderUpdateId"], msg["nodes"]
        refs = [("orderUpdateId", str(uid)), ("orderId", oid)]
        if oid == self.order_id:
            if uid < self.update_id:
                return self._error("orderUpdateError", f"stale orderUpdateId {uid} < {self.update_id}", refs)
            if uid == self.update_id:
                return None  # duplicate delivery: already applied
            base = [n for n in self.nodes if n["released"]]
            stitch = base[-1] if base else {"nodeId": self.last_node_id, "sequenceId": self.last_node_seq}
            first = nodes[0]
            if (first["nodeId"], first["sequenceId"]) != (stitch["nodeId"], stitch["sequenceId"]):
                return self._error("orderUpdateError", "update does not start at the last base node", refs)
            self.nodes = base + nodes[1:]
            self.edges = [e for e in self.edges if e["released"]] + msg["edges"]
        else:
            if self.busy_with_order():
                return self._error("orderError", f"order {oid} rejected: order {self.order_id} still running", refs)
            if not self.pose.initialised or nodes[0]["nodeId"] != self.last_node_id:
                return self._error("orderError", f"order {oid} does not start at {self.last_node_id!r}", refs)
            self.order_id, self.last_node_seq = oid, nodes[0]["sequenceId"]
            self.nodes, self.edges = list(nodes[1:]), list(msg["edges"])
            self.action_states = {k: v for k, v in self.action_states.items() if v["actionStatus"] not in ("FINISHED", "FAILED")}
            self._start_node_actions(nodes[0])
        self.update_id = uid
        self.errors = [e for e in self.errors if e["errorType"] not in ("orderError", "orderUpdateError")]
        for n in nodes[1:]:
            for a in n["actions"]:
                self._action_state(a["actionId"], a["actionType"], "WAITING")

    def _on_instant(self, a: dict[str, Any]) -> None:
        kind, aid = a["actionType"], a["actionId"]
        self.instant_ids.add(aid)
        params = {p["key"]: p["value"] for p in a.get("actionParameters", [])}
        status, result = "FINISHED", ""
        if kind == "startPause":
            self.paused = True
        elif kind == "stopPause":
            self.paused = False
        elif kind == "cancelOrder":
            if not self.order_id or not (self.nodes or self.running):
                status, result = "FAILED", "noOrderToCancel"
            else:
                self.cancelling = True  # finish the current edge, then drop the rest
                self._action_state(aid, kind, "RUNNING")
                if self.distance_m <= 1e-9:
                    self._maybe_finish_cancel()  # standing on a node: stop right here
                return
        elif kind == "initPosition":
            if self.busy_with_order():
                status, result = "FAILED", "vehicle is executing an order"
            else:
                self.pose = Pose(float(params["x"]), float(params["y"]), float(params.get("theta", 0.0)), True)
                self.last_node_id, self.last_node_seq = str(params.get("lastNodeId", "")), 0
        elif kind == "factsheetRequest":
            self.emit("factsheet", {})  # host fills the body (it knows the factsheet)
        elif kind == "stateRequest":
            pass  # handle() publishes a state after every message anyway
        elif kind == "startCharging":
            if self.driving:
                status, result = "FAILED", "vehicle is driving"
            else:
                self.charging = True
        elif kind == "stopCharging":
            self.charging = False
        else:
            status, result = "FAILED", f"unsupported instant action {kind}"
        self._action_state(aid, kind, status, result)

    # ---- time ------------------------------------------------------------------------------
    def advance(self, dt_s: float) -> None:
        """Let dt_s simulated seconds pass; publishes a state when a node or action completes."""
        changed = False
        moving = False
        for run in list(self.running):
            run.remaining_s -= dt_s
            if run.remaining_s <= 0:
                self.running.remove(run)
                self.load_id = run.load_id if run.action_type == "pick" else None
                self._action_state(run.action_id, run.action_type, "FINISHED")
                changed = True
        budget = dt_s
        while budget > 1e-12 and not self.paused and not self.running and not self.charging:
            target = self._next_target()
            if target is None:
                break
            moving = True
            budget, arrived = self._drive_towards(target, budget)
            if arrived:
                self._arrive(target)
                changed = True
        self.driving = moving
        watts = self.model.drain_moving_w if (moving or self.running) else self.model.drain_idle_w
        gain_w = self.model.charge_w if self.charging else 0.0
        self.soc_pct = min(100.0, max(0.0, self.soc_pct + (gain_w - watts) * dt_s / 36.0 / self.model.battery_wh))
        if changed:
            self.publish_state()

    def _next_target(self) -> dict[str, Any] | None:
        if not self.nodes or not self.nodes[0]["released"]:
            return None
        if self.cancelling and self.distance_m <= 1e-9:
            return None
        if not self.edges or not self.edges[0]["released"]:
            return None
        return self.nodes[0]

    def _drive_towards(self, node: dict[str, Any], budget_s: float) -> tuple[float, bool]:
        pos = node["nodePosition"]
        dx, dy = pos["x"] - self.pose.x, pos["y"] - self.pose.y
        dist = math.hypot(dx, dy)
        if dist > 1e-9:
            heading = math.atan2(dy, dx)
            turn = abs(m.wrap_theta(heading - self.pose.theta))
            turn_rate = 2 * math.pi / max(self.model.turn_time_s, 1e-9)
            if turn > 1e-6:
                step = min(turn, turn_rate * budget_s)
                self.pose.theta = m.wrap_theta(self.pose.theta + math.copysign(step, m.wrap_theta(heading - self.pose.theta)))
                budget_s -= step / turn_rate
                if step < turn:
                    return 0.0, False
        speed = min(self.model.speed_mps, self.edges[0].get("maxSpeed", self.model.speed_mps))
        travel = min(dist, speed * budget_s)
        if dist > 1e-9:
            self.pose.x += dx / dist * travel
            self.pose.y += dy / dist * travel
        self.distance_m += travel
        budget_s -= travel / speed if speed > 0 else budget_s
        return max(budget_s, 0.0), travel >= dist - 1e-9

    def _arrive(self, node: dict[str, Any]) -> None:
        pos = node["nodePosition"]
        self.pose.x, self.pose.y = pos["x"], pos["y"]
        self.nodes.pop(0)
        self.edges.pop(0)
        self.last_node_id, self.last_node_seq = node["nodeId"], node["sequenceId"]
        self.distance_m = 0.0
        self._start_node_actions(node)
        self._maybe_finish_cancel()

    def _start_node_actions(self, node: dict[str, Any]) -> None:
        for a in node["actions"]:
            params = {p["key"]: p["value"] for p in a.get("actionParameters", [])}
            if a["actionType"] in ("pick", "drop"):
                self.running.append(RunningAction(a["actionId"], a["actionType"], self.model.lift_time_s,
                                                  str(params.get("loadId", ""))))
                self._action_state(a["actionId"], a["actionType"], "RUNNING")
            else:
                self._action_state(a["actionId"], a["actionType"], "FAILED", "unsupported node action")

    def _maybe_finish_cancel(self) -> None:
        if not self.cancelling:
            return
        self.cancelling = False
        self.nodes, self.edges = [], []
        for st in self.action_states.values():
            if st["actionType"] == "cancelOrder" and st["actionStatus"] == "RUNNING":
                st["actionStatus"] = "FINISHED"
            elif st["actionStatus"] == "WAITING":
                st["actionStatus"] = "FAILED"

    # ---- output ----------------------------------------------------------------------------
    def busy_with_order(self) -> bool:
        return any(n["released"] for n in self.nodes) or bool(self.running)

    def _error(self, kind: str, text: str, refs: list[tuple[str, str]]) -> None:
        self.errors = self.errors[-7:] + [{
            "errorType": kind, "errorLevel": "WARNING", "errorDescription": text,
            "errorReferences": [{"referenceKey": k, "referenceValue": v} for k, v in refs],
        }]

    def _action_state(self, aid: str, kind: str, status: str, result: str = "") -> None:
        st = {"actionId": aid, "actionType": kind, "actionStatus": status}
        if result:
            st["resultDescription"] = result
        self.action_states.pop(aid, None)
        self.action_states[aid] = st
        while len(self.action_states) > MAX_ACTION_STATES:
            self.instant_ids.discard(self.action_states.pop(next(iter(self.action_states)))["actionId"])

    def publish_state(self) -> None:
        self.emit("state", self.state())

    def state(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "orderId": self.order_id,
            "orderUpdateId": self.update_id,
            "lastNodeId": self.last_node_id,
            "lastNodeSequenceId": self.last_node_seq,
            "nodeStates": [{"nodeId": n["nodeId"], "sequenceId": n["sequenceId"], "released": n["released"]}
                           for n in self.nodes],
            "edgeStates": [{"edgeId": e["edgeId"], "sequenceId": e["sequenceId"], "released": e["released"]}
                           for e in self.edges],
            "driving": self.driving,
            "paused": self.paused,
            "newBaseRequest": False,
            "distanceSinceLastNode": self.distance_m,
            "actionStates": [a for a in self.action_states.values() if a["actionId"] not in self.instant_ids],
            "instantActionStates": [a for a in self.action_states.values() if a["actionId"] in self.instant_ids],
            "batteryState": {"batteryCharge": round(self.soc_pct, 3), "charging": self.charging},
            "operatingMode": "AUTOMATIC",
            "errors": list(self.errors),
            "safetyState": {"eStop": "NONE", "fieldViolation": False},
            "loads": [{"loadId": self.load_id, "loadType": "pod"}] if self.load_id else [],
        }
        body["agvPosition"] = {
            "x": self.pose.x, "y": self.pose.y, "theta": self.pose.theta,
            "mapId": m.MAP_ID, "positionInitialized": self.pose.initialised,
        }
        return body
