// The [query, key] heatmap of a panel: one image of the matrix, axis labels and hover marks.

import { hexToRgb, noDataColour, ramp, scale } from "./colour.js";
import { at, maxAbs } from "./decode.js";
import { SMALL_FONT, clip, fmt, measure, sv, title } from "./dom.js";

// `opts.vmax` is the top of the colour scale (default: this matrix's largest weight; the
// aligned view passes one shared by both models); `opts.width` the room it has: the cells fill
// it (up to 22 px), the labels' margins measured from the labels themselves. Labels are thinned
// so that none overlaps another, but the first, the last, the special tokens (from
// `opts.nWords` on) and the focused one are labelled first (see `thinnedLabels`).
const COS55 = Math.cos((55 * Math.PI) / 180), SIN55 = Math.sin((55 * Math.PI) / 180);
export function drawHeatmap(ctx, panel, matrix, fullLabels, opts = {}) {
  const n = fullLabels.length;
  const labels = fullLabels.map((l) => clip(l, 14));
  const isDiff = panel.kind === "difference";
  const widths = labels.map((l) => measure(l, SMALL_FONT));
  const labelW = Math.min(120, Math.max(...widths, 10) + 10);
  const left = labelW + 4;
  // The last columns' labels run up and to the right of the grid (at -55°): the room they
  // need past the grid's right edge, for a cell size `c`.
  const rightFor = (c) => Math.max(6, ...widths.map((w, i) => w * COS55 + 7 - (n - i - 0.5) * c));
  const fit = (c) => Math.max(3, Math.min(22, c));
  let cell = fit(opts.width ? (opts.width - left - rightFor(0)) / Math.max(1, n) : 380 / Math.max(1, n));
  if (opts.width) cell = fit((opts.width - left - rightFor(cell)) / Math.max(1, n));
  cell = Math.floor(cell * 4) / 4;
  // Rows need a text line (13 px) each; the columns' labels at -55° need 13 / sin 55°.
  const rowStep = Math.ceil(13 / cell);
  const colStep = Math.ceil(13 / (cell * SIN55));
  const top = labelW * 0.82 + 10;
  const right = rightFor(cell);
  const width = left + n * cell + right, height = top + n * cell + 6;
  const vmax = opts.vmax || Math.max(1e-6, maxAbs(matrix.values));
  const root = sv("svg", { class: "tv-heatmap", width, height, viewBox: `0 0 ${width} ${height}`,
    role: "img", "aria-label": "attention heatmap, query rows by key columns" });
  // The cells are one image (a pixel per cell, scaled up without smoothing): one DOM node
  // instead of n² keeps hover and head switches fast on long sentences.
  const image = sv("image", { x: left, y: top, width: n * cell, height: n * cell,
    preserveAspectRatio: "none", href: heatmapImage(matrix, n, isDiff, vmax), class: "tv-cells",
    "data-n": n, "data-cell": cell }, root);
  // The rows with no data at all (NaN: nothing left to compare), drawn grey.
  image.dataset.noDataRows = Array.from({ length: n }, (_, q) => q)
    .filter((q) => fullLabels.every((_, k) => Number.isNaN(at(matrix, q, k)))).join(",");
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
    const w = at(matrix, q, k);
    ctx.hover(q, `${fullLabels[q]} → ${fullLabels[k]}: ${Number.isNaN(w) ? "no data" : fmt(w)}`, hit);
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
  const nWords = opts.nWords === undefined ? n : opts.nWords;
  function thin(focus) {
    const rows = thinnedLabels(n, rowStep, focus, nWords);
    const cols = thinnedLabels(n, colStep, focus, nWords);
    axisLabels.forEach(([row, col], i) => {
      row.setAttribute("visibility", rows[i] ? "visible" : "hidden");
      col.setAttribute("visibility", cols[i] ? "visible" : "hidden");
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

// Which of `n` labels to show, `step` apart at least (so none overlaps another): first the
// focused one, the first, the last and the special tokens (index `nWords` on), each where it
// overlaps none already shown; then every step-th of the rest where it overlaps none.
export function thinnedLabels(n, step, focus, nWords = n) {
  const on = new Array(n).fill(false);
  const shown = [];
  const free = (i) => shown.every((j) => Math.abs(i - j) >= step);
  const add = (i) => { if (i >= 0 && i < n && !on[i] && free(i)) { on[i] = true; shown.push(i); } };
  add(focus);
  add(0);
  add(n - 1);
  for (let i = n - 1; i >= nWords; i--) add(i);
  for (let i = 0; i < n; i += step) add(i);
  // Gaps the step grid left next to an anchor: fill them where a label fits.
  for (let i = 0; i < n; i++) add(i);
  return on;
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
  const none = hexToRgb(noDataColour()); // NaN: no data (a row with nothing to compare)
  for (let q = 0; q < n; q++) {
    for (let k = 0; k < n; k++) {
      const w = at(matrix, q, k);
      const x = diverging ? 0.5 + 0.5 * w / vmax : w / vmax;
      const rgb = Number.isNaN(w) ? none : table[Math.max(0, Math.min(255, Math.round(x * 255)))];
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
