// One panel of the view: its header (model, layer and head, colour legend), the sentence
// with its arcs, the heatmap under it and, for all heads of a layer, each head.

import { drawSentence } from "./arcs.js";
import { drawLegend } from "./colour.js";
import { maxAbs } from "./decode.js";
import { choiceLabel, el } from "./dom.js";
import { drawHeads } from "./grid.js";
import { drawHeatmap } from "./heatmap.js";
import { drawDifferenceNote } from "./honest_view.js";
import { drawOverlay } from "./overlay.js";

// Builds the panel in `parent`; returns what `highlight` restyles on hover.
export function buildPanel(ctx, parent, sentence, panel, opts) {
  const info = sentence.models[panel.model];
  const isDiff = panel.kind === "difference";
  const { matrix } = panel;
  const labels = isDiff ? sentence.tokens : info.labels;
  const other = isDiff ? sentence.models[panel.compare] || { name: panel.compare } : null;
  const box = el("section", "tv-panel", parent);
  box.dataset.model = panel.model;
  box.dataset.kind = panel.kind;
  const head = el("header", "tv-panel-head", box);
  const choice = (layer, h) => `${choiceLabel("layer", layer)} · ${choiceLabel("head", h)}`;
  if (isDiff) {
    el("span", "tv-panel-title", head, `${info.name} − ${other.name}`);
    el("span", "tv-badge", head, choice(panel.layer, panel.head));
    el("span", "tv-badge tv-badge-b", head, choice(panel.compare_layer, panel.compare_head));
  } else {
    el("span", "tv-panel-title", head, info.name);
    const badge = el("span", "tv-badge", head, choice(panel.layer, panel.head));
    badge.dataset.layer = String(panel.layer);
    badge.dataset.head = String(panel.head);
    if (info.truncated) el("span", "tv-badge tv-warn", head, "truncated");
    if (panel.kind === "heads") {
      el("span", "tv-muted tv-small", head, "the mean of the heads above; each head below");
    }
  }
  const vmax = Math.max(1e-6, maxAbs(matrix.values));
  head.appendChild(drawLegend(isDiff ? "difference" : "attention", vmax,
    isDiff ? [info.name, other.name] : []));
  if (isDiff) {
    el("span", "tv-muted tv-legend-note", head,
      `orange: more in ${info.name}; purple: more in ${other.name}`);
    drawDifferenceNote(ctx, box, panel);
  }
  const body = el("div", "tv-panel-body", box);
  const drawn = drawSentence(ctx, panel, matrix, {
    sentence, threshold: opts.threshold, showParse: opts.showParse,
    showEntities: opts.showEntities,
  });
  el("div", "tv-sentence-wrap", body).appendChild(drawn.node);
  const overlay = panel.kind === "heads" ? drawOverlay(ctx, box, drawn, panel, labels, opts) : null;
  let heat = null;
  if (opts.showHeatmap) {
    heat = drawHeatmap(ctx, panel, matrix, labels);
    el("div", "tv-heatmap-wrap", body).appendChild(heat.node);
  }
  const summary = el("div", "tv-focus-summary", box);
  if (panel.kind === "heads") box.appendChild(drawHeads(ctx, panel));
  return { panel, labels, isDiff, drawn, heat, summary, overlay };
}
