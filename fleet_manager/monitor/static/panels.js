// Side panels: robot list and detail, alarms, orders and tasks, sorter lanes, KPI bars.
import { stateColour } from "./mapview.js";

const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const pct = (v) => (typeof v === "number" ? `${Math.round(v * 100)}%` : "–");
export const ROBOT_COMMANDS = [
  ["pause", "Pause"], ["resume", "Resume"], ["charge", "Charge"], ["park", "Park"],
  ["out_of_service", "Out of service"], ["in_service", "In service"],
];

export function renderRobotTable(tbody, robots, { search, state, selected }) {
  const rows = robots
    .filter((r) => (!search || r.id.toLowerCase().includes(search.toLowerCase())) && (!state || robotState(r) === state))
    .map((r) => `<tr data-robot="${esc(r.id)}" class="${r.id === selected ? "selected" : ""}">
      <td><i style="display:inline-block;width:8px;height:8px;border-radius:4px;background:${stateColour(r.state, r.paused)}"></i> ${esc(r.id)}</td>
      <td>${esc(robotState(r))}</td><td>${pct(r.battery_soc)}</td><td>${esc(r.task_id || "")}</td></tr>`);
  tbody.innerHTML = rows.join("");
}

export function robotState(r) { return r.paused ? "paused" : (r.state || "unknown"); }

export function renderRobotDetail(el, robot, { canCommand, reason, lastError }) {
  if (!robot) { el.hidden = true; return; }
  el.hidden = false;
  const buttons = ROBOT_COMMANDS.map(([cmd, label]) =>
    `<button type="button" data-cmd="${cmd}" ${canCommand ? "" : `disabled title="${esc(reason)}"`}>${label}</button>`).join("");
  el.innerHTML = `<h3>${esc(robot.id)} <span class="muted">${esc(robotState(robot))}</span></h3>
    <div>battery ${pct(robot.battery_soc)} · task ${esc(robot.task_id || "none")} · pod ${esc(robot.pod_id || "none")}</div>
    <div class="muted">at (${(robot.x_m ?? 0).toFixed(1)}, ${(robot.y_m ?? 0).toFixed(1)}) m, heading ${Math.round(robot.heading_deg || 0)}°,
      path ${Array.isArray(robot.path_ahead) ? robot.path_ahead.length : 0} cells</div>
    <div class="error">${esc(lastError || robot.error || "")}</div>
    <div class="cmds">${buttons}</div>
    ${canCommand ? "" : `<div class="muted" id="cmd-reason">${esc(reason)}</div>`}`;
}

export function renderAlarms(ul, alarms, { canAck, reason }) {
  const sorted = [...alarms].sort((a, b) => (b.raised_s ?? b.at_s ?? 0) - (a.raised_s ?? a.at_s ?? 0) || String(b.id).localeCompare(String(a.id)));
  ul.innerHTML = sorted.map((a) => {
    const acked = a.acknowledged_by || a.acked_by;
    const ackInfo = acked ? `<div class="muted">acknowledged by ${esc(acked)} at ${esc(a.acknowledged_at || a.acked_at || "")}</div>`
      : `<button type="button" data-ack="${esc(a.id)}" ${canAck ? "" : `disabled title="${esc(reason)}"`}>Acknowledge</button>`;
    return `<li class="sev-${esc(a.severity || "warning")} ${acked ? "acked" : ""}" data-alarm="${esc(a.id)}">
      <strong>${esc(a.severity || "warning")}</strong> ${esc(a.source || "")} ${esc(a.code || "")}
      <div>${esc(a.message || "")}</div>${ackInfo}</li>`;
  }).join("");
  return sorted.filter((a) => !(a.acknowledged_by || a.acked_by)).length;
}

export function renderOrders(tbody, orders, nowS) {
  tbody.innerHTML = orders.map((o) => {
    const created = o.created_s ?? 0;
    const late = o.due_s != null && nowS > o.due_s && !["done", "cancelled", "failed"].includes(o.state);
    return `<tr class="${late ? "late" : ""}"><td>${esc(o.id)}</td><td>${esc(o.state)}${late ? " (late)" : ""}</td>
      <td>${Math.max(0, Math.round((nowS - created) / 60))} min</td><td>${esc(o.station_id || "")}</td></tr>`;
  }).join("");
}

export function renderTasks(tbody, tasks) {
  tbody.innerHTML = tasks.map((t) => `<tr><td>${esc(t.id)}</td><td>${esc(t.kind)}</td><td>${esc(t.state)}</td>
    <td>${esc(t.resource_id || "")}</td></tr>`).join("");
}

export function renderLanes(tbody, lanes, { canCommand, reason }) {
  tbody.innerHTML = lanes.map((l) => {
    const cap = l.capacity_items || l.capacity || 0;
    const fill = l.fill ?? l.fill_items ?? 0;
    const enabled = l.enabled !== false;
    return `<tr><td>${esc(l.id)}</td><td>${esc(l.role || "")}</td><td>${fill}/${cap}</td>
      <td><button type="button" data-lane="${esc(l.id)}" data-enable="${enabled ? "0" : "1"}" ${canCommand ? "" : `disabled title="${esc(reason)}"`}>
      ${enabled ? "Disable" : "Enable"}</button></td></tr>`;
  }).join("");
}

export function renderStationBars(el, stations) {
  el.innerHTML = stations.map((s) => {
    const u = typeof s.utilisation === "number" ? s.utilisation : (typeof s.busy_share === "number" ? s.busy_share : 0);
    return `<div>${esc(s.id)} ${pct(u)} · queue ${(s.queue_robot_ids || []).length}</div><div class="bar"><div style="width:${Math.round(u * 100)}%"></div></div>`;
  }).join("");
}
