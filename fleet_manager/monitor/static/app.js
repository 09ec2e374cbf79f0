// Monitor wiring: login, map, live snapshots, the durable event stream with catch-up, panels, commands.
import { api, items, getToken, setToken, clearToken } from "./api.js";
import { Stream } from "./stream.js";
import { MapView, stateColour } from "./mapview.js";
import { lineChart } from "./charts.js";
import * as panels from "./panels.js";

const $ = (sel) => document.querySelector(sel);
const VIEWER_REASON = "read-only: commands and acknowledgements need the technician role";
const TABLE_EVERY_MS = 500;  // side tables refresh at 2 Hz; the map draws every frame
const LANES_EVERY_MS = 2000;  // lane fill is not in the snapshot: polled
const HISTORY_STEP_S = 10;  // KPI history sample spacing, simulated seconds
const RATE_WINDOW_S = 300;  // units/h chart: rate over the last 5 simulated minutes
const HISTORY_WINDOW_S = 3600;  // the server's KPI history the charts start from

const state = {
  me: null, site: null, snapshot: null, robots: [], alarms: new Map(), orders: [], tasks: [], lanes: [],
  selected: null, lastSeq: 0, malformed: 0, eventsSeen: 0, lastErrors: {}, unitsHistory: [], stateHistory: [],
  streams: [], liveUp: false, eventsUp: false, everUp: false, outages: 0, snapshots: 0, tableAt: 0,
  historyLoads: 0,
};
const map = new MapView($("#map"));

function canCommand() { return Boolean(state.me && state.me.role === "technician"); }

function toast(text, ok = false) {
  const el = $("#toast");
  el.textContent = text;
  el.className = ok ? "ok" : "";
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, ok ? 3000 : 8000);
}

function setConnection() {
  const up = state.liveUp && state.eventsUp;
  const conn = $("#conn");
  conn.textContent = up ? "live" : "offline";
  conn.className = `conn ${up ? "conn-up" : "conn-down"}`;
  const banner = $("#banner");
  if (up) { state.everUp = true; banner.hidden = true; return; }
  if (!state.me || !state.everUp) return;
  if (banner.hidden) state.outages += 1;
  banner.textContent = `Connection to the WCS server lost — reconnecting… the page catches up from event #${state.lastSeq} by itself.`;
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
  $("#token").value = "";
  $("#who").textContent = `${state.me.name || ""} · ${state.me.role}${canCommand() ? "" : " (read-only)"}`;
  $("#logout").hidden = false;
  document.body.classList.toggle("read-only", !canCommand());
  await start();
}

