// trfviz attention explorer: the browser side of trfviz.widget.AttentionExplorer.
//
// The entry point anywidget loads (bundled into ../explorer.js by `make widget-js`): it holds
// the widget's state, wires the kernel's traits to the views (arcs, heatmap, grid, comparison,
// read-out, export) and redraws what changed. Plain ESM: no CDN, no require.js, no network.

import { composeView, linkedHead } from "./comparison.js";
import { bindKeys, buildToolbar } from "./controls.js";
import { usePalette } from "./colour.js";
import { decodeLayers } from "./decode.js";
import { el } from "./dom.js";
import { drawGrid } from "./grid.js";
import { ATTENTION, buildAligned } from "./aligned.js";
import { decodeDifference } from "./honest.js";
import { buildLens } from "./lens.js";
import { buildNeurons } from "./neurons.js";
import { buildPieces } from "./pieces.js";
import { drawInfo, drawSummary } from "./readout.js";

function render({ model, el: host }) {
  usePalette(model.get("_palette"));
  const started = performance.now();
  const root = el("div", "trfviz-explorer", host);
  root.tabIndex = 0;
  let hovered = -1;
  let cellNote = "";
  let cellFocus = null;

  const get = (name) => model.get(name);
  const set = (changes) => {
    for (const [k, v] of Object.entries(changes)) model.set(k, v);
    model.save_changes();
  };

  const toolbar = buildToolbar(root, { model, get, set, modelInfo });
  const syncControls = toolbar.sync;
  bindKeys(root, { get, set, modelInfo });
  const infoBar = el("div", "tv-info", root);
  const panelsBox = el("div", "tv-panels", root);
  const gridBox = el("div", "tv-grid", root);
  // The raw wordpieces behind the selected word's pooled values (pieces.js), under the panels.
  const pieces = buildPieces(root, panelsBox, { get, set });
  // The neuron panel (neurons.js): the selected word's query against every key, on demand.
  const neurons = buildNeurons(root, panelsBox, { get, set });

  // How to draw the values sent: attention, or the measure the sentence's data says they are.
  function measureInfo(sentence) {
    const name = sentence.measure || "attention";
    const info = (get("_measures") || {})[name];
    if (name === "attention" || !info) return ATTENTION;
    const notes = Object.values(info.notes || {});
    return { ...info, note: notes.length ? notes.join("; ") : "" };
  }

  function modelInfo(key) {
    const s = get("_sentence_data");
    return s && s.models ? s.models[key] : null;
  }

  const ctx = {
    hover(i, note, cell) {
      cellNote = note || "";
      const same = i === hovered && String(cell) === String(cellFocus);
      cellFocus = cell || null;
      if (same) return;
      hovered = i;
      highlight();
      if (get("hovered") !== i) set({ hovered: i });
    },
    select(i) {
      set({ selected: get("selected") === i ? -1 : i });
    },
    setHead(key, h) {
      if (key === get("model")) set({ head: h });
      else set({ link: false, compare_head: h });
    },
    getTrait(name) {
      return get(name);
    },
    setTrait(name, value) {
      set({ [name]: value });
    },
    jump(key, l, h) {
      if (key === get("model")) set({ layer: l, head: h });
      else set({ link: false, compare_layer: l, compare_head: h });
    },
  };

  // The logit-lens panel (lens.js): each layer's next-word guess after every word, for the
  // causal models shown with a lens, right under the panels it shares the words with.
  const lens = buildLens(root, panelsBox, { get, set, ctx });

  function focusIndex() {
    return hovered >= 0 ? hovered : get("selected");
  }

  // The `_layers` payload decoded once per payload (not on every head switch or hover).
  let decodedLayers = { layers: null, panels: [] };
  function decodedOf(layers) {
    if (decodedLayers.layers !== layers) decodedLayers = { layers, panels: decodeLayers(layers) };
    return decodedLayers.panels;
  }

  // The `_difference` payload decoded once per payload.
  let decodedDiff = { payload: null, value: null };
  function differenceOf(payload) {
    if (decodedDiff.payload !== payload) decodedDiff = { payload, value: decodeDifference(payload) };
    return decodedDiff.value;
  }

  // The heads shown, one per decoded layer: the linked comparison follows the main head.
  function shownHeads(decoded) {
    const head = get("head");
    if (decoded.length < 2) return [head];
    return [head, get("link") ? linkedHead(head, decoded[1].heads.shape[0]) : get("compare_head")];
  }

  // The view for the current traits, or null while the kernel's data for them is on its
  // way (another sentence or other models): what is drawn then stays until it comes.
  function currentView() {
    const sentence = get("_sentence_data") || {};
    const layers = get("_layers") || {};
    const decoded = decodedOf(layers);
    const wanted = [get("model"), get("compare")].filter(Boolean);
    if (decoded.map((d) => d.model).join("\u0000") !== wanted.join("\u0000")) return null;
    return composeView(sentence, layers, decoded, shownHeads(decoded), get("mode"),
      differenceOf(get("_difference")));
  }

  // The panels of the current view, built by drawPanels and restyled by highlight.
  let built = [];
  let drawnWith = [];

  // Builds the panels of the current view; true if anything was redrawn.
  function drawPanels() {
    const t0 = performance.now();
    const sentence = get("_sentence_data") || {};
    const view = currentView();
    if (!view) return false;
    const state = [sentence, get("_layers"), get("_difference"), view.key, get("threshold"),
      get("show_parse"), get("show_entities"), get("show_heatmap"), get("compact"),
      get("per_model_scale"), get("_measures"), get("exclude_sink")];
    if (state.every((x, i) => x === drawnWith[i])) return false;
    drawnWith = state;
    panelsBox.replaceChildren();
    const opts = { threshold: get("threshold"), showParse: get("show_parse"),
      showEntities: get("show_entities"), showHeatmap: get("show_heatmap"),
      compact: get("compact"), perModelScale: get("per_model_scale"),
      measure: measureInfo(sentence), excludeSink: get("exclude_sink") };
    // Every mode (side by side, difference, all heads) on one shared token axis fitted to
    // the cell (aligned.js).
    built = buildAligned(ctx, panelsBox, sentence, view.panels, opts);
    highlight();
    root.dataset.viewKey = view.key;
    root.dataset.updateMs = (performance.now() - t0).toFixed(2);
    return true;
  }

  function highlight() {
    // Restyle the built panels for the focused token: no element is replaced.
    const sentence = get("_sentence_data") || {};
    const focus = focusIndex();
    drawInfo(infoBar, sentence, focus, [get("model"), get("compare")].filter(Boolean), cellNote);
    for (const p of built) {
      p.drawn.update(focus, get("selected"));
      if (p.heat) p.heat.update(focus, cellFocus);
      drawSummary(p, focus);
    }
    lens.update(focus);
    root.dataset.focus = String(focus);
  }

  function drawGridBox() {
    const grid = get("_grid") || {};
    gridBox.replaceChildren();
    const keys = Object.keys(grid);
    gridBox.hidden = !keys.length || !get("show_grid");
    const sentence = get("_sentence_data") || {};
    for (const key of keys) {
      const isMain = key === get("model");
      const current = isMain ? [get("layer"), get("head")] : [get("compare_layer"), get("compare_head")];
      const name = sentence.models && sentence.models[key] ? sentence.models[key].name : key;
      gridBox.appendChild(drawGrid(ctx, key, grid[key], current, name, get("grid_score")))
        .dataset.model = key;
    }
  }

  function markGridCurrent() {
    // A head switch moves the outline; the thumbnails themselves only change with _grid.
    for (const box of gridBox.querySelectorAll(".tv-grid-model")) {
      const isMain = box.dataset.model === get("model");
      const [l, h] = isMain ? [get("layer"), get("head")] : [get("compare_layer"), get("compare_head")];
      for (const cell of box.querySelectorAll(".tv-grid-cell")) {
        cell.classList.toggle("tv-current",
          cell.dataset.layer === String(l) && cell.dataset.head === String(h));
      }
    }
  }

  function renderAll() {
    syncControls();
    drawPanels();
    drawGridBox();
  }

  // A head, mode or link change is drawn here at once; a layer change when its data comes.
  const onView = () => {
    syncControls();
    if (drawPanels()) emit();
    markGridCurrent();
  };
  const onLayer = () => { syncControls(); markGridCurrent(); };
  const onSentence = () => { hovered = -1; renderAll(); };
  const onControls = () => syncControls();
  const onGrid = () => drawGridBox();
  const onPanels = () => { syncControls(); drawPanels(); };
  const onSelected = () => highlight();
  const onWindow = () => {
    for (const p of built) if (p.setWindow) p.setWindow(get("window"));
  };
  const onHovered = () => {
    const h = get("hovered");
    if (h !== hovered) { hovered = h; highlight(); }
  };
  function emit() {
    root.dispatchEvent(new CustomEvent("trfviz-view", { bubbles: true,
      detail: { key: root.dataset.viewKey } }));
  }
  const handlers = [
    ["change:_layers", onView], ["change:head", onView], ["change:compare_head", onView],
    ["change:mode", onView], ["change:link", onView], ["change:layer", onLayer],
    ["change:compare_layer", onLayer],
    ["change:_sentence_data", onSentence], ["change:_grid", onGrid],
    ["change:_difference", onView], ["change:grid_score", onGrid],
    ["change:hidden_heads", onSelected], ["change:window", onWindow],
    ["change:selected", onSelected], ["change:hovered", onHovered], ["change:threshold", onPanels],
    ["change:show_parse", onPanels], ["change:show_entities", onPanels], ["change:show_heatmap", onPanels],
    ["change:compact", onPanels], ["change:per_model_scale", onPanels], ["change:exclude_sink", onPanels],
    ["change:show_grid", onControls], ["change:status", onControls],
    ["change:measure", onControls], ["change:special_tokens", onControls],
    ["change:_measures", onPanels],
    ["change:models", onControls], ["change:n_sentences", onControls],
    ...["_pieces", "show_pieces", "head", "compare_head", "link", "_sentence_data"]
      .map((name) => [`change:${name}`, pieces.draw]),
    ...["_neurons", "show_neurons", "_sentence_data"].map((name) => [`change:${name}`, neurons.draw]),
    ...["_logit_lens", "show_logit_lens", "logit_lens_color", "_sentence_data", "window"]
      .map((name) => [`change:${name}`, lens.draw]),
  ];
  for (const [name, fn] of handlers) model.on(name, fn);
  root.addEventListener("click", (event) => {
    if (event.target === root || event.target === panelsBox) set({ selected: -1 });
  });
  // A token redrawn away under a resting pointer (a head or mode switch) never gets its
  // mouseleave: leaving the panels ends the hover, or it would stick.
  panelsBox.addEventListener("mouseleave", () => { if (hovered >= 0) ctx.hover(-1); });

  renderAll();
  pieces.draw();
  neurons.draw();
  lens.draw();
  root.dataset.renderMs = (performance.now() - started).toFixed(2);
  root.dataset.ready = "true";
  return () => {
    for (const [name, fn] of handlers) model.off(name, fn);
  };
}

export default { render };
