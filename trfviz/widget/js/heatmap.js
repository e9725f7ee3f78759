// The [query, key] heatmap of a panel: one image of the matrix, axis labels and hover marks.

import { ramp, scale } from "./colour.js";
import { at, maxAbs } from "./decode.js";
import { SMALL_FONT, clip, fmt, measure, sv, title } from "./dom.js";

// `opts.vmax` is the top of the colour scale (default: this matrix's largest weight; the
// aligned view passes one shared by both models); `opts.width` the room it has: cells shrink
// to fit it and labels are thinned to every `step`-th so that none overlaps another.
export function drawHeatmap(ctx, panel, matrix, fullLabels, opts = {}) {
  const n = fullLabels.length;
  const labels = fullLabels.map((l) => clip(l, 14));
  const isDiff = panel.kind === "difference";
  const labelW = Math.min(120, Math.max(...labels.map((l) => measure(l, SMALL_FONT)), 10) + 10);
  const left = labelW + 4;
  const room = opts.width ? Math.min(420, opts.width - left - labelW * 0.6) : 380;
  const cell = Math.max(3, Math.min(22, Math.floor(room / Math.max(1, n))));
  // Rows need a text line (13 px) each; the columns' labels at -55° need 13 / sin 55°.
  const rowStep = Math.ceil(13 / cell);
  const colStep = Math.ceil(13 / (cell * Math.sin((55 * Math.PI) / 180)));
  const top = labelW * 0.82 + 10;
  // The last columns' labels run up and to the right of the grid: room for them too.
  const right = Math.max(6, labelW * Math.cos((55 * Math.PI) / 180) - cell / 2 + 4);
  const width = left + n * cell + right, height = top + n * cell + 6;
  const vmax = opts.vmax || Math.max(1e-6, maxAbs(matrix.values));
  const root = sv("svg", { class: "tv-heatmap", width, height, viewBox: `0 0 ${width} ${height}`,
    role: "img", "aria-label": "attention heatmap, query rows by key columns" });
  // The cells are one image (a pixel per cell, scaled up without smoothing): one DOM node
  // instead of n² keeps hover and head switches fast on long sentences.
  const image = sv("image", { x: left, y: top, width: n * cell, height: n * cell,
    preserveAspectRatio: "none", href: heatmapImage(matrix, n, isDiff, vmax), class: "tv-cells",
    "data-n": n, "data-cell": cell }, root);
  const cellAt = (event) => {
    const box = image.getBoundingClientRect();
    const k = Math.floor(((event.clientX - box.left) / box.width) * n);
    const q = Math.floor(((event.clientY - box.top) / box.height) * n);
    return q >= 0 && q < n && k >= 0 && k < n ? [q, k] : null;
  };
  let lastCell = "";
  image.addEventListener("mousemove", (event) => {
    const hit = cellAt(event);
    if (!hit || hit.join() === lastCell) return;
    lastCell = hit.join();
    const [q, k] = hit;
    ctx.hover(q, `${fullLabels[q]} → ${fullLabels[k]}: ${fmt(at(matrix, q, k))}`, hit);
  });
  image.addEventListener("mouseleave", () => ctx.hover(-1));
  image.addEventListener("click", (event) => {
    const hit = cellAt(event);
    if (hit) ctx.select(hit[0]);
  });
  sv("rect", { x: left - 0.5, y: top - 0.5, width: n * cell + 1, height: n * cell + 1,
    class: "tv-heatmap-frame" }, root);
  sv("text", { x: 2, y: 11, class: "tv-axis-caption" }, root, "from ↓  to →");
  const rowMark = sv("rect", { x: left, y: top, width: n * cell, height: cell,
    class: "tv-heatmap-row", visibility: "hidden" }, root);
  const colMark = sv("rect", { x: left, y: top, width: cell, height: n * cell,
    class: "tv-heatmap-col", visibility: "hidden" }, root);
  const cellMark = sv("rect", { x: left, y: top, width: cell, height: cell,
    class: "tv-heatmap-cell", visibility: "hidden" }, root);
  const axisLabels = labels.map((label, i) => {
    const row = sv("text", { x: left - 5, y: top + i * cell + cell / 2 + 3.5, "text-anchor": "end",
      class: "tv-axis-label tv-row-label" }, root, label);
    const cx = left + i * cell + cell / 2 + 3, cy = top - 5;
    const col = sv("text", { x: cx, y: cy, transform: `rotate(-55 ${cx} ${cy})`,
      class: "tv-axis-label tv-col-label" }, root, label);
    for (const node of [row, col]) {
      if (label !== fullLabels[i]) title(node, fullLabels[i]);
      node.addEventListener("mouseenter", () => ctx.hover(i));
      node.addEventListener("mouseleave", () => ctx.hover(-1));
      node.addEventListener("click", () => ctx.select(i));
    }
    return [row, col];
  });
  // Thinned labels: every step-th shown; a focused row or column shows its own label and
  // hides the neighbours it would overlap.
  function thin(focus) {
    axisLabels.forEach(([row, col], i) => {
      const near = (s) => focus >= 0 && focus < n && i !== focus && Math.abs(i - focus) < s;
      const rowOn = i === focus || (i % rowStep === 0 && !near(rowStep));
      const colOn = i === focus || (i % colStep === 0 && !near(colStep));
      row.setAttribute("visibility", rowOn ? "visible" : "hidden");
      col.setAttribute("visibility", colOn ? "visible" : "hidden");
    });
  }
  thin(-1);

  function update(focus, cellFocus) {
    const focused = focus >= 0 && focus < n;
    rowMark.setAttribute("visibility", focused ? "visible" : "hidden");
    colMark.setAttribute("visibility", focused ? "visible" : "hidden");
    if (focused) {
      rowMark.setAttribute("y", String(top + focus * cell));
      colMark.setAttribute("x", String(left + focus * cell));
    }
    const onCell = cellFocus && cellFocus[0] < n && cellFocus[1] < n;
    cellMark.setAttribute("visibility", onCell ? "visible" : "hidden");
    if (onCell) {
      cellMark.setAttribute("x", String(left + cellFocus[1] * cell));
      cellMark.setAttribute("y", String(top + cellFocus[0] * cell));
    }
    axisLabels.forEach(([row, col], i) => {
      row.classList.toggle("tv-focus", i === focus);
      col.classList.toggle("tv-focus", i === focus);
    });
    thin(focus);
  }
  return { node: root, update };
}

