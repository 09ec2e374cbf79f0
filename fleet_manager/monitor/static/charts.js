// Tiny canvas line charts for KPI history (no chart library, nothing fetched at run time).
export function lineChart(canvas, series, { maxY = null, unit = "" } = {}) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(100, canvas.clientWidth || canvas.width), h = Math.max(60, canvas.clientHeight || canvas.height);
  if (canvas.width !== Math.round(w * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); }
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.fillStyle = "#0d1117"; g.fillRect(0, 0, w, h);
  g.font = "10px system-ui, sans-serif";
  // Legend first: it decides how much room the plot gets.
  let lx = 4, ly = 11;
  for (const s of series) {
    const text = s.name || "";
    const tw = g.measureText(text).width + 14;
    if (lx + tw > w) { lx = 4; ly += 12; }
    g.fillStyle = s.colour; g.fillRect(lx, ly - 7, 8, 8);
    g.fillStyle = "#c9d1d9"; g.fillText(text, lx + 10, ly);
    lx += tw;
  }
  const top = ly + 6, bottom = h - 12;
  const all = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  const xs = series.flatMap((s) => s.points.map((p) => p[0])).filter(Number.isFinite);
  if (!all.length) { g.fillStyle = "#8b949e"; g.fillText("collecting data…", 8, top + 14); return; }
  const yMax = maxY ?? Math.max(1, ...all) * 1.1;
  const x0 = Math.min(...xs), x1 = Math.max(x0 + 1, ...xs);
  const px = (x) => 2 + ((x - x0) / (x1 - x0)) * (w - 4);
  const py = (y) => bottom - (y / yMax) * (bottom - top);
  g.strokeStyle = "#30363d"; g.lineWidth = 1;
  g.beginPath(); g.moveTo(0, bottom + 0.5); g.lineTo(w, bottom + 0.5); g.stroke();
  for (const s of series) {
    g.strokeStyle = s.colour; g.lineWidth = 1.5;
    g.beginPath();
    s.points.forEach(([x, y], j) => (j ? g.lineTo(px(x), py(y)) : g.moveTo(px(x), py(y))));
    g.stroke();
  }
  g.fillStyle = "#8b949e";
  g.fillText(`max ${Math.round(yMax)}${unit}`, 4, h - 2);
  const span = Math.round((x1 - x0) / 60);
  const label = `last ${span} min (sim)`;
  g.fillText(label, w - g.measureText(label).width - 4, h - 2);
}
