// Monitor wiring: login, map, live snapshots, the durable event stream with catch-up, panels, commands.
import { api, items, getToken, setToken, clearToken } from "./api.js";
import { Stream } from "./stream.js";
import { MapView } from "./mapview.js";
import { lineChart } from "./charts.js";
import * as panels from "./panels.js";

const $ = (sel) => document.querySelector(sel);
const VIEWER_REASON = "read-only: commands need the technician role";

const state = {
  me: null, site: null, snapshot: null, robots: [], alarms: new Map(), orders: [], tasks: [], lanes: [],
  selected: null, lastSeq: 0, malformed: 0, eventsSeen: 0, lastErrors: {}, unitsHistory: [], stateHistory: [],
  streams: [], liveUp: false, eventsUp: false,
};
const map = new MapView($("#map"));

function canCommand() { return state.me && (state.me.role === "technician" || state.me.role === "admin"); }

function toast(text, ok = false) {
  const el = $("#toast");
  el.textContent = text;
  el.className = ok ? "ok" : "";
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 6000);
}

function setConnection() {
  const up = state.liveUp && state.eventsUp;
  const conn = $("#conn");
  conn.textContent = up ? "live" : "offline";
  conn.className = `conn ${up ? "conn-up" : "conn-down"}`;
  const banner = $("#banner");
  if (up) { banner.hidden = true; return; }
  if (!state.me) return;
  banner.textContent = "Connection to the WCS server lost: reconnecting… (the page catches up by itself)";
  banner.hidden = false;
}

async function login(token) {
  setToken(token);
  try {
    state.me = await api("/api/v1/me");
  } catch (e) {
    clearToken();
    const err = $("#login-error");
    err.textContent = e.status === 401 ? "That token is not valid." : `Login failed: ${e.message}`;
    err.hidden = false;
    return;
  }
  $("#login").hidden = true;
  $("#who").textContent = `${state.me.name || ""} (${state.me.role})`;
  $("#logout").hidden = false;
  await start();
}

async function loadSite() {
  for (;;) {
    try { return await api("/api/v1/map"); } catch (e) { await new Promise((r) => setTimeout(r, 1000)); }
  }
}

async function start() {
  state.site = await loadSite();
  $("#site-name").textContent = `WCS · ${state.site.name || "site"}`;
  map.setSite(state.site);
  map.onSelect = (id) => selectRobot(id);
  await Promise.all([refreshAlarms(), refreshOrders(), refreshLanes()]);
  const live = new Stream("/api/v1/live", {
    firstMessage: () => ({ token: getToken() }),
    onMessage: (msg) => onSnapshot(msg),
    onStatus: (s) => { state.liveUp = s === "up"; setConnection(); if (s === "unauthorized") logout(); },
  });
  const events = new Stream("/api/v1/events", {
    firstMessage: () => ({ token: getToken(), after: state.lastSeq }),
    onMessage: (msg) => onEvents(msg),
    onStatus: (s) => {
      state.eventsUp = s === "up"; setConnection();
      if (s === "up") { refreshAlarms(); refreshOrders(); refreshLanes(); }
    },
  });
  state.streams = [live, events];
  live.start();
  events.start();
  requestAnimationFrame(frame);
}

function onSnapshot(msg) {
  try {
    if (!msg || !Array.isArray(msg.robots)) { state.malformed += 1; return; }
    state.snapshot = msg;
    state.robots = msg.robots.filter((r) => r && typeof r.id === "string");
    map.setSnapshot({ ...msg, robots: state.robots });
    const t = msg.time_s ?? msg.now_s ?? msg.t ?? 0;
    $("#clock").textContent = `sim ${formatTime(t)}`;
    const k = msg.kpis || {};
    const uph = k.units_per_h ?? k.site_units_per_h ?? 0;
    $("#kpi-strip").textContent = `${Math.round(uph)} units/h · ${k.orders_done ?? k.orders_completed ?? 0} orders done`;
    recordHistory(t, uph);
    if (msg.lanes) state.lanes = msg.lanes;
    updatePanels();
  } catch (e) {
    state.malformed += 1;
  }
}