const HEATMAP_IMAGES = new WeakMap();
export function heatmapImage(matrix, n, diverging, top) {
  // A data URL of the [query, key] matrix, a pixel per cell, coloured up to `top` (default:
  // its largest weight); cached per unpacked matrix and top.
  const vmax = top || Math.max(1e-6, maxAbs(matrix.values));
  if (!HEATMAP_IMAGES.has(matrix)) HEATMAP_IMAGES.set(matrix, new Map());
  const cached = HEATMAP_IMAGES.get(matrix);
  if (cached.has(vmax)) return cached.get(vmax);
  const canvas = document.createElement("canvas");
  canvas.width = n; canvas.height = n;
  const c = canvas.getContext("2d");
  const image = c.createImageData(n, n);
  const table = ramp(scale(diverging ? "diverging" : "sequential"));
  for (let q = 0; q < n; q++) {
    for (let k = 0; k < n; k++) {
      const w = at(matrix, q, k);
      const x = diverging ? 0.5 + 0.5 * w / vmax : w / vmax;
      const rgb = table[Math.max(0, Math.min(255, Math.round(x * 255)))];
      const i = 4 * (q * n + k);
      image.data[i] = rgb[0]; image.data[i + 1] = rgb[1]; image.data[i + 2] = rgb[2];
      image.data[i + 3] = 255;
    }
  }
  c.putImageData(image, 0, 0);
  const url = canvas.toDataURL("image/png");
  cached.set(vmax, url);
  return url;
}
