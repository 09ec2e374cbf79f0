// Side panels: robot list and detail, alarms, orders and tasks, sorter lanes, station bars.
import { robotState, stateColour, STATE_COLOURS } from "./mapview.js";

export const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const pct = (v) => (typeof v === "number" && Number.isFinite(v) ? `${Math.round(v * 100)}%` : "–");
export const ROBOT_COMMANDS = [
  ["pause", "Pause"], ["resume", "Resume"], ["charge", "Charge"], ["park", "Park"],
  ["out_of_service", "Out of service"], ["in_service", "In service"],
  ["clear_fault", "Clear fault"], ["confirm_check", "Confirm check"],
];

// Why a command cannot apply to the robot in its current state ("" when it can).
export function commandBlocked(cmd, r) {
  if (!r) return "robot not in the latest snapshot";
  const fault = r.error ? `faulted (${r.error}): clear the fault first` : "";
  switch (cmd) {
    case "pause": return fault || (r.paused ? "already paused" : "");
    case "resume": return fault || (r.paused ? "" : "not paused");
    case "charge": case "park": return fault || (r.out_of_service ? "out of service" : "");
    case "out_of_service": return r.out_of_service ? "already out of service" : "";
    case "in_service": return r.out_of_service ? "" : "already in service";
    case "clear_fault": return r.error ? "" : "no fault to clear";
    case "confirm_check": return r.needs_check ? "" : "needs no check";
    default: return "";
  }
}
export { robotState };

export function simClock(s) {
  if (typeof s !== "number" || !Number.isFinite(s)) return "–";
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  return `${h}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`;
}

const dot = (state) => `<i class="dot" style="background:${stateColour(state)}"></i>`;
const disabledAttr = (allowed, reason) => (allowed ? "" : `disabled title="${esc(reason)}"`);

export function renderLegend(el) {
  el.innerHTML = Object.keys(STATE_COLOURS).map((s) => `<span>${dot(s)}${esc(s.replace(/_/g, " "))}</span>`).join("")
    + `<span><i class="sq pod"></i>pod</span>`;
}

export function renderRobotTable(tbody, robots, { search, state, selected, limit = 300 }) {
  const needle = (search || "").trim().toLowerCase();
  const shown = robots.filter((r) => (!needle || r.id.toLowerCase().includes(needle)) && (!state || robotState(r) === state));
  const rows = shown.slice(0, limit).map((r) => {
    const st = robotState(r);
    return `<tr data-robot="${esc(r.id)}" class="${r.id === selected ? "selected" : ""}">
      <td>${dot(st)} ${esc(r.id)}</td><td>${esc(st)}</td><td>${pct(r.battery_soc)}</td><td>${esc(r.task_id || "")}</td></tr>`;
  });
  if (shown.length > limit) rows.push(`<tr><td colspan="4" class="muted">${shown.length - limit} more: refine the search</td></tr>`);
  tbody.innerHTML = rows.join("");
  return shown.length;
}

