// All heads of a layer overlaid (bertviz's head view) in a band of the aligned view: each
// head's attention lines in its own colour (palette.HEAD_COLORS), a chip per head to hide or
// show it (the `hidden_heads` trait: per model key, its hidden heads, so each model's overlay
// toggles its own heads). Focused, the lines from the focused word; unfocused, each word's
// strongest line per head, where it is strong.

import { headColour } from "./colour.js";
import { el } from "./dom.js";

// Unfocused, only weights at least this strong are drawn (or every arc would show).
const UNFOCUSED_MIN = 0.3;

// The heads of model `key` hidden in its overlay (the `hidden_heads` trait).
export function hiddenHeads(ctx, key) {
  return new Set((ctx.getTrait("hidden_heads") || {})[key] || []);
}

// A row of chips, one per head of `panel` (kind "heads"), in `parent`; `update()` marks
// which are shown.
export function drawHeadChips(ctx, parent, panel, name) {
  const [H] = panel.heads.shape;
  const chips = el("div", "tv-head-chips", parent);
  chips.dataset.model = panel.model;
  el("span", "tv-muted tv-small", chips, `${name}: heads overlaid (click to hide or show):`);
  const nodes = [];
  for (let h = 0; h < H; h++) {
    const chip = el("button", "tv-head-chip", chips, `h${h}`);
    chip.type = "button";
    chip.dataset.head = String(h);
    chip.style.borderColor = headColour(h);
    chip.style.setProperty("--tv-head-colour", headColour(h));
    chip.addEventListener("click", () => {
      const hidden = hiddenHeads(ctx, panel.model);
      if (hidden.has(h)) hidden.delete(h); else hidden.add(h);
      ctx.setTrait("hidden_heads", { ...(ctx.getTrait("hidden_heads") || {}),
        [panel.model]: [...hidden].sort((a, b) => a - b) });
    });
    nodes.push(chip);
  }
  return {
    update() {
      const hidden = hiddenHeads(ctx, panel.model);
      nodes.forEach((chip, h) => {
        chip.classList.toggle("tv-on", !hidden.has(h));
        chip.setAttribute("aria-pressed", String(!hidden.has(h)));
      });
    },
  };
}

// The lines of every shown head, in axis columns: {from, to, w, stroke, head}. `row(c)` is
// column c's row in the heads' matrices (-1 where the model has no such token); `unit` is
// what a weight of 1 is in the measure shown (its largest value for a non-distribution);
// unfocused, no head's strongest line ends on column `sink` (see band_lines.js).
export function headLines(panel, n, row, fc, threshold, hidden, unit = 1, sink = -1) {
  const { values, shape: [H, , K] } = panel.heads;
  const lines = [];
  const floor = (fc >= 0 ? threshold : Math.max(threshold, UNFOCUSED_MIN)) * unit;
  for (let h = 0; h < H; h++) {
    if (hidden.has(h)) continue;
    const stroke = headColour(h);
    const w = (q, k) => values[(h * K + q) * K + k];
    for (let c = 0; c < n; c++) {
      if (fc >= 0 && c !== fc) continue;
      const q = row(c);
      if (q < 0) continue;
      let best = -1, bw = 0;
      for (let d = 0; d < n; d++) {
        const k = row(d);
        if (d === c || k < 0) continue;
        const x = w(q, k);
        if (fc >= 0) {
          if (x >= floor && x > 0) lines.push({ from: c, to: d, w: x, stroke, head: h });
        } else if (d !== sink && x > bw) { bw = x; best = d; }
      }
      if (fc < 0 && best >= 0 && bw >= floor) lines.push({ from: c, to: best, w: bw, stroke, head: h });
    }
  }
  return lines;
}