function onEvents(msg) {
  const list = Array.isArray(msg) ? msg : (msg && Array.isArray(msg.events) ? msg.events : [msg]);
  let refreshO = false, refreshA = false, refreshL = false;
  for (const ev of list) {
    try {
      if (!ev || typeof ev.seq !== "number") { state.malformed += 1; continue; }
      if (ev.seq <= state.lastSeq) continue;
      state.lastSeq = ev.seq;
      state.eventsSeen += 1;
      if (ev.topic === "alarm") { applyAlarm(ev); refreshA = true; }
      else if (ev.topic === "order" || ev.topic === "task") refreshO = true;
      else if (ev.topic === "lane" || ev.topic === "sort") refreshL = true;
    } catch (e) {
      state.malformed += 1;
    }
  }
  if (refreshA) renderAlarms();
  if (refreshO) throttled("orders", refreshOrders, 1000);
  if (refreshL) throttled("lanes", refreshLanes, 1000);
}

function applyAlarm(ev) {
  const a = ev.data || {};
  const id = a.id ?? a.alarm_id;
  if (id === undefined) return;
  const prev = state.alarms.get(String(id)) || {};
  state.alarms.set(String(id), { ...prev, ...a, id });
}

const throttles = {};
function throttled(key, fn, ms) {
  if (throttles[key]) return;
  throttles[key] = setTimeout(() => { throttles[key] = null; fn(); }, ms);
}

async function refreshAlarms() {
  try {
    for (const a of items(await api("/api/v1/alarms?limit=200"))) state.alarms.set(String(a.id), a);
    renderAlarms();
  } catch (e) { /* the stream status shows outages */ }
}

async function refreshOrders() {
  try {
    state.orders = items(await api("/api/v1/orders?limit=50"));
    state.tasks = items(await api("/api/v1/tasks?limit=50"));
    panels.renderOrders($("#order-table tbody"), state.orders, state.snapshot?.time_s ?? 0);
    panels.renderTasks($("#task-table tbody"), state.tasks);
  } catch (e) { /* shown by the banner */ }
}

async function refreshLanes() {
  try {
    state.lanes = items(await api("/api/v1/lanes"));
    renderLanes();
  } catch (e) { /* sites without a sorter have no lanes */ }
}

function renderAlarms() {
  const open = panels.renderAlarms($("#alarm-list"), [...state.alarms.values()], { canAck: canCommand(), reason: VIEWER_REASON });
  $("#alarm-count").textContent = open ? String(open) : "";
}

function renderLanes() {
  panels.renderLanes($("#lane-table tbody"), state.lanes, { canCommand: canCommand(), reason: VIEWER_REASON });
}

function updatePanels() {
  const filter = $("#robot-filter");
  const states = [...new Set(state.robots.map(panels.robotState))].sort();
  if (filter.options.length - 1 !== states.length) {
    const current = filter.value;
    filter.innerHTML = `<option value="">all states</option>` + states.map((s) => `<option>${s}</option>`).join("");
    filter.value = current;
  }
  panels.renderRobotTable($("#robot-table tbody"), state.robots,
    { search: $("#robot-search").value, state: filter.value, selected: state.selected });
  const robot = state.robots.find((r) => r.id === state.selected);
  if (state.selected && !$("#robot-detail").matches(":hover")) {
    panels.renderRobotDetail($("#robot-detail"), robot,
      { canCommand: canCommand(), reason: VIEWER_REASON, lastError: state.lastErrors[state.selected] });
  }
  if (!$("#tab-kpis").hidden) renderKpis();
}

function recordHistory(t, uph) {
  const last = state.unitsHistory[state.unitsHistory.length - 1];
  if (last && t - last[0] < 10) return;
  state.unitsHistory.push([t, uph]);
  const counts = {};
  for (const r of state.robots) counts[panels.robotState(r)] = (counts[panels.robotState(r)] || 0) + 1;
  state.stateHistory.push([t, counts]);
  const cutoff = t - 3600;
  while (state.unitsHistory.length && state.unitsHistory[0][0] < cutoff) state.unitsHistory.shift();
  while (state.stateHistory.length && state.stateHistory[0][0] < cutoff) state.stateHistory.shift();
}