export function renderRobotDetail(el, robot, { id, canCommand, reason, lastError, task }) {
  if (!id) { el.hidden = true; el.dataset.robot = ""; return; }
  el.hidden = false;
  if (el.dataset.robot !== id) {
    // Buttons are rendered once per selection, so a refresh never swaps them under the pointer.
    const buttons = ROBOT_COMMANDS.map(([cmd, label]) =>
      `<button type="button" data-cmd="${cmd}" ${disabledAttr(canCommand, reason)}>${label}</button>`).join("");
    el.innerHTML = `<h3><span class="title"></span><button type="button" class="close" data-close="1" title="close">×</button></h3>
      <div class="info"></div><div class="cmds">${buttons}</div>
      ${canCommand ? "" : `<div class="muted reason" id="cmd-reason">${esc(reason)}</div>`}`;
    el.dataset.robot = id;
  }
  const title = el.querySelector(".title"), info = el.querySelector(".info");
  if (!robot) {
    title.innerHTML = esc(id);
    info.innerHTML = `<div class="error" id="robot-error">robot ${esc(id)} is not in the latest snapshot${lastError ? `; ${esc(lastError)}` : ""}</div>`;
    return;
  }
  if (canCommand) {
    // Updated in place each refresh: a button that cannot apply to this state is disabled.
    for (const b of el.querySelectorAll("button[data-cmd]")) {
      const why = commandBlocked(b.dataset.cmd, robot);
      b.disabled = Boolean(why);
      b.title = why;
    }
  }
  const path = Array.isArray(robot.path_ahead) ? robot.path_ahead : [];
  const err = lastError || (robot.error ? `fault: ${robot.error}` : "");
  const st = robotState(robot);
  title.innerHTML = `${dot(st)} ${esc(robot.id)} <span class="muted">${esc(st)}</span>`;
  info.innerHTML = `<div class="kv"><span>battery</span><b>${pct(robot.battery_soc)}</b><span>task</span><b>${esc(robot.task_id || "none")}${task ? ` <span class="muted">${esc(task.kind)} · ${esc(task.state)}${task.order_id ? ` · ${esc(task.order_id)}` : ""}</span>` : ""}</b>
      <span>pod</span><b>${esc(robot.pod_id || "none")}</b><span>position</span><b>(${(robot.x_m ?? 0).toFixed(1)}, ${(robot.y_m ?? 0).toFixed(1)}) m, ${Math.round(robot.heading_deg || 0)}°</b>
      <span>path</span><b>${path.length ? `${path.length} cells ahead (dashed on the map)` : "none"}</b>
      <span>last error</span><b class="error" id="robot-error">${esc(err || "none")}</b>
      ${robot.needs_check ? `<span>needs check</span><b id="robot-check">${esc(robot.needs_check)}</b>` : ""}</div>`;
}

export function renderAlarms(ul, alarms, { canAck, reason }) {
  const sorted = [...alarms].sort((a, b) => (b.raised_s ?? 0) - (a.raised_s ?? 0) || String(b.id).localeCompare(String(a.id)));
  ul.innerHTML = sorted.length ? sorted.map((a) => {
    const acked = a.acknowledged_by;
    const at = a.acknowledged_s;
    const cleared = a.cleared_s != null || a.state === "cleared";
    const ackInfo = acked
      ? `<div class="acked-by">acknowledged by <b>${esc(acked)}</b> at sim ${esc(simClock(at))}</div>`
      : `<button type="button" data-ack="${esc(a.id)}" ${disabledAttr(canAck, reason)}>Acknowledge</button>
         ${canAck ? "" : `<span class="muted reason">${esc(reason)}</span>`}`;
    const sev = String(a.severity || "warning");
    return `<li class="sev-${esc(sev)} ${acked ? "acked" : ""}" data-alarm="${esc(a.id)}" data-raised-s="${esc(a.raised_s ?? "")}">
      <div><b class="sev">${esc(sev)}</b> <b>${esc(a.id)}</b> ${esc(a.resource_id || "")} · ${esc(a.code || "")}
      <span class="muted">raised sim ${esc(simClock(a.raised_s))}${cleared ? " · cleared" : ""}</span></div>
      <div>${esc(a.message || "")}</div>${ackInfo}</li>`;
  }).join("") : `<li class="muted empty">no alarms</li>`;
  return sorted.filter((a) => !(a.acknowledged_by) && a.cleared_s == null && a.state !== "cleared").length;
}

export function renderOrders(tbody, orders, nowS) {
  const nowWall = Date.now() / 1000;
  tbody.innerHTML = orders.map((o) => {
    const open = !["done", "cancelled", "failed"].includes(o.state);
    const late = open && o.due_s != null && nowS > o.due_s;
    const ageS = typeof o.created_at === "number" ? nowWall - o.created_at : nowS - (o.created_s ?? nowS);
    const units = (o.lines || []).reduce((n, l) => n + (l.quantity || 0), 0);
    return `<tr class="${late ? "late" : ""}" data-order="${esc(o.id)}"><td>${esc(o.id)}</td><td>${esc(o.state)}${late ? " · LATE" : ""}</td>
      <td>${formatAge(ageS)}</td><td>${units}</td><td>${esc(o.station_id || "")}</td></tr>`;
  }).join("") || `<tr><td colspan="5" class="muted">no open orders</td></tr>`;
}

