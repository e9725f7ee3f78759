// Colours, all from trfviz.palette (the `_palette` trait, sent once): the same scales and
// entity colours as the figures. Nothing here hard-codes a colour.

import { fmt, sv, title } from "./dom.js";

let PALETTE = null;

// Uses the palette the kernel sent (trfviz.palette.palette_payload()).
export function usePalette(palette) {
  if (palette && palette.scales) PALETTE = palette;
}

function palette() {
  if (!PALETTE) throw new Error("trfviz explorer: the palette (_palette) has not arrived");
  return PALETTE;
}

// The colour stops of a palette scale: "sequential", "diverging" or "score".
export function scale(name) {
  return palette().scales[name];
}
export const fromColour = () => palette().from; // attention from the focused token
export const toColour = () => palette().to; // attention to the focused token
export const attentionColour = () => palette().attention; // attention lines, no focus
export const noDataColour = () => palette().no_data; // a NaN cell: no data
// Head h's colour when a layer's heads are overlaid (palette.HEAD_COLORS, cycled).
export function headColour(h) {
  const colours = palette().heads;
  return colours[h % colours.length];
}

export function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}
const RAMPS = new Map();
export function ramp(stops) {
  if (!RAMPS.has(stops)) {
    const rgb = stops.map(hexToRgb);
    const table = [];
    for (let i = 0; i < 256; i++) {
      const x = (i / 255) * (rgb.length - 1);
      const j = Math.min(Math.floor(x), rgb.length - 2);
      const f = x - j;
      table.push(rgb[j].map((c, d) => Math.round(c + f * (rgb[j + 1][d] - c))));
    }
    RAMPS.set(stops, table);
  }
  return RAMPS.get(stops);
}
export function colour(stops, x) {
  if (!Number.isFinite(x)) return noDataColour(); // NaN: nothing to compare
  const t = ramp(stops)[Math.max(0, Math.min(255, Math.round(x * 255)))];
  return `rgb(${t[0]},${t[1]},${t[2]})`;
}

// displaCy's colour for an entity label (its pastel fill; the label is drawn dark on it).
export function entityColour(label) {
  const p = palette();
  return p.entities[label] || p.default_entity;
}

// A colour bar with its range; for a difference, which side favours which model. `caption`
// names the values (short, beside the bar; `full` in its tooltip); `kind` "signed" is a
// scale symmetric about 0.
export function drawLegend(kind, vmax, names, caption = "attention", full = "attention weight") {
  const diff = kind === "difference" || kind === "signed";
  const w = 120, pad = kind === "difference" ? 8 : 62, h = 30;
  const root = sv("svg", { class: "tv-legend", width: w + 2 * pad, height: h,
    viewBox: `0 0 ${w + 2 * pad} ${h}`, "data-kind": kind });
  const id = `tv-grad-${Math.random().toString(36).slice(2)}`;
  const grad = sv("linearGradient", { id, x1: 0, x2: 1, y1: 0, y2: 0 }, sv("defs", null, root));
  const stops = scale(diff ? "diverging" : "sequential");
  stops.forEach((s, i) => sv("stop", { offset: i / (stops.length - 1), "stop-color": s }, grad));
  if (kind !== "difference") {
    sv("text", { x: pad - 6, y: 12, "text-anchor": "end", class: "tv-legend-caption" }, root, caption);
  }
  sv("rect", { x: pad, y: 4, width: w, height: 9, rx: 2, fill: `url(#${id})`, class: "tv-legend-bar" }, root);
  sv("text", { x: pad, y: 25, "text-anchor": "start", class: "tv-legend-text" }, root, fmt(diff ? -vmax : 0));
  if (diff) sv("text", { x: pad + w / 2, y: 25, "text-anchor": "middle", class: "tv-legend-text" }, root, "0");
  sv("text", { x: pad + w, y: 25, "text-anchor": "end", class: "tv-legend-text" }, root, fmt(vmax));
  root.dataset.caption = full;
  title(root, kind === "difference"
    ? `${names[0]} − ${names[1]}: purple, more in ${names[1]}; orange, more in ${names[0]}`
    : kind === "signed" ? `${full}: orange positive, purple negative, scale symmetric about 0`
      : `${full} (colour scale up to the largest value shown)`);
  return root;
}
