// The attention lines of one band of the aligned view, per kind of panel: one model's
// attention (from and to the focused word, or each word's strongest arc), the difference of
// two models (where the first attends more in one colour, the second in the other), or every
// head of a layer overlaid (overlay.js). Lines are {from, to, w, stroke[, head]} in columns.

import { attentionColour, colour, fromColour, scale, toColour } from "./colour.js";
import { at } from "./decode.js";
import { headLines } from "./overlay.js";

// The lines of `panel` over `n` columns; `row(c)` is column c's row in its matrix (or -1);
// `fc` is the focused column (-1 for none); `threshold` is a fraction of `unit` (1 for
// distributions; a non-distribution's largest value, so a threshold means the same share).
// `sink` is the column the overview never picks as a strongest arc's end (the first word, the
// attention sink, while `exclude_sink`; -1 for none), as the difference leaves it out: else a
// causal model's every arc goes to it. A focused word's lines still include it.
export function bandLines(panel, n, row, fc, fraction, hidden, unit = 1, sink = -1) {
  if (panel.kind === "heads") return headLines(panel, n, row, fc, fraction, hidden, unit, sink);
  const threshold = fraction * unit;
  const M = panel.matrix;
  const signed = panel.kind === "difference";
  const div = signed ? scale("diverging") : null;
  const w = (q, k) => (q >= 0 && k >= 0 ? at(M, q, k) : 0);
  const strength = signed ? Math.abs : (x) => x;
  // A difference's line says which model attends more: the diverging scale's two ends.
  const signColour = (x) => colour(div, x > 0 ? 1 : 0);
  const lines = [];
  if (fc >= 0) {
    const q = row(fc);
    for (let c = 0; c < n && q >= 0; c++) {
      const k = row(c);
      if (c === fc || k < 0) continue;
      const from = w(q, k), to = w(k, q);
      if (strength(from) >= threshold && strength(from) > 0) {
        lines.push({ from: fc, to: c, w: from, stroke: signed ? signColour(from) : fromColour() });
      }
      // A difference compares the rows (the focused word's distributions): no "to" lines.
      if (!signed && to >= threshold && to > 0) lines.push({ from: c, to: fc, w: to, stroke: toColour() });
    }
    return lines;
  }
  // Overview: each word's strongest arc to another token (not the sink), where it reaches
  // the threshold.
  for (let c = 0; c < n; c++) {
    const q = row(c);
    if (q < 0) continue;
    let best = -1, bw = 0;
    for (let d = 0; d < n; d++) {
      const k = row(d);
      if (d !== c && d !== sink && k >= 0 && strength(w(q, k)) > strength(bw)) { bw = w(q, k); best = d; }
    }
    if (best >= 0 && strength(bw) >= threshold) {
      lines.push({ from: c, to: best, w: bw, stroke: signed ? signColour(bw) : attentionColour() });
    }
  }
  return lines;
}
