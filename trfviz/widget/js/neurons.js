// The neuron panel (bertviz's neuron view): for the selected word and the current layer and
// head of each model, its query vector, every word's key vector, their element-wise product
// and the score the product sums to (scaled), with the resulting softmax weight, as heat
// strips (one cell per dimension of the head, on a diverging scale symmetric about 0). The
// `_neurons` payload is sent only for the word, layer and head shown, while the panel is on
// (see trfviz/widget/neurons.py).

import { ramp, scale } from "./colour.js";
import { maxAbs, unpack } from "./decode.js";
import { el, fmt } from "./dom.js";

const ROW = 12; // px per word row
const CELL = 3; // px per dimension

// A canvas of `rows` × `cols` values coloured on the diverging scale up to ±vmax.
function heatStrip(values, rows, cols, vmax, what) {
  const canvas = document.createElement("canvas");
  canvas.width = cols;
  canvas.height = rows;
  canvas.className = "tv-neuron-strip";
  canvas.dataset.what = what;
  canvas.style.width = `${cols * CELL}px`;
  canvas.style.height = `${rows * ROW}px`;
  canvas.title = `${what}: one cell per dimension; orange positive, purple negative, ±${fmt(vmax)}`;
  const g = canvas.getContext("2d");
  if (!g) return canvas;
  const image = g.createImageData(cols, rows);
  const table = ramp(scale("diverging"));
  for (let i = 0; i < rows * cols; i++) {
    const t = table[Math.max(0, Math.min(255, Math.round((0.5 + 0.5 * values[i] / vmax) * 255)))];
    image.data.set([t[0], t[1], t[2], 255], 4 * i);
  }
  g.putImageData(image, 0, 0);
  return canvas;
}

function column(parent, title, className) {
  const box = el("div", `tv-neuron-col ${className}`, parent);
  el("div", "tv-neuron-head tv-small tv-muted", box, title);
  return box;
}

// One model's panel: labels | keys | query × key | score and softmax weight.
function drawPanel(parent, panel, name) {
  const box = el("div", "tv-neuron-panel", parent);
  box.dataset.model = panel.model;
  if (panel.reason) {
    el("div", "tv-muted", box, `${name}: ${panel.reason} to see its neurons.`);
    box.dataset.reason = panel.reason;
    return;
  }
  const keys = unpack(panel.keys), products = unpack(panel.products);
  const [n, d] = keys.shape;
  const query = Float32Array.from(panel.query);
  Object.assign(box.dataset, { layer: panel.layer, head: panel.head, word: panel.word, dims: d });
  el("div", "tv-neuron-title", box,
    `${name} · layer ${panel.layer} · head ${panel.head} · query “${panel.labels[panel.word]}” · ${d} dimensions`);
  const grid = el("div", "tv-neuron-grid", box);
  const labels = column(grid, "key word", "tv-neuron-labels");
  const keyCol = column(grid, "key k", "tv-neuron-keys");
  const prodCol = column(grid, "q × k", "tv-neuron-products");
  const scoreCol = column(grid, `score Σ(q×k)·${fmt(panel.scale)} → weight`, "tv-neuron-scores");
  // The query over both vector columns, each on its own scale.
  const vq = Math.max(1e-6, maxAbs(query), maxAbs(keys.values));
  const vp = Math.max(1e-6, maxAbs(products.values));
  el("div", "tv-neuron-label tv-neuron-query", labels, "query q");
  keyCol.appendChild(heatStrip(query, 1, d, vq, "query"));
  prodCol.appendChild(el("div", "tv-neuron-spacer"));
  scoreCol.appendChild(el("div", "tv-neuron-spacer"));
  panel.labels.forEach((label, i) => {
    const row = el("div", "tv-neuron-label" + (i === panel.word ? " tv-focus" : ""), labels, label);
    row.dataset.index = String(i);
  });
  keyCol.appendChild(heatStrip(keys.values, n, d, vq, "keys"));
  prodCol.appendChild(heatStrip(products.values, n, d, vp, "q × k"));
  const top = Math.max(...panel.softmax);
  panel.scores.forEach((score, i) => {
    const row = el("div", "tv-neuron-score", scoreCol);
    row.dataset.index = String(i);
    row.dataset.score = String(score);
    row.dataset.weight = String(panel.softmax[i]);
    const bar = el("span", "tv-neuron-bar", row);
    bar.style.width = `${Math.round(40 * panel.softmax[i] / top)}px`;
    el("span", "tv-small", row, `${fmt(score)} → ${fmt(panel.softmax[i])}`);
  });
  el("div", "tv-small tv-muted", box,
    `Strips: the query and keys on one scale (±${fmt(vq)}), their products on another ` +
    `(±${fmt(vp)}); orange positive, purple negative. The weight is the softmax of the scores.`);
}

// The box and its toggle, placed in `root` after `before`; `draw()` redraws from the traits.
export function buildNeurons(root, before, { get, set }) {
  const box = el("div", "tv-neurons");
  root.insertBefore(box, before.nextSibling);
  const bar = el("div", "tv-pieces-bar", box);
  const toggle = el("button", "tv-chip tv-neurons-toggle", bar, "Neurons");
  toggle.type = "button";
  toggle.dataset.trait = "show_neurons";
  toggle.title = "the selected word's query, each word's key, their product and the scores, " +
    "for the layer and head shown (bertviz's neuron view)";
  toggle.addEventListener("click", () => set({ show_neurons: !get("show_neurons") }));
  const hint = el("span", "tv-muted tv-neurons-hint", bar);  // not the pieces' hint
  const panels = el("div", "tv-neuron-panels", box);

  function draw() {
    const payload = get("_neurons") || {};
    const on = Boolean(get("show_neurons"));
    box.hidden = !(payload.available || []).length;
    toggle.classList.toggle("tv-on", on);
    toggle.setAttribute("aria-pressed", String(on));
    panels.replaceChildren();
    hint.textContent = "";
    if (box.hidden || !on) return;
    const sentence = get("_sentence_data") || {};
    if (payload.sentence !== sentence.index) return; // the kernel's data is on its way
    if (!(payload.panels || []).length) {
      hint.textContent = "Click a word to pin it: its query against every key is shown here.";
      return;
    }
    for (const panel of payload.panels) {
      const info = sentence.models && sentence.models[panel.model];
      drawPanel(panels, panel, info ? info.name : panel.model);
    }
  }
  return { draw };
}
