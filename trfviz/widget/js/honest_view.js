// The difference panel's note: what was compared (the same words, rows renormalised), what was
// left out, the mean JS divergence over the words, and the switch for the first-word sink.

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
  const label = el("label", "tv-sink-toggle", note);
  const box2 = el("input", null, label);
  box2.type = "checkbox";
  box2.checked = Boolean(panel.excludeSink);
  box2.dataset.trait = "exclude_sink";
  el("span", null, label, " leave out the first word (attention sink)");
  box2.addEventListener("change", () => ctx.setTrait("exclude_sink", box2.checked));
  return note;
}