function renderKpis() {
  lineChart($("#chart-units"), [{ name: "units/h", colour: "#58a6ff", points: state.unitsHistory }]);
  const names = [...new Set(state.stateHistory.flatMap(([, c]) => Object.keys(c)))];
  const colours = ["#58a6ff", "#8b949e", "#d29922", "#f0883e", "#f85149", "#a371f7", "#3fb950"];
  lineChart($("#chart-states"), names.map((n, i) => ({
    name: n, colour: colours[i % colours.length], points: state.stateHistory.map(([t, c]) => [t, c[n] || 0]),
  })));
  panels.renderStationBars($("#station-bars"), (state.snapshot && state.snapshot.stations) || []);
}

function selectRobot(id) {
  state.selected = id;
  map.selected = id;
  const robot = state.robots.find((r) => r.id === id);
  panels.renderRobotDetail($("#robot-detail"), robot,
    { canCommand: canCommand(), reason: VIEWER_REASON, lastError: state.lastErrors[id] });
}

async function robotCommand(id, command) {
  try {
    await api(`/api/v1/robots/${encodeURIComponent(id)}/commands`, { method: "POST", body: { command } });
    state.lastErrors[id] = "";
    toast(`${id}: ${command} sent`, true);
  } catch (e) {
    state.lastErrors[id] = `${command} failed: ${e.message}`;
    toast(`Robot ${id}: ${command} failed: ${e.message}`);
  }
  selectRobot(id);
}

async function ackAlarm(id) {
  try {
    const a = await api(`/api/v1/alarms/${encodeURIComponent(id)}/ack`, { method: "POST", body: {} });
    if (a && a.id !== undefined) state.alarms.set(String(a.id), a);
    renderAlarms();
  } catch (e) { toast(`Alarm ${id}: acknowledge failed: ${e.message}`); }
}

async function setLane(id, enabled) {
  try {
    await api(`/api/v1/lanes/${encodeURIComponent(id)}`, { method: "PATCH", body: { enabled } });
    await refreshLanes();
  } catch (e) { toast(`Lane ${id}: ${enabled ? "enable" : "disable"} failed: ${e.message}`); }
}

function formatTime(s) {
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  return `${h}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`;
}

function frame() {
  try { map.draw(); } catch (e) { state.malformed += 1; }
  requestAnimationFrame(frame);
}

function logout() {
  clearToken();
  for (const s of state.streams) s.stop();
  location.reload();
}

$("#login-form").addEventListener("submit", (e) => { e.preventDefault(); login($("#token").value.trim()); });
$("#logout").addEventListener("click", logout);
$("#robot-search").addEventListener("input", updatePanels);
$("#robot-filter").addEventListener("change", updatePanels);
$("#robot-table tbody").addEventListener("click", (e) => {
  const tr = e.target.closest("tr[data-robot]");
  if (tr) selectRobot(tr.dataset.robot);
});
$("#robot-detail").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-cmd]");
  if (b && !b.disabled && state.selected) robotCommand(state.selected, b.dataset.cmd);
});
$("#alarm-list").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-ack]");
  if (b && !b.disabled) ackAlarm(b.dataset.ack);
});
$("#lane-table").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-lane]");
  if (b && !b.disabled) setLane(b.dataset.lane, b.dataset.enable === "1");
});
for (const b of document.querySelectorAll("#tabs button")) {
  b.addEventListener("click", () => {
    for (const o of document.querySelectorAll("#tabs button")) o.classList.toggle("active", o === b);
    for (const t of document.querySelectorAll(".tab")) t.hidden = t.id !== `tab-${b.dataset.tab}`;
    if (b.dataset.tab === "kpis") renderKpis();
  });
}

// Read-only hooks for browser tests and the load benchmark; they expose what was drawn, never control.
window.wcsMonitor = {
  drawnRobots: () => map.drawn,
  frames: () => map.frames,
  lastSeq: () => state.lastSeq,
  eventsSeen: () => state.eventsSeen,
  malformed: () => state.malformed,
  role: () => state.me && state.me.role,
  connected: () => state.liveUp && state.eventsUp,
};

const saved = getToken();
if (saved) login(saved);
