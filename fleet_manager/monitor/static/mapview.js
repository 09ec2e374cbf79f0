// Canvas map: a cached static layer drawn from the site JSON, robots interpolated between snapshots.
export const STATE_COLOURS = {
  idle: "#8b949e", moving: "#58a6ff", busy: "#58a6ff", working: "#58a6ff", picking: "#a371f7",
  lifting: "#a371f7", charging: "#d29922", paused: "#f0883e", out_of_service: "#f85149",
  error: "#f85149", offline: "#6e7681", fault: "#f85149",
};
const KIND_COLOURS = {
  aisle: "#1c232c", floor: "#1c232c", highway: "#1d2a36", storage: "#232a22", station: "#3b2d55",
  queue: "#2c2540", charger: "#4a3b12", parking: "#1f2f3a", io: "#18404a", induct: "#18404a",
};

export function stateColour(state, paused) {
  if (paused) return STATE_COLOURS.paused;
  return STATE_COLOURS[state] || "#58a6ff";
}

function pt(p) { return Array.isArray(p) ? p : [p.x, p.y]; }

export class MapView {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.site = null;
    this.cell = 1;
    this.scale = 10;  // pixels per metre
    this.offset = [20, 20];  // pixels
    this.prev = new Map();
    this.curr = new Map();
    this.snapAt = 0;
    this.snapInterval = 200;
    this.snapshot = null;
    this.selected = null;
    this.drawn = {};
    this.frames = 0;
    this.staticLayer = null;
    this.onSelect = () => {};
    this.bindInput();
    new ResizeObserver(() => this.resize()).observe(canvas);
  }

  setSite(site) {
    this.site = site;
    this.cell = site.cell_size_m || 1;
    this.resize();
    this.fit();
  }

  resize() {
    const r = this.canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.max(1, Math.round(r.width * dpr));
    this.canvas.height = Math.max(1, Math.round(r.height * dpr));
    this.dpr = dpr;
    this.staticLayer = null;
  }

  fit() {
    if (!this.site) return;
    const wM = this.site.width * this.cell, hM = this.site.height * this.cell;
    const extent = this.siteExtent();
    const cw = this.canvas.width / this.dpr, ch = this.canvas.height / this.dpr;
    this.scale = Math.max(1, Math.min((cw - 20) / (extent[2] - extent[0]), (ch - 20) / (extent[3] - extent[1])));
    this.offset = [10 - extent[0] * this.scale, 10 - extent[1] * this.scale];
    this.staticLayer = null;
    return [wM, hM];
  }

  siteExtent() {
    let x0 = 0, y0 = 0, x1 = this.site.width * this.cell, y1 = this.site.height * this.cell;
    const grow = (p) => { const [x, y] = pt(p); x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); };
    for (const c of this.site.conveyors || []) for (const p of c.path_m || []) grow(p);
    for (const a of this.site.asrs || []) for (const p of a.footprint || []) grow(p);
    return [x0, y0, x1, y1];
  }

  toScreen(x, y) { return [x * this.scale + this.offset[0], y * this.scale + this.offset[1]]; }
  toWorld(px, py) { return [(px - this.offset[0]) / this.scale, (py - this.offset[1]) / this.scale]; }

  bindInput() {
    let drag = null;
    this.canvas.addEventListener("mousedown", (e) => { drag = { x: e.clientX, y: e.clientY, moved: false }; });
    window.addEventListener("mouseup", (e) => {
      if (drag && !drag.moved) this.pick(e);
      drag = null;
    });
    window.addEventListener("mousemove", (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
      this.offset = [this.offset[0] + dx, this.offset[1] + dy];
      drag.x = e.clientX; drag.y = e.clientY;
      this.staticLayer = null;
    });
    this.canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = this.canvas.getBoundingClientRect();
      const mx = e.clientX - r.left, my = e.clientY - r.top;
      const [wx, wy] = this.toWorld(mx, my);
      this.scale = Math.min(200, Math.max(1, this.scale * (e.deltaY < 0 ? 1.15 : 1 / 1.15)));
      this.offset = [mx - wx * this.scale, my - wy * this.scale];
      this.staticLayer = null;
    }, { passive: false });
  }

  pick(e) {
    const r = this.canvas.getBoundingClientRect();
    const [wx, wy] = this.toWorld(e.clientX - r.left, e.clientY - r.top);
    let best = null, bestD = (this.cell * 0.8) ** 2;
    for (const [id, p] of Object.entries(this.drawn)) {
      const d = (p[0] - wx) ** 2 + (p[1] - wy) ** 2;
      if (d < bestD) { best = id; bestD = d; }
    }
    if (best) this.onSelect(best);
  }

  setSnapshot(snap) {
    this.prev = this.curr;
    this.curr = new Map();
    for (const r of snap.robots || []) {
      if (typeof r.x_m === "number" && typeof r.y_m === "number") this.curr.set(r.id, r);
    }
    const now = performance.now();
    if (this.snapAt) this.snapInterval = Math.min(1000, Math.max(50, now - this.snapAt));
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
    for (const n of s.nodes || []) {
      const [x, y, kind] = Array.isArray(n) ? n : [n.x, n.y, n.kind];
      g.fillStyle = KIND_COLOURS[kind] || KIND_COLOURS.aisle;
      const [px, py] = this.toScreen(x * this.cell, y * this.cell);
      g.fillRect(px + 0.5, py + 0.5, Math.max(1, cs - 1), Math.max(1, cs - 1));
    }
    const poly = (points, fill, stroke) => {
      if (!points || !points.length) return;
      g.beginPath();
      points.forEach((p, i) => { const [x, y] = this.toScreen(...pt(p)); i ? g.lineTo(x, y) : g.moveTo(x, y); });
      g.closePath();
      if (fill) { g.fillStyle = fill; g.fill(); }
      if (stroke) { g.strokeStyle = stroke; g.stroke(); }
    };
    for (const f of s.forbidden || []) poly(f.polygon, "rgba(248,81,73,0.15)", "#f85149");
    for (const a of s.asrs || []) {
      poly(a.footprint, "rgba(88,166,255,0.12)", "#58a6ff");
      this.label(g, a.id, a.footprint && a.footprint[0]);
    }
    g.lineWidth = Math.max(2, 0.5 * this.scale);
    for (const conv of s.conveyors || []) {
      g.strokeStyle = "#3d4450";
      g.beginPath();
      (conv.path_m || []).forEach((p, i) => { const [x, y] = this.toScreen(...pt(p)); i ? g.lineTo(x, y) : g.moveTo(x, y); });
      g.stroke();
    }
    g.lineWidth = 1;
    const mark = (f, colour, text) => {
      const [x, y] = this.featureXY(f);
      if (x === null) return;
      const [px, py] = this.toScreen(x, y);
      g.strokeStyle = colour; g.lineWidth = 2;
      g.strokeRect(px - cs / 2, py - cs / 2, cs, cs);
      g.lineWidth = 1;
      this.label(g, text, [x, y - this.cell]);
    };
    for (const st of s.stations || []) mark(st, "#a371f7", st.id);
    for (const ch of s.chargers || []) mark(ch, "#d29922", "⚡");
    return c;
  }

  featureXY(f) {
    if (typeof f.x_m === "number") return [f.x_m, f.y_m];
    if (typeof f.x === "number") return [(f.x + 0.5) * this.cell, (f.y + 0.5) * this.cell];
    if (Array.isArray(f.cell)) return [(f.cell[0] + 0.5) * this.cell, (f.cell[1] + 0.5) * this.cell];
    return [null, null];
  }

  label(g, text, at) {
    if (!at || this.scale < 4) return;
    const [x, y] = this.toScreen(...pt(at));
    g.fillStyle = "#c9d1d9";
    g.font = "11px system-ui";
    g.fillText(String(text), x + 2, y - 2);
  }

  laneXY(sorter, lane) {
    const conv = (this.site.conveyors || []).find((c) => c.id === sorter.conveyor);
    if (!conv || typeof lane.divert_position_m !== "number") return null;
    let left = lane.divert_position_m;
    const path = conv.path_m.map(pt);
    for (let i = 1; i < path.length; i++) {
      const [x0, y0] = path[i - 1], [x1, y1] = path[i];
      const len = Math.hypot(x1 - x0, y1 - y0);
      if (left <= len && len > 0) return [x0 + (x1 - x0) * left / len, y0 + (y1 - y0) * left / len];
      left -= len;
    }
    return null;
  }

  draw() {
    const g = this.ctx;
    if (!this.site) return;
    if (!this.staticLayer) this.staticLayer = this.buildStatic();
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.drawImage(this.staticLayer, 0, 0);
    g.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    const snap = this.snapshot || {};
    const cs = this.cell * this.scale;
    for (const p of snap.pods || []) {
      if (p.carried_by || typeof p.x_m !== "number") continue;
      const [x, y] = this.toScreen(p.x_m, p.y_m);
      g.fillStyle = "#5a4a2a";
      g.fillRect(x - cs * 0.35, y - cs * 0.35, cs * 0.7, cs * 0.7);
    }
    for (const item of snap.conveyor_items || []) {
      if (typeof item.x_m !== "number") continue;
      const [x, y] = this.toScreen(item.x_m, item.y_m);
      g.fillStyle = "#c9d1d9";
      g.fillRect(x - 2, y - 2, 4, 4);
    }
    for (const sorter of this.site.sorters || []) {
      for (const lane of sorter.lanes || []) {
        const at = this.laneXY(sorter, lane);
        if (!at) continue;
        const live = (snap.lanes || []).find((l) => String(l.id) === String(lane.id)) || lane;
        const fill = live.capacity_items ? Math.min(1, (live.fill || 0) / live.capacity_items) : 0;
        const [x, y] = this.toScreen(at[0], at[1]);
        g.fillStyle = live.enabled === false ? "#6e7681" : "#238636";
        g.fillRect(x - 3, y + 4, 6, -Math.max(1, fill * cs * 2));
      }
    }
    for (const st of snap.stations || []) {
      const def = (this.site.stations || []).find((s) => s.id === st.id);
      if (!def) continue;
      const [fx, fy] = this.featureXY(def);
      if (fx === null) continue;
      const q = (st.queue_robot_ids || st.queue || []).length;
      const [x, y] = this.toScreen(fx, fy);
      g.fillStyle = "#e6edf3"; g.font = "11px system-ui";
      g.fillText(`q${q}`, x + cs / 2 + 2, y + 4);
    }
    const now = performance.now();
    const t = Math.min(1, (now - this.snapAt) / this.snapInterval);
    const drawn = {};
    const r = Math.max(2.5, cs * 0.38);
    for (const [id, cur] of this.curr) {
      const before = this.prev.get(id) || cur;
      const wx = before.x_m + (cur.x_m - before.x_m) * t;
      const wy = before.y_m + (cur.y_m - before.y_m) * t;
      drawn[id] = [wx, wy];
      const [x, y] = this.toScreen(wx, wy);
      if (cur.pod_id) { g.fillStyle = "#8a6d3b"; g.fillRect(x - r * 1.1, y - r * 1.1, r * 2.2, r * 2.2); }
      g.fillStyle = stateColour(cur.state, cur.paused);
      g.beginPath(); g.arc(x, y, r, 0, Math.PI * 2); g.fill();
      const h = ((cur.heading_deg || 0) * Math.PI) / 180;
      g.strokeStyle = "#0b0f14"; g.lineWidth = Math.max(1, r / 3);
      g.beginPath(); g.moveTo(x, y); g.lineTo(x + Math.cos(h) * r, y + Math.sin(h) * r); g.stroke();
      if (typeof cur.battery_soc === "number" && r > 4) {
        g.fillStyle = cur.battery_soc < 0.25 ? "#f85149" : "#3fb950";
        g.fillRect(x - r, y + r + 1, 2 * r * Math.max(0, Math.min(1, cur.battery_soc)), 2);
      }
      if (id === this.selected) {
        g.strokeStyle = "#ffffff"; g.lineWidth = 2;
        g.beginPath(); g.arc(x, y, r + 3, 0, Math.PI * 2); g.stroke();
        this.drawPath(g, cur.path_ahead);
      }
    }
    this.drawn = drawn;
    this.frames += 1;
  }

  drawPath(g, path) {
    if (!Array.isArray(path) || !path.length || !this.site.nodes) return;
    g.strokeStyle = "rgba(255,255,255,0.6)"; g.lineWidth = 1.5;
    g.beginPath();
    path.forEach((node, i) => {
      const n = this.site.nodes[node];
      if (!n) return;
      const [cx, cy] = Array.isArray(n) ? n : [n.x, n.y];
      const [x, y] = this.toScreen((cx + 0.5) * this.cell, (cy + 0.5) * this.cell);
      i ? g.lineTo(x, y) : g.moveTo(x, y);
    });
    g.stroke();
  }
}