function formatAge(s) {
  if (!Number.isFinite(s) || s < 0) return "–";
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export function renderTasks(tbody, tasks, nowS) {
  tbody.innerHTML = tasks.map((t) => `<tr data-task="${esc(t.id)}"><td>${esc(t.id)}</td><td>${esc(t.kind)}</td><td>${esc(t.state)}</td>
    <td>${formatAge(nowS - (t.created_s ?? nowS))}</td><td>${esc(t.resource_id || "")}</td></tr>`).join("")
    || `<tr><td colspan="5" class="muted">no open tasks</td></tr>`;
}

export function renderLanes(tbody, lanes, { canCommand, reason }) {
  tbody.innerHTML = lanes.map((l) => {
    const cap = l.capacity_items || 0;
    // A PLC-backed lane whose PLC state the bridge cannot know (link down) has fill null.
    const unknown = l.fill_items === null || l.plc_state === "unknown";
    const fill = l.fill_items ?? 0;
    const enabled = l.enabled !== false;
    const share = cap && !unknown ? Math.min(1, fill / cap) : 0;
    const plc = l.plc_state && l.plc_state !== "running" ? ` · PLC ${esc(l.plc_state)}` : "";
    return `<tr data-lane-row="${esc(l.id)}" class="${enabled ? "" : "disabled-lane"}${unknown ? " unknown-state" : ""}"><td>${esc(l.id)}</td><td>${esc(l.role || "")}</td>
      <td><div class="bar small"><div style="width:${Math.round(share * 100)}%"></div></div>${unknown ? "unknown" : fill}/${cap}</td>
      <td data-plc-state="${esc(l.plc_state || "")}">${enabled ? "enabled" : "disabled"}${plc}</td>
      <td><button type="button" data-lane="${esc(l.id)}" data-enable="${enabled ? "0" : "1"}" ${disabledAttr(canCommand, reason)}>
      ${enabled ? "Disable" : "Enable"}</button></td></tr>`;
  }).join("") || `<tr><td colspan="5" class="muted">this site has no sorter lanes</td></tr>`;
}

export function renderStationBars(el, stations, kpis) {
  const idle = (kpis && kpis.station_idle_share) || {};
  const uph = (kpis && kpis.units_per_h_by_station) || {};
  el.innerHTML = stations.map((s) => {
    const u = typeof idle[s.id] === "number" ? 1 - idle[s.id] : 0;
    const q = Array.isArray(s.queue_robot_ids) ? s.queue_robot_ids.length : 0;
    return `<div>${esc(s.id)} ${pct(u)} busy · ${Math.round(uph[s.id] || 0)} units/h · queue ${q}</div>
      <div class="bar"><div style="width:${Math.round(u * 100)}%"></div></div>`;
  }).join("");
}

const CRANE_STATES = { 0: "idle", 1: "busy", 2: "fault" };  // crane telegram state codes

// One line per AS/RS aisle from the snapshot's `cranes`: crane state, queued jobs, or its fault.
export function renderCranes(el, cranes, { canCommand = false, reason = "" } = {}) {
  const list = cranes && typeof cranes === "object" ? Object.entries(cranes) : [];
  const off = canCommand ? "" : `disabled title="${esc(reason)}"`;
  const html = list.length ? list.map(([aisle, c]) => {
    const head = `${esc(aisle)} · ${esc(c.crane_id || "crane")}`;
    if (c.fault) {
      return `<div class="error">${head} FAULT: ${esc(c.fault)}</div>
        <div class="cmds"><button type="button" data-reset="${esc(aisle)}" data-cancel="0" ${off}>Reset, finish move</button>
        <button type="button" data-reset="${esc(aisle)}" data-cancel="1" ${off}>Reset, cancel move</button></div>`;
    }
    return `<div>${head} ${esc(CRANE_STATES[c.state] ?? c.state ?? "")}${c.load_id ? ` · carrying ${esc(c.load_id)}` : ""} · ${Number(c.pending_jobs) || 0} jobs queued</div>`;
  }).join("") : `<div class="muted">no AS/RS</div>`;
  // Re-render only on change: the snapshot arrives 6 times a second and would eat clicks.
  if (el.dataset.html === html) return;
  el.dataset.html = html;
  el.innerHTML = html;
}
