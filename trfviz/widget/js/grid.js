// Small multiples of heads: the heads of the layer shown (under a panel), and the head grid
// (every layer × head as a thumbnail, optionally framed by the caller's per-head score).

import { colour, ramp, scale } from "./colour.js";
import { unpack } from "./decode.js";
import { choiceLabel, el, fmt } from "./dom.js";

export function drawThumb(canvas, values, side, offset, stops) {
  const c = canvas.getContext("2d");
  const image = c.createImageData(side[1], side[0]);
  const table = ramp(stops);
  let peak = 1e-9;
  for (let i = 0; i < side[0] * side[1]; i++) peak = Math.max(peak, values[offset + i]);
  for (let i = 0; i < side[0] * side[1]; i++) {
    const rgb = table[Math.round(Math.min(1, values[offset + i] / peak) * 255)];
    image.data[4 * i] = rgb[0]; image.data[4 * i + 1] = rgb[1]; image.data[4 * i + 2] = rgb[2];
    image.data[4 * i + 3] = 255;
  }
  c.putImageData(image, 0, 0);
}

export function drawHeads(ctx, panel) {
  const heads = panel.heads;
  const [h, q, k] = heads.shape;
  const wrap = el("div", "tv-heads");
  for (let i = 0; i < h; i++) {
    const item = el("button", "tv-head-thumb", wrap);
    item.type = "button";
    item.dataset.head = String(i);
    item.title = `${choiceLabel("head", i)}: click to show it`;
    const canvas = el("canvas", null, item);
    canvas.width = k; canvas.height = q;
    drawThumb(canvas, heads.values, [q, k], i * q * k, scale("sequential"));
    el("span", null, item, `h${i}`);
    item.addEventListener("click", () => ctx.setHead(panel.model, i));
  }
  return wrap;
}

export function drawGrid(ctx, key, grid, current, name) {
  const wrap = el("div", "tv-grid-model");
  const headRow = el("div", "tv-grid-title", wrap);
  el("strong", null, headRow, name);
  el("span", "tv-muted", headRow,
    ` · layers in columns, heads in rows${grid.scores ? " · framed by head score" : ""}`);
  const thumbs = unpack(grid.thumbs);
  const [L, H, q, k] = thumbs.shape;
  const size = L > 12 ? 22 : 34;
  const table = el("div", "tv-grid-table", wrap);
  table.style.gridTemplateColumns = `24px repeat(${L}, ${size + 4}px)`;
  el("span", "tv-grid-corner", table, "");
  for (let l = 0; l < L; l++) el("span", "tv-grid-axis", table, l);
  const range = grid.score_range;
  for (let h = 0; h < H; h++) {
    el("span", "tv-grid-axis", table, `h${h}`);
    for (let l = 0; l < L; l++) {
      const cell = el("button", "tv-grid-cell", table);
      cell.type = "button";
      cell.dataset.layer = String(l);
      cell.dataset.head = String(h);
      cell.style.width = cell.style.height = `${size}px`;
      const canvas = el("canvas", null, cell);
      canvas.width = k; canvas.height = q;
      drawThumb(canvas, thumbs.values, [q, k], (l * H + h) * q * k, scale("sequential"));
      let tip = `layer ${l} · head ${h}`;
      const score = grid.scores ? grid.scores[l][h] : null;
      if (score !== null && score !== undefined && range) {
        const x = range[1] > range[0] ? (score - range[0]) / (range[1] - range[0]) : 1;
        cell.style.borderColor = colour(scale("score"), x);
        cell.classList.add("tv-scored");
        cell.dataset.score = String(score);
        tip += ` · score ${fmt(score)}`;
      }
      if (current[0] === l && current[1] === h) cell.classList.add("tv-current");
      cell.title = tip;
      cell.addEventListener("click", () => ctx.jump(key, l, h));
    }
  }
  if (range) {
    const legend = el("div", "tv-grid-legend", wrap);
    el("span", "tv-muted", legend, `score ${fmt(range[0])}`);
    const bar = el("span", "tv-score-bar", legend);
    bar.style.background = `linear-gradient(90deg, ${scale("score").join(",")})`;
    el("span", "tv-muted", legend, fmt(range[1]));
  }
  return wrap;
}
