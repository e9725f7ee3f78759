// The read-out of the focused token: the info bar (the token, its tag, its wordpieces per
// model) and, under each panel, the weights from and to it (or, for a difference, the two
// models' weights and their difference).

import { at } from "./decode.js";
import { el, fmt } from "./dom.js";

// The info bar for the focused token (or a hint when there is none).
export function drawInfo(infoBar, sentence, focus, shown, cellNote) {
  infoBar.replaceChildren();
  if (!sentence.tokens) return;
  if (focus < 0 || focus >= sentence.tokens.length) {
    const hint = el("span", "tv-muted", infoBar,
      "Hover a token to see the attention from it (blue) and to it (orange); click to pin it. " +
      "← → heads, ↑ ↓ layers.");
    hint.classList.add("tv-hint");
    return;
  }
  const word = el("span", "tv-info-token", infoBar, sentence.tokens[focus]);
  word.dataset.index = String(focus);
  if (sentence.tags && sentence.tags[focus]) el("span", "tv-info-tag", infoBar, sentence.tags[focus]);
  for (const key of shown) {
    const info = sentence.models[key];
    if (!info) continue;
    const group = el("span", "tv-info-pieces", infoBar);
    group.dataset.model = key;
    el("span", "tv-info-model", group, info.name);
    const pieces = info.pieces[focus] || [];
    if (!pieces.length) el("span", "tv-piece tv-none", group, "no piece");
    for (const p of pieces) el("code", "tv-piece", group, p);
  }
  if (cellNote) el("span", "tv-info-note", infoBar, cellNote);
}

// The `n` largest weights from (or to) the focused token, the token itself included (its
// attention to itself is part of its row): [label, weight, index], largest first.
export function topWeights(matrix, labels, focus, from, n) {
  const out = [];
  for (let i = 0; i < labels.length; i++) {
    out.push([labels[i], from ? at(matrix, focus, i) : at(matrix, i, focus), i]);
  }
  return out.sort((a, b) => b[1] - a[1]).slice(0, n).filter((x) => x[1] > 0);
}

// One weight of the read-out; the focused token's own is marked "(itself)".
function weightItem(parent, [label, w, i], focus) {
  const self = i === focus;
  const item = el("span", "tv-weight" + (self ? " tv-self" : ""), parent,
    `${label}${self ? " (itself)" : ""} ${fmt(w)}`);
  item.dataset.index = String(i);
  item.dataset.w = String(w);
  return item;
}

// Under a panel: the strongest weights from and to the focused token (itself included).
export function drawSummary({ labels, isDiff, panel, summary }, focus) {
  summary.replaceChildren();
  summary.hidden = !(focus >= 0 && focus < labels.length);
  if (summary.hidden) return;
  const { matrix, a, b } = panel;
  if (isDiff) {
    drawDifferenceSummary(summary, panel, labels, focus);
    return;
  }
  const from = el("span", "tv-from", summary);
  el("span", "tv-arrow", from, `${labels[focus]} →`);
  for (const top of topWeights(matrix, labels, focus, true, 5)) weightItem(from, top, focus);
  const to = el("span", "tv-to", summary);
  el("span", "tv-arrow", to, `→ ${labels[focus]}`);
  for (const top of topWeights(matrix, labels, focus, false, 5)) weightItem(to, top, focus);
}

// Under a difference: the focused word's JS divergence, then the words where the two models'
// renormalised weights differ most, each with both values, and what was left out.
function drawDifferenceSummary(summary, panel, labels, focus) {
  const { matrix, a, b, js, excluded } = panel;
  const names = panel.names || ["A", "B"];
  el("span", "tv-arrow", summary, `${labels[focus]} →`);
  const divergence = el("span", "tv-js", summary,
    `JS divergence ${Number.isFinite(js[focus]) ? fmt(js[focus]) : "– (no weight left)"}`);
  divergence.dataset.js = String(js[focus]);
  divergence.title = "Jensen–Shannon divergence (base 2, 0 = same, 1 = disjoint) of the two " +
    "models' rows over the words compared, each renormalised to sum to 1";
  const rows = labels.map((l, i) => [i, l, at(a, focus, i), at(b, focus, i), at(matrix, focus, i)])
    .filter((r) => Number.isFinite(r[4]) && (r[2] > 0 || r[3] > 0))
    .sort((x, y) => Math.abs(y[4]) - Math.abs(x[4])).slice(0, 5);
  for (const [i, l, x, y, d] of rows) {
    const self = i === focus;
    const item = el("span", "tv-weight tv-diff-weight" + (self ? " tv-self" : ""), summary,
      `${l}${self ? " (itself)" : ""} ${names[0]} ${fmt(x)} vs ${names[1]} ${fmt(y)} ` +
      `(${d >= 0 ? "+" : ""}${fmt(d)})`);
    item.dataset.index = String(i);
    item.dataset.a = String(x);
    item.dataset.b = String(y);
  }
  if (excluded && excluded.length) {
    el("span", "tv-muted tv-excluded", summary, `left out, rows renormalised: ${excluded.join(", ")}`);
  }
}
