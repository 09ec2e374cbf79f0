// Canvas map: a cached static layer drawn from the site JSON, robots interpolated between snapshots.
export const STATE_COLOURS = {
  idle: "#8b949e", to_pod: "#58a6ff", to_station: "#79c0ff", at_station: "#a371f7", to_slot: "#39c5cf",
  to_charger: "#e3b341", charging: "#d29922", to_park: "#6e7681", paused: "#f0883e", fault: "#f85149",
  out_of_service: "#da3633", needs_check: "#bf8700",
};
const KIND_COLOURS = {
  aisle: "#1c232c", floor: "#1c232c", storage: "#262d22", station: "#3b2d55", queue: "#2c2540",
  charger: "#4a3b12", parking: "#1f2f3a", io: "#18404a", dock: "#18404a", induct: "#18404a",
};

export function robotState(r) {
  if (r.out_of_service) return "out_of_service";
  if (r.error) return "fault";
  if (r.paused) return "paused";
  if (r.needs_check) return "needs_check";
  return r.state || "unknown";
}

export function stateColour(state) { return STATE_COLOURS[state] || "#58a6ff"; }

const pt = (p) => (Array.isArray(p) ? p : [p.x, p.y]);
const num = (v) => typeof v === "number" && Number.isFinite(v);

export class MapView {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.site = null;
    this.cell = 1;
    this.scale = 10;  // pixels per metre
    this.offset = [20, 20];  // pixels
    this.dpr = 1;
    this.prev = new Map();
    this.curr = new Map();
    this.snapAt = 0;
    this.snapInterval = 200;
    this.snapshot = null;
    this.lanes = [];
    this.selected = null;
    this.drawn = {};
    this.drawnCranes = {};  // aisle id -> {x_m, y_m, fault}: where each crane was last drawn
    this.frames = 0;
    this.drawMs = 0;  // total time spent drawing, for the load benchmark
    this.staticLayer = null;
    this.onSelect = () => {};
    this.bindInput();
    new ResizeObserver(() => { this.resize(); if (this.site && !this.userMoved) this.fit(); }).observe(canvas);
  }

  setSite(site) {
    this.site = site;
    this.cell = num(site.cell_size_m) ? site.cell_size_m : 1;
    this.resize();
    this.fit();
  }

  resize() {
    const r = this.canvas.getBoundingClientRect();
    this.dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.max(1, Math.round(r.width * this.dpr));
    this.canvas.height = Math.max(1, Math.round(r.height * this.dpr));
    this.staticLayer = null;
  }

  fit() {
    if (!this.site) return;
    const [x0, y0, x1, y1] = this.siteExtent();
    const cw = this.canvas.width / this.dpr, ch = this.canvas.height / this.dpr;
    this.scale = Math.max(0.5, Math.min((cw - 20) / (x1 - x0), (ch - 40) / (y1 - y0)));
    const padY = Math.max(10, (ch - (y1 - y0) * this.scale) / 2);
    this.offset = [10 - x0 * this.scale, padY - y0 * this.scale];
    this.staticLayer = null;
  }

  siteExtent() {
    let x0 = 0, y0 = 0, x1 = this.site.width * this.cell, y1 = this.site.height * this.cell;
    const grow = (p) => { const [x, y] = pt(p); x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); };
    for (const c of this.site.conveyors || []) for (const p of c.path_m || []) grow(p);
    for (const a of this.site.asrs || []) for (const p of a.footprint || []) grow(p);
    return [x0, y0, x1, y1 + this.cell];  // room below the conveyor for lane bars
  }

  toScreen(x, y) { return [x * this.scale + this.offset[0], y * this.scale + this.offset[1]]; }
  toWorld(px, py) { return [(px - this.offset[0]) / this.scale, (py - this.offset[1]) / this.scale]; }
  cellCentre(cx, cy) { return [(cx + 0.5) * this.cell, (cy + 0.5) * this.cell]; }

  bindInput() {
    let drag = null;
    this.canvas.addEventListener("mousedown", (e) => { drag = { x: e.clientX, y: e.clientY, moved: false }; });
    window.addEventListener("mouseup", (e) => { if (drag && !drag.moved) this.pick(e); drag = null; });
    window.addEventListener("mousemove", (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
      this.offset = [this.offset[0] + dx, this.offset[1] + dy];
      drag.x = e.clientX; drag.y = e.clientY;
      this.userMoved = true;
      this.staticLayer = null;
    });
    this.canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = this.canvas.getBoundingClientRect();
      const mx = e.clientX - r.left, my = e.clientY - r.top;
      const [wx, wy] = this.toWorld(mx, my);
      this.scale = Math.min(200, Math.max(0.5, this.scale * (e.deltaY < 0 ? 1.15 : 1 / 1.15)));
      this.offset = [mx - wx * this.scale, my - wy * this.scale];
      this.userMoved = true;
      this.staticLayer = null;
    }, { passive: false });
    this.canvas.addEventListener("dblclick", () => { this.userMoved = false; this.fit(); });
  }

  pick(e) {
    const r = this.canvas.getBoundingClientRect();
    const [wx, wy] = this.toWorld(e.clientX - r.left, e.clientY - r.top);
    let best = null, bestD = Math.max(this.cell * 0.8, 6 / this.scale) ** 2;
    for (const [id, p] of Object.entries(this.drawn)) {
      const d = (p[0] - wx) ** 2 + (p[1] - wy) ** 2;
      if (d < bestD) { best = id; bestD = d; }
    }
    if (best) this.onSelect(best);
  }

  setSnapshot(snap) {
    const next = new Map();
    for (const r of snap.robots) if (r && typeof r.id === "string" && num(r.x_m) && num(r.y_m)) next.set(r.id, r);
    // Interpolate from where each robot is drawn now, so a late snapshot never makes it jump back.
    const prev = new Map();
    for (const [id, r] of next) {
      const at = this.drawn[id];
      prev.set(id, at ? { x_m: at[0], y_m: at[1] } : r);
    }
    this.prev = prev;
    this.curr = next;
    const now = performance.now();
    if (this.snapAt) this.snapInterval = Math.min(1000, Math.max(50, 0.7 * this.snapInterval + 0.3 * (now - this.snapAt)));
    this.snapAt = now;
    this.snapshot = snap;
  }

  buildStatic() {
    const c = document.createElement("canvas");
    c.width = this.canvas.width; c.height = this.canvas.height;
    const g = c.getContext("2d");
    g.scale(this.dpr, this.dpr);
    const s = this.site, cs = this.cell * this.scale;
    g.fillStyle = "#0b0f14";
    g.fillRect(0, 0, c.width, c.height);
    const [ox, oy] = this.toScreen(0, 0);
    g.fillStyle = "#11161c";
    g.fillRect(ox, oy, s.width * cs, s.height * cs);
    const gap = cs > 4 ? 1 : 0;
    for (const n of s.nodes || []) {
      const [x, y, kind] = Array.isArray(n) ? n : [n.x, n.y, n.kind];
      g.fillStyle = KIND_COLOURS[kind] || KIND_COLOURS.aisle;
      const [px, py] = this.toScreen(x * this.cell, y * this.cell);
      g.fillRect(px, py, Math.max(1, cs - gap), Math.max(1, cs - gap));
    }
    const path = (points, close) => {
      g.beginPath();
      points.forEach((p, i) => { const [x, y] = this.toScreen(...pt(p)); i ? g.lineTo(x, y) : g.moveTo(x, y); });
      if (close) g.closePath();
    };
    for (const f of s.forbidden || []) {
      path(f.polygon || [], true);
      g.fillStyle = "rgba(248,81,73,0.15)"; g.fill(); g.strokeStyle = "#f85149"; g.stroke();
    }
    for (const a of s.asrs || []) {
      path(a.footprint || [], true);
      g.fillStyle = "rgba(88,166,255,0.12)"; g.fill(); g.strokeStyle = "#58a6ff"; g.stroke();
      this.label(g, `AS/RS ${a.id} (${a.bays}×${a.levels})`, a.footprint && a.footprint[0], -4);
    }
    for (const conv of s.conveyors || []) {
      g.lineWidth = Math.max(2, 0.6 * this.scale); g.strokeStyle = "#3d4450";
      path(conv.path_m || [], false); g.stroke();
      g.lineWidth = 1;
      this.label(g, conv.id, (conv.path_m || [])[0], -4);
    }
    const mark = (f, colour, text) => {
      if (!num(f.x) || !num(f.y)) return;
      const [x, y] = this.toScreen(f.x * this.cell, f.y * this.cell);
      g.strokeStyle = colour; g.lineWidth = 2;
      g.strokeRect(x + 1, y + 1, cs - 2, cs - 2);
      g.lineWidth = 1;
      if (text) this.label(g, text, [f.x * this.cell, f.y * this.cell], -2);
    };
    for (const st of s.stations || []) mark(st, "#a371f7", "");  // labelled live with the queue
    for (const ch of s.chargers || []) mark(ch, "#d29922", "");
    for (const p of s.parking || []) mark(p, "#6e7681", "");
    return c;
  }

  label(g, text, at, dy = 0) {
    if (!at || this.scale < 3) return;
    const [x, y] = this.toScreen(...pt(at));
    g.fillStyle = "#c9d1d9";
    g.font = "11px system-ui, sans-serif";
    g.fillText(String(text), x + 2, y + dy);
  }

  alongConveyor(conveyorId, positionM) {
    const conv = (this.site.conveyors || []).find((c) => c.id === conveyorId);
    if (!conv || !num(positionM)) return null;
    let left = positionM;
    const points = (conv.path_m || []).map(pt);
    for (let i = 1; i < points.length; i++) {
      const [x0, y0] = points[i - 1], [x1, y1] = points[i];
      const len = Math.hypot(x1 - x0, y1 - y0);
      if (left <= len && len > 0) return [x0 + (x1 - x0) * left / len, y0 + (y1 - y0) * left / len];
      left -= len;
    }
    return null;
  }

  draw() {
    const started = performance.now();
    this.drawFrame();
    this.drawMs += performance.now() - started;
  }

  drawFrame() {
    const g = this.ctx;
    if (!this.site) return;
    if (!this.staticLayer) this.staticLayer = this.buildStatic();
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.drawImage(this.staticLayer, 0, 0);
    g.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    const snap = this.snapshot || {};
    const cs = this.cell * this.scale;
    g.fillStyle = "#6b5530";
    for (const p of Array.isArray(snap.pods) ? snap.pods : []) {
      if (!p || p.carried_by || !num(p.x_m)) continue;
      const [x, y] = this.toScreen(p.x_m, p.y_m);
      g.fillRect(x - cs * 0.32, y - cs * 0.32, cs * 0.64, cs * 0.64);
    }
    this.drawConveyorItems(g, snap);
    this.drawCranes(g, snap);
    this.drawLanes(g, cs);
    this.drawStations(g, snap, cs);
    this.drawRobots(g, cs);
    this.frames += 1;
  }

  drawConveyorItems(g, snap) {
    // Items the PLC bridge tracks from scanner to divert: {conveyor_id, position_m}.
    for (const item of Array.isArray(snap.conveyor_items) ? snap.conveyor_items : []) {
      const at = num(item.x_m) ? [item.x_m, item.y_m] : this.alongConveyor(item.conveyor_id, item.position_m);
      if (!at) continue;
      const [x, y] = this.toScreen(at[0], at[1]);
      g.fillStyle = "#e6edf3";
      g.fillRect(x - 2, y - 2, 4, 4);
    }
  }

  // The crane travels along the aisle's long side from the end nearest its I/O cell.
  drawCranes(g, snap) {
    const cranes = snap.cranes && typeof snap.cranes === "object" ? snap.cranes : {};
    const drawn = {};
    for (const a of this.site.asrs || []) {
      const c = cranes[a.id];
      const fp = (a.footprint || []).map(pt);
      if (!c || !num(c.x_m) || fp.length < 3) continue;
      const xs = fp.map((p) => p[0]), ys = fp.map((p) => p[1]);
      const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
      const io = num(a.x) ? [(a.x + 0.5) * this.cell, (a.y + 0.5) * this.cell] : [x0, y0];
      let wx, wy;
      if (x1 - x0 >= y1 - y0) {
        const fromMin = Math.abs(io[0] - x0) <= Math.abs(io[0] - x1);
        wx = fromMin ? Math.min(x1, x0 + c.x_m) : Math.max(x0, x1 - c.x_m);
        wy = (y0 + y1) / 2;
      } else {
        const fromMin = Math.abs(io[1] - y0) <= Math.abs(io[1] - y1);
        wy = fromMin ? Math.min(y1, y0 + c.x_m) : Math.max(y0, y1 - c.x_m);
        wx = (x0 + x1) / 2;
      }
      const [x, y] = this.toScreen(wx, wy);
      const r = Math.max(3, this.cell * this.scale * 0.4);
      g.fillStyle = c.fault ? "#f85149" : (c.state === 1 ? "#58a6ff" : "#8b949e");
      g.fillRect(x - r / 2, y - r, r, 2 * r);
      if (c.load_on_forks || c.load_id) { g.fillStyle = "#8a6d3b"; g.fillRect(x - r / 2, y - r / 3, r, r / 1.5); }
      drawn[a.id] = { x_m: wx, y_m: wy, fault: Boolean(c.fault) };
    }
    this.drawnCranes = drawn;
  }

  drawLanes(g, cs) {
    const byId = new Map(this.lanes.map((l) => [String(l.id), l]));
    for (const sorter of this.site.sorters || []) {
      for (const lane of sorter.lanes || []) {
        const at = this.alongConveyor(sorter.conveyor, lane.divert_position_m);
        if (!at) continue;
        const live = byId.get(String(lane.id)) || {};
        const cap = live.capacity_items || lane.capacity_items || 1;
        const fill = Math.min(1, Math.max(0, (live.fill_items || 0) / cap));
        const [x, y] = this.toScreen(at[0], at[1]);
        const w = Math.max(4, cs * 0.6), h = Math.max(10, cs * 1.6);
        if (live.fill_items === null || live.plc_state === "unknown") {
          // PLC state unknown (link down): an outline and a question mark, never the last fill.
          g.strokeStyle = "#d29922";
          g.setLineDash([3, 3]); g.strokeRect(x - w / 2, y + 4, w, h); g.setLineDash([]);
          g.fillStyle = "#d29922"; g.font = "10px system-ui, sans-serif"; g.textAlign = "center";
          g.fillText("?", x, y + 4 + h / 2 + 3); g.textAlign = "start";
          continue;
        }
        g.strokeStyle = live.enabled === false ? "#6e7681" : "#3fb950";
        g.strokeRect(x - w / 2, y + 4, w, h);
        g.fillStyle = live.enabled === false ? "#6e7681" : fill > 0.85 ? "#f85149" : "#3fb950";
        g.fillRect(x - w / 2, y + 4 + h * (1 - fill), w, h * fill);
      }
    }
  }

  drawStations(g, snap, cs) {
    const defs = new Map((this.site.stations || []).map((s) => [s.id, s]));
    g.font = "11px system-ui, sans-serif";
    for (const st of Array.isArray(snap.stations) ? snap.stations : []) {
      const def = st && defs.get(st.id);
      if (!def || !num(def.x)) continue;
      const q = Array.isArray(st.queue_robot_ids) ? st.queue_robot_ids.length : 0;
      const [x, y] = this.toScreen(def.x * this.cell, def.y * this.cell);
      g.fillStyle = "#e6edf3";
      g.fillText(`${st.id} · queue ${q}${st.serving_robot_id ? " · picking" : ""}`, x + 2, y - 3);
    }
  }

  drawRobots(g, cs) {
    const t = Math.min(1, (performance.now() - this.snapAt) / this.snapInterval);
    const drawn = {};
    const r = Math.max(2.5, cs * 0.38);
    let selected = null;
    for (const [id, cur] of this.curr) {
      const before = this.prev.get(id) || cur;
      const wx = before.x_m + (cur.x_m - before.x_m) * t;
      const wy = before.y_m + (cur.y_m - before.y_m) * t;
      drawn[id] = [wx, wy];
      const [x, y] = this.toScreen(wx, wy);
      if (cur.pod_id) { g.fillStyle = "#a67c32"; g.fillRect(x - r * 1.15, y - r * 1.15, r * 2.3, r * 2.3); }
      g.fillStyle = stateColour(robotState(cur));
      g.beginPath(); g.arc(x, y, r, 0, Math.PI * 2); g.fill();
      if (r >= 3) {
        const h = ((cur.heading_deg || 0) * Math.PI) / 180;
        g.strokeStyle = "#0b0f14"; g.lineWidth = Math.max(1, r / 3);
        g.beginPath(); g.moveTo(x, y); g.lineTo(x + Math.cos(h) * r, y + Math.sin(h) * r); g.stroke();
      }
      if (num(cur.battery_soc) && r > 4) {
        g.fillStyle = cur.battery_soc < 0.25 ? "#f85149" : "#3fb950";
        g.fillRect(x - r, y + r + 1, 2 * r * Math.max(0, Math.min(1, cur.battery_soc)), 2);
      }
      if (id === this.selected) selected = [x, y, cur];
    }
    if (selected) {
      const [x, y, cur] = selected;
      g.strokeStyle = "#ffffff"; g.lineWidth = 2;
      g.beginPath(); g.arc(x, y, r + 3, 0, Math.PI * 2); g.stroke();
      this.drawPath(g, [x, y], cur.path_ahead);
    }
    this.drawn = drawn;
  }

  drawPath(g, from, path) {
    if (!Array.isArray(path) || !path.length) return;
    g.strokeStyle = "rgba(255,255,255,0.7)"; g.lineWidth = 1.5; g.setLineDash([4, 3]);
    g.beginPath(); g.moveTo(from[0], from[1]);
    for (const p of path) {
      if (!Array.isArray(p) || !num(p[0])) continue;
      const [x, y] = this.toScreen(p[0], p[1]);
      g.lineTo(x, y);
    }
    g.stroke(); g.setLineDash([]);
  }
}
