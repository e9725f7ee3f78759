// The compact view: the sentence as wrapping text, as CircuitsVis' coloured tokens. Under each
// word, one strip per model shaded by the attention the word receives from the focused word
// (with no focus: the attention it receives on average), so any length reads at a glance.
// A per-word measure (attributions: one signed value per word, every row of its matrix the
// same) shades each word by its value on the diverging scale, symmetric about 0.

import { colour, scale } from "./colour.js";
import { at } from "./decode.js";
import { el, fmt } from "./dom.js";
import { focusColumn } from "./axis.js";

// The mean attention each column receives over the model's word rows (-1 where it has none).
function received(panel, info, cols) {
  const n = cols.labels.length;
  const out = new Float32Array(n);
  for (let c = 0; c < n; c++) {
    const k = cols.index(info, c);
    if (k < 0) { out[c] = -1; continue; }
    let sum = 0;
    for (let q = 0; q < cols.nWords; q++) sum += at(panel.matrix, q, k);
    out[c] = sum / Math.max(1, cols.nWords);
  }
  return out;
}

export function drawCompact(ctx, sentence, panels, infos, cols, vmaxes, perModel, measure) {
  const seq = scale("sequential");
  const signed = Boolean(measure && measure.signed);
  const div = scale("diverging");
  const shade = (x) => (signed ? colour(div, 0.5 + 0.5 * Math.max(-1, Math.min(1, x)))
    : colour(seq, Math.min(1, x)));
  const what = measure ? measure.short : "attention";
  const root = el("div", "tv-compact");
  root.dataset.models = String(panels.length);
  root.dataset.signed = String(signed);
  const means = panels.map((p, m) => received(p, infos[m], cols));
  const meanPeaks = means.map((v) => Math.max(1e-6, ...v));
  const meanMax = perModel ? meanPeaks : panels.map(() => Math.max(...meanPeaks));
  const caption = el("div", "tv-compact-caption tv-muted tv-small", root);
  const text = el("div", "tv-compact-text", root);
  const words = cols.labels.map((label, c) => {
    const special = c >= cols.nWords;
    const w = el("span", "tv-cword" + (special ? " tv-special" : ""), text);
    w.dataset.index = String(c);
    el("span", "tv-cword-text", w, label);
    const strips = panels.map((panel) => {
      const s = el("span", "tv-cstrip", w);
      s.dataset.model = panel.model;
      return s;
    });
    if (!special) {
      w.addEventListener("mouseenter", () => ctx.hover(c));
      w.addEventListener("mouseleave", () => ctx.hover(-1));
      w.addEventListener("click", (event) => { event.stopPropagation(); ctx.select(c); });
    }
    return { w, strips };
  });
  const names = panels.length > 1 ? ` (strips: ${infos.map((i) => i.name).join(" above, ")} below)` : "";

  function update(focus, selected) {
    const fc = measure && measure.words ? -1 : focusColumn(focus, cols, infos[0]);
    caption.textContent = measure && measure.words
      ? `Shading: each word's ${measure.label}, orange positive, purple negative, one scale ` +
        `symmetric about 0${names}.${measure.note ? " " + measure.note : ""}`
      : fc >= 0
      ? `Shading: the ${what} each word receives from “${cols.labels[fc]}”${names}.`
      : `Shading: the ${what} each word receives on average, no word focused${names}. Hover a word.`;
    words.forEach(({ w, strips }, c) => {
      w.classList.toggle("tv-focus", c === fc && fc >= 0);
      w.classList.toggle("tv-selected", c === selected);
      const tip = [cols.labels[c]];
      panels.forEach((panel, m) => {
        const info = infos[m], q = cols.index(info, fc), k = cols.index(info, c);
        let value = -1, x = 0;
        if (fc >= 0 && q >= 0 && k >= 0) { value = at(panel.matrix, q, k); x = value / vmaxes[m]; }
        else if (measure && measure.words) {
          value = k >= 0 ? at(panel.matrix, 0, k) : NaN; x = value / vmaxes[m];
        } else if (fc < 0) { value = means[m][c]; x = value / meanMax[m]; }
        const has = signed ? Number.isFinite(value) : value >= 0;
        strips[m].style.background = has && c !== fc ? shade(x) : "transparent";
        strips[m].dataset.weight = has ? value.toFixed(4) : "";
        if (has) tip.push(`${info.name}: ${fmt(value)}`);
      });
      w.title = tip.join("\n");
    });
  }
  return { node: root, update };
}