async function retry(fn) {
  for (;;) {
    try { return await fn(); } catch (e) {
      if (e.status === 401) { logout(); throw e; }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function start() {
  state.site = await retry(() => api("/api/v1/map"));
  // Stream events from "now": the panels load current state over HTTP, the stream carries changes.
  const health = await retry(() => api("/api/v1/health"));
  state.lastSeq = Number.isInteger(health.last_seq) ? health.last_seq : 0;
  $("#site-name").textContent = `WCS · ${state.site.name || "site"}`;
  map.setSite(state.site);
  map.onSelect = (id) => selectRobot(id);
  panels.renderLegend($("#legend"));
  await Promise.all([refreshAlarms(), refreshOrders(), refreshLanes(), loadHistory()]);
  const live = new Stream("/api/v1/live", {
    firstMessage: () => ({ token: getToken() }),
    onMessage: (msg) => onSnapshot(msg),
    onStatus: (s) => {
      onStatus("liveUp", s);
      if (s === "up" && state.snapshots > 0) loadHistory();  // a reconnect: fill the gap
    },
    staleMs: 5000,
  });
  const events = new Stream("/api/v1/events", {
    firstMessage: () => ({ token: getToken(), after: state.lastSeq }),
    onMessage: (msg) => onEvents(msg),
    staleMs: 40000,
    onStatus: (s) => {
      onStatus("eventsUp", s);
      if (s === "up") { refreshAlarms(); refreshOrders(); refreshLanes(); }
    },
  });
  state.streams = [live, events];
  live.start();
  events.start();
  setInterval(() => { if (state.liveUp) refreshLanes(); }, LANES_EVERY_MS);
  requestAnimationFrame(frame);
}

function onStatus(key, s) {
  state[key] = s === "up";
  setConnection();
  if (s === "unauthorized") { toast("The server refused the token: log in again."); logout(); }
}

function onSnapshot(msg) {
  try {
    if (!msg || typeof msg !== "object" || !Array.isArray(msg.robots)) { state.malformed += 1; return; }
    const robots = msg.robots.filter((r) => r && typeof r.id === "string");
    state.snapshot = msg;
    state.robots = robots;
    state.snapshots += 1;
    map.setSnapshot({ ...msg, robots });
    const t = typeof msg.time_s === "number" ? msg.time_s : 0;
    const k = msg.kpis && typeof msg.kpis === "object" ? msg.kpis : {};
    $("#clock").textContent = `sim ${panels.simClock(t)}${msg.speed ? ` ×${msg.speed}` : ""}`;
    const uph = Number(k.units_per_h) || 0;
    $("#kpi-strip").textContent = `${Math.round(uph)} units/h · ${k.orders_completed ?? 0} orders done · ${k.orders_open ?? 0} open · ${robots.length} robots`;
    recordHistory(t, Number(k.units_picked) || 0);
    const now = performance.now();
    if (now - state.tableAt > TABLE_EVERY_MS) { state.tableAt = now; updatePanels(); }
  } catch (e) {
    state.malformed += 1;
  }
}

function onEvents(msg) {
  const list = msg && Array.isArray(msg.events) ? msg.events : null;
  if (!list) { state.malformed += 1; return; }
  let refreshO = false, refreshA = false, refreshL = false;
  for (const ev of list) {
    try {
      if (!ev || typeof ev !== "object" || !Number.isSafeInteger(ev.seq)) { state.malformed += 1; continue; }
      if (ev.seq <= state.lastSeq) continue;
      state.lastSeq = ev.seq;
      state.eventsSeen += 1;
      if (ev.topic === "alarm") { applyAlarm(ev); refreshA = true; }
      else if (ev.topic === "order" || ev.topic === "task") refreshO = true;
      else if (ev.topic === "lane" || ev.topic === "sort" || ev.topic === "conveyor") refreshL = true;
    } catch (e) {
      state.malformed += 1;
    }
  }
  if (refreshA) renderAlarms();
  if (refreshO) throttled("orders", refreshOrders, 1000);
  if (refreshL) throttled("lanes", refreshLanes, 300);
}

function applyAlarm(ev) {
  const a = ev.data && typeof ev.data === "object" ? ev.data : {};
  if (typeof a.id !== "string") { state.malformed += 1; return; }
  state.alarms.set(a.id, { ...(state.alarms.get(a.id) || {}), ...a });
}

const throttles = {};
function throttled(key, fn, ms) {
  if (throttles[key]) return;
  throttles[key] = setTimeout(() => { throttles[key] = null; fn(); }, ms);
}

async function refreshAlarms() {
  try {
    for (const a of items(await api("/api/v1/alarms?limit=200"))) {
      state.alarms.set(a.id, { ...(state.alarms.get(a.id) || {}), ...a });
    }
    renderAlarms();
  } catch (e) { /* the connection banner shows outages */ }
}

async function refreshOrders() {
  try {
    const get = (path) => api(path).then(items);
    const [open, running, active, assigned, queued] = await Promise.all([
      get("/api/v1/orders?state=open&limit=50"), get("/api/v1/orders?state=in_progress&limit=50"),
      get("/api/v1/tasks?state=active&limit=50"), get("/api/v1/tasks?state=assigned&limit=50"),
      get("/api/v1/tasks?state=queued&limit=50"),
    ]);
    state.orders = [...open, ...running].sort((a, b) => (a.created_at ?? 0) - (b.created_at ?? 0));
    state.tasks = [...active, ...assigned, ...queued];
    renderOrders();
  } catch (e) { /* the connection banner shows outages */ }
}

function renderOrders() {
  const now = state.snapshot?.time_s ?? 0;
  panels.renderOrders($("#order-table tbody"), state.orders, now);
  panels.renderTasks($("#task-table tbody"), state.tasks, now);
  const late = state.orders.filter((o) => o.due_s != null && now > o.due_s).length;
  $("#late-count").textContent = late ? String(late) : "";
}

async function refreshLanes() {
  try {
    state.lanes = items(await api("/api/v1/lanes"));
    map.lanes = state.lanes;
    panels.renderLanes($("#lane-table tbody"), state.lanes, { canCommand: canCommand(), reason: VIEWER_REASON });
  } catch (e) { /* the connection banner shows outages */ }
}

function renderAlarms() {
  const open = panels.renderAlarms($("#alarm-list"), [...state.alarms.values()], { canAck: canCommand(), reason: VIEWER_REASON });
  $("#alarm-count").textContent = open ? String(open) : "";
}

function updatePanels() {
  const filter = $("#robot-filter");
  const states = [...new Set(state.robots.map(panels.robotState))].sort();
  const known = [...filter.options].slice(1).map((o) => o.value);
  if (states.some((s) => !known.includes(s))) {
    const current = filter.value;
    const all = [...new Set([...known, ...states])].sort();
    filter.innerHTML = `<option value="">all states</option>` + all.map((s) => `<option value="${panels.esc(s)}">${panels.esc(s)}</option>`).join("");
    filter.value = current;
  }
  const shown = panels.renderRobotTable($("#robot-table tbody"), state.robots,
    { search: $("#robot-search").value, state: filter.value, selected: state.selected });
  $("#robot-count").textContent = `${shown}/${state.robots.length}`;
  renderDetail();
  if (!$("#tab-kpis").hidden) renderKpis();
  if (!$("#tab-orders").hidden) renderOrders();
}

function renderDetail() {
  const el = $("#robot-detail");
  const robot = state.robots.find((r) => r.id === state.selected);
  const task = robot && robot.task_id ? state.tasks.find((t) => t.id === robot.task_id) : null;
  panels.renderRobotDetail(el, robot,
    { id: state.selected, canCommand: canCommand(), reason: VIEWER_REASON, lastError: state.lastErrors[state.selected], task });
}

// The server keeps the last hour of KPI samples: the charts start full, then live snapshots append.
async function loadHistory() {
  let samples;
  try {
    samples = items(await api(`/api/v1/kpis/history?window_s=${HISTORY_WINDOW_S}`))
      .filter((s) => s && Number.isFinite(s.time_s));
  } catch (e) { return; }  // an older server or an outage: keep what the page has
  if (!samples.length) return;
  const lastT = samples[samples.length - 1].time_s;
  const units = samples.map((s) => [s.time_s, Number(s.units_picked) || 0]);
  const states = samples.map((s) => [s.time_s, s.robot_states && typeof s.robot_states === "object" ? { ...s.robot_states } : {}]);
  // Live points that arrived while the request ran stay; points of another run (a restarted
  // server's clock began again) do not.
  const tail = (h) => {
    const last = h[h.length - 1];
    const recent = last && last[0] > lastT && last[0] - lastT <= RATE_WINDOW_S;
    return recent ? h.filter(([t]) => t - lastT >= HISTORY_STEP_S) : [];
  };
  state.unitsHistory = units.concat(tail(state.unitsHistory));
  state.stateHistory = states.concat(tail(state.stateHistory));
  state.historyLoads += 1;
  if (!$("#tab-kpis").hidden) renderKpis();
}

function recordHistory(t, unitsPicked) {
  const last = state.unitsHistory[state.unitsHistory.length - 1];
  if (last && t < last[0]) { state.unitsHistory = []; state.stateHistory = []; }  // a new run restarted the clock
  else if (last && t - last[0] < HISTORY_STEP_S) return;
  state.unitsHistory.push([t, unitsPicked]);
  const counts = {};
  for (const r of state.robots) { const s = panels.robotState(r); counts[s] = (counts[s] || 0) + 1; }
  state.stateHistory.push([t, counts]);
  const cutoff = t - 3600 - RATE_WINDOW_S;
  while (state.unitsHistory.length && state.unitsHistory[0][0] < cutoff) state.unitsHistory.shift();
  while (state.stateHistory.length && state.stateHistory[0][0] < cutoff + RATE_WINDOW_S) state.stateHistory.shift();
}

// Units/h as a rolling rate over RATE_WINDOW_S from the picked-units counter (the snapshot's own
// units_per_h is an average since the start, which flattens out).
function unitsRate() {
  const h = state.unitsHistory, out = [];
  let j = 0;
  for (let i = 1; i < h.length; i++) {
    while (j < i - 1 && h[i][0] - h[j + 1][0] >= RATE_WINDOW_S) j += 1;
    const dt = h[i][0] - h[j][0];
    if (dt > 0) out.push([h[i][0], ((h[i][1] - h[j][1]) / dt) * 3600]);
  }
  return out;
}

function renderKpis() {
  lineChart($("#chart-units"), [{ name: `units/h (rolling ${RATE_WINDOW_S / 60} min)`, colour: "#58a6ff", points: unitsRate() }]);
  const names = [...new Set(state.stateHistory.flatMap(([, c]) => Object.keys(c)))].sort();
  lineChart($("#chart-states"), names.map((n) => ({
    name: n, colour: stateColour(n), points: state.stateHistory.map(([t, c]) => [t, c[n] || 0]),
  })), { unit: " robots" });
  panels.renderStationBars($("#station-bars"), state.snapshot?.stations || [], state.snapshot?.kpis);
  panels.renderCranes($("#asrs-line"), state.snapshot?.cranes, { canCommand: canCommand(), reason: VIEWER_REASON });
}

function selectRobot(id) {
  state.selected = id;
  map.selected = id;
  renderDetail();
  updatePanels();
}

async function resetCrane(aisle, cancel) {
  try {
    await api(`/api/v1/asrs/${encodeURIComponent(aisle)}/reset`, { method: "POST", body: { cancel } });
    toast(`AS/RS ${aisle}: crane reset${cancel ? ", move cancelled" : ""}`, true);
  } catch (e) {
    toast(`AS/RS ${aisle}: reset failed: ${e.message}`);
  }
}

async function robotCommand(id, command) {
  try {
    await api(`/api/v1/robots/${encodeURIComponent(id)}/commands`, { method: "POST", body: { command } });
    state.lastErrors[id] = "";
    toast(`Robot ${id}: ${command.replace(/_/g, " ")} accepted`, true);
  } catch (e) {
    state.lastErrors[id] = `${command} failed: ${e.message}`;
    toast(`Robot ${id}: ${command.replace(/_/g, " ")} failed — ${e.message}`);
  }
  renderDetail();
}

async function ackAlarm(id) {
  try {
    const a = await api(`/api/v1/alarms/${encodeURIComponent(id)}/ack`, { method: "POST", body: {} });
    if (a && a.id) state.alarms.set(a.id, { ...(state.alarms.get(a.id) || {}), ...a });
    renderAlarms();
  } catch (e) { toast(`Alarm ${id}: acknowledge failed — ${e.message}`); }
}

async function setLane(id, enabled) {
  try {
    await api(`/api/v1/lanes/${encodeURIComponent(id)}`, { method: "PATCH", body: { enabled } });
    await refreshLanes();
  } catch (e) { toast(`Lane ${id}: ${enabled ? "enable" : "disable"} failed — ${e.message}`); }
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
  if (e.target.closest("button[data-close]")) { selectRobot(null); return; }
  const b = e.target.closest("button[data-cmd]");
  if (b && !b.disabled && state.selected) robotCommand(state.selected, b.dataset.cmd);
});
$("#alarm-list").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-ack]");
  if (b && !b.disabled) ackAlarm(b.dataset.ack);
});
$("#asrs-line").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-reset]");
  if (b && !b.disabled) resetCrane(b.dataset.reset, b.dataset.cancel === "1");
});
$("#lane-table").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-lane]");
  if (b && !b.disabled) setLane(b.dataset.lane, b.dataset.enable === "1");
});
for (const b of document.querySelectorAll("#tabs button")) {
  b.addEventListener("click", () => showTab(b.dataset.tab));
}

