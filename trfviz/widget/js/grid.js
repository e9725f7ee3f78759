// Small multiples of heads: the heads of the layer shown (under a panel), and the head grid
// (every layer × head: filled by a per-head score, or each head's pattern on one scale).

import { colour, ramp, scale } from "./colour.js";
import { maxAbs, unpack } from "./decode.js";
import { choiceLabel, el, fmt } from "./dom.js";

// A thumbnail of the [q, k] block at `offset`, coloured up to `peak` (one shared peak makes
// thumbnails comparable; without one, the block's own maximum).
export function drawThumb(canvas, values, side, offset, stops, peak) {
  const c = canvas.getContext("2d");
  const image = c.createImageData(side[1], side[0]);
  const table = ramp(stops);
  let top = peak || 1e-9;
  if (!peak) for (let i = 0; i < side[0] * side[1]; i++) top = Math.max(top, values[offset + i]);
  for (let i = 0; i < side[0] * side[1]; i++) {
    const rgb = table[Math.round(Math.max(0, Math.min(1, values[offset + i] / top)) * 255)];
    image.data[4 * i] = rgb[0]; image.data[4 * i + 1] = rgb[1]; image.data[4 * i + 2] = rgb[2];
    image.data[4 * i + 3] = 255;
  }
  c.putImageData(image, 0, 0);
}

export function drawHeads(ctx, panel) {
  const heads = panel.heads;
  const [h, q, k] = heads.shape;
  const wrap = el("div", "tv-heads");
  const peak = Math.max(1e-9, maxAbs(heads.values)); // one scale for every head
  for (let i = 0; i < h; i++) {
    const item = el("button", "tv-head-thumb", wrap);
    item.type = "button";
    item.dataset.head = String(i);
    item.title = `${choiceLabel("head", i)}: click to show it`;
    const canvas = el("canvas", null, item);
    canvas.width = k; canvas.height = q;
    drawThumb(canvas, heads.values, [q, k], i * q * k, scale("sequential"), peak);
    el("span", null, item, `h${i}`);
    item.addEventListener("click", () => ctx.setHead(panel.model, i));
  }
  return wrap;
}

// The score of `grid` that `wanted` names: that name, or this grid's JS distance for another
// model's ("JS distance to …" names the other model), or null for the attention patterns.
export function gridScoreName(grid, wanted) {
  const names = Object.keys(grid.scores || {});
  if (!wanted) return null;
  if (names.includes(wanted)) return wanted;
  if (wanted.startsWith("JS distance")) return names.find((n) => n.startsWith("JS distance")) || null;
  return null;
}

// The head grid of one model: layers in columns, heads in rows; each cell filled by the
// chosen score (a layer × head heatmap with its colour bar) or, with no score chosen, the
// head's attention pattern, every thumbnail on one shared scale. A click shows that head.
export function drawGrid(ctx, key, grid, current, name, wanted) {
  const wrap = el("div", "tv-grid-model");
  const scoreName = gridScoreName(grid, wanted);
  wrap.dataset.score = scoreName || "";
  const headRow = el("div", "tv-grid-title", wrap);
  el("strong", null, headRow, name);
  el("span", "tv-muted", headRow, " · layers in columns, heads in rows · colour by ");
  const select = el("select", "tv-grid-score", headRow);
  select.dataset.trait = "grid_score";
  for (const value of ["", ...Object.keys(grid.scores || {})]) {
    const what = grid.measure || "attention";
    const option = el("option", null, select, value || `${what} pattern (shared scale)`);
    option.value = value;
  }
  select.value = scoreName || "";
  select.addEventListener("change", () => ctx.setTrait("grid_score", select.value));
  const thumbs = unpack(grid.thumbs);
  const [L, H, q, k] = thumbs.shape;
  const peak = Math.max(1e-9, maxAbs(thumbs.values));
  const size = L > 24 ? 16 : L > 12 ? 22 : 34; // 30 layers still fit a laptop's cell
  const table = el("div", "tv-grid-table", wrap);
  table.style.gridTemplateColumns = `24px repeat(${L}, ${size + 4}px)`;
  el("span", "tv-grid-corner", table, "");
  for (let l = 0; l < L; l++) el("span", "tv-grid-axis", table, l);
  const scores = scoreName ? grid.scores[scoreName] : null;
  const range = scoreName ? grid.score_ranges[scoreName] : null;
  for (let h = 0; h < H; h++) {
    el("span", "tv-grid-axis", table, `h${h}`);
    for (let l = 0; l < L; l++) {
      const cell = el("button", "tv-grid-cell", table);
      cell.type = "button";
      cell.dataset.layer = String(l);
      cell.dataset.head = String(h);
      cell.style.width = cell.style.height = `${size}px`;
      let tip = `layer ${l} · head ${h}`;
      if (scores) {
        const score = scores[l][h];
        cell.classList.add("tv-scored");
        if (score === null || score === undefined || !range) {
          cell.classList.add("tv-no-score");
          tip += ` · ${scoreName}: none`;
        } else {
          const x = range[1] > range[0] ? (score - range[0]) / (range[1] - range[0]) : 1;
          cell.style.background = colour(scale("score"), x);
          cell.dataset.score = String(score);
          tip += ` · ${scoreName} ${fmt(score)}`;
        }
      } else {
        const canvas = el("canvas", null, cell);
        canvas.width = k; canvas.height = q;
        drawThumb(canvas, thumbs.values, [q, k], (l * H + h) * q * k, scale("sequential"), peak);
      }
      if (current[0] === l && current[1] === h) cell.classList.add("tv-current");
      cell.title = `${tip} · click to show it`;
      cell.addEventListener("click", () => ctx.jump(key, l, h));
    }
  }
  const legend = el("div", "tv-grid-legend", wrap);
  if (scores) {
    el("span", "tv-grid-score-name", legend, scoreName);
    el("span", "tv-muted", legend, range ? fmt(range[0]) : "–");
    const bar = el("span", "tv-score-bar", legend);
    bar.style.background = `linear-gradient(90deg, ${scale("score").join(",")})`;
    el("span", "tv-muted", legend, range ? fmt(range[1]) : "–");
    if (grid.shared_scale) el("span", "tv-muted tv-grid-shared", legend, "one scale for both models");
  } else {
    el("span", "tv-grid-score-name", legend, `${grid.measure || "attention"}, every head on one scale`);
    el("span", "tv-muted", legend, "0");
    const bar = el("span", "tv-score-bar", legend);
    bar.style.background = `linear-gradient(90deg, ${scale("sequential").join(",")})`;
    el("span", "tv-muted", legend, fmt(peak));
  }
  return wrap;
}
