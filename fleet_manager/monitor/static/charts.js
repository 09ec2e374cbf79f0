// Tiny canvas line charts for KPI history (no chart library, nothing fetched at run time).
export function lineChart(canvas, series, { colours = ["#58a6ff"], maxY = null } = {}) {
  const g = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  g.clearRect(0, 0, w, h);
  g.fillStyle = "#0d1117"; g.fillRect(0, 0, w, h);
  const all = series.flatMap((s) => s.points.map((p) => p[1]));
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  if (!all.length) { g.fillStyle = "#8b949e"; g.fillText("no data yet", 8, 16); return; }
  const top = maxY ?? Math.max(1, ...all) * 1.1;
  const x0 = Math.min(...xs), x1 = Math.max(x0 + 1, ...xs);
  series.forEach((s, i) => {
    g.strokeStyle = s.colour || colours[i % colours.length]; g.lineWidth = 1.5;
    g.beginPath();
    s.points.forEach(([x, y], j) => {
      const px = ((x - x0) / (x1 - x0)) * (w - 4) + 2, py = h - 2 - (y / top) * (h - 14);
      j ? g.lineTo(px, py) : g.moveTo(px, py);
    });
    g.stroke();
  });
  g.fillStyle = "#8b949e"; g.font = "10px system-ui";
  g.fillText(`max ${Math.round(top)}`, 4, 10);
  series.forEach((s, i) => { g.fillStyle = s.colour; g.fillText(s.name || "", 60 + i * 60, 10); });
}