function showTab(name) {
  for (const o of document.querySelectorAll("#tabs button")) o.classList.toggle("active", o.dataset.tab === name);
  for (const t of document.querySelectorAll(".tab")) t.hidden = t.id !== `tab-${name}`;
  if (name === "kpis") renderKpis();
  if (name === "orders") renderOrders();
}

// Hooks for browser tests and the load benchmark: what was drawn and received; `feed` hands a
// message to the same handlers the streams use (to check malformed input never blanks the page).
window.wcsMonitor = {
  drawnRobots: () => ({ ...map.drawn }),
  drawnCranes: () => JSON.parse(JSON.stringify(map.drawnCranes)),  // copies: read-only
  frames: () => map.frames,
  // Totals since load: frames drawn, ms drawing, snapshots handled, ms handling them.
  loadStats: () => ({
    frames: map.frames, draw_ms: map.drawMs, snapshots: state.snapshots,
    snapshot_ms: state.streams.length ? state.streams[0].busyMs : 0,  // parse + handle, /live
  }),
  snapshots: () => state.snapshots,
  lastSeq: () => state.lastSeq,
  eventsSeen: () => state.eventsSeen,
  malformed: () => state.malformed,
  outages: () => state.outages,
  role: () => state.me && state.me.role,
  connected: () => state.liveUp && state.eventsUp,
  streamBytes: () => state.streams.reduce((n, s) => n + s.bytes, 0),
  // KPI chart history: loads from /kpis/history, samples held, the oldest sample's sim time.
  kpiHistory: () => ({
    loads: state.historyLoads, samples: state.unitsHistory.length,
    first_s: state.unitsHistory.length ? state.unitsHistory[0][0] : null,
  }),
  feed: (kind, msg) => (kind === "events" ? onEvents(msg) : onSnapshot(msg)),  // malformed-input tests
};

const saved = getToken();
if (saved) login(saved);
