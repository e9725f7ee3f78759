// The difference panel's note: what was compared (the same words, rows renormalised), what was
// left out, the mean JS divergence over the words, and the switch for the first-word sink;
// that a causal model sees only the preceding words; what grey (no data) means.

import { el, fmt } from "./dom.js";

export function drawDifferenceNote(ctx, box, panel) {
  const note = el("div", "tv-difference-note", box);
  const finite = Array.from(panel.js).filter(Number.isFinite);
  const mean = finite.length ? finite.reduce((s, v) => s + v, 0) / finite.length : NaN;
  const js = el("span", "tv-js-mean", note,
    `JS divergence, mean over words: ${Number.isFinite(mean) ? fmt(mean) : "–"}`);
  js.dataset.js = String(mean);
  el("span", "tv-muted", note,
    ` · both rows over the same words, renormalised to sum to 1; left out: ${
      panel.excluded.length ? panel.excluded.join(", ") : "nothing"}`);
  sinkToggle(ctx, note, panel.excludeSink);
  const causal = (panel.causal || []).map((c, i) => (c ? panel.names[i] : null)).filter(Boolean);
  if (causal.length === 1) {
    const other = panel.names.find((name) => name !== causal[0]);
    el("div", "tv-muted tv-causal-note", note,
      `${causal[0]} is causal: each word sees only the words before it, so above the diagonal ` +
      `the difference is ${other}'s weight alone (trfviz.analysis.compare_heads(..., keys="preceding") ` +
      "compares only the words both can see)");
  }
  el("div", "tv-muted tv-no-data-note", note,
    "grey: no data (a row with no weight left in a model once words are left out, " +
    "and the words left out)");
  return note;
}

// The switch of the `exclude_sink` trait (the difference's note, the overview's caption).
export function sinkToggle(ctx, parent, checked) {
  const label = el("label", "tv-sink-toggle", parent);
  const box = el("input", null, label);
  box.type = "checkbox";
  box.checked = Boolean(checked);
  box.dataset.trait = "exclude_sink";
  el("span", null, label, " leave out the first word (attention sink)");
  box.addEventListener("change", () => ctx.setTrait("exclude_sink", box.checked));
  return label;
}
