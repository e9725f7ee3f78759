// The toolbar: what is shown (the measure; model A, its layer and head; model B, its layer and
// head, the mode), then how (sentence, overlays, special tokens, colour scale, threshold) and
// the export; and the keyboard.

import { linkedHead } from "./comparison.js";
import { el, fmt } from "./dom.js";
import { buildExport } from "./export.js";

function parseChoice(v) {
  return /^-?\d+$/.test(v) ? Number(v) : v;
}

function setOptions(select, options) {
  const signature = options.map((o) => o.join("\u0000")).join("\u0001");
  if (select.dataset.signature === signature) return;
  select.dataset.signature = signature;
  select.replaceChildren(...options.map(([value, text]) => {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    return o;
  }));
}

function layerOptions(n) {
  const o = [];
  for (let i = 0; i < n; i++) o.push([String(i), String(i)]);
  o.push(["mean", "mean"]);
  return o;
}
function headOptions(n) {
  const o = [];
  for (let i = 0; i < n; i++) o.push([String(i), String(i)]);
  o.push(["mean", "mean"], ["all", "all"]);
  return o;
}

function field(parent, label, control, className) {
  const wrap = el("label", "tv-field" + (className ? " " + className : ""), parent);
  el("span", "tv-field-label", wrap, label);
  wrap.appendChild(control);
  return wrap;
}

function chip(parent, text, name) {
  const b = el("button", "tv-chip", parent, text);
  b.type = "button";
  b.dataset.trait = name;
  b.setAttribute("aria-pressed", "false");
  return b;
}

// Builds the toolbar in `root`; `sync()` then shows the traits' values in it.
export function buildToolbar(root, { model, get, set, modelInfo }) {
  const bar = el("div", "tv-toolbar", root);
  const rowA = el("div", "tv-toolbar-row", bar);
  const rowB = el("div", "tv-toolbar-row", bar);
  const gModel = el("div", "tv-group", rowA);
  // What is drawn: attention, or a measure given to the explorer (measures=...).
  const measureSelect = el("select", "tv-select");
  measureSelect.dataset.trait = "measure";
  const measureField = field(gModel, "Show", measureSelect);
  measureField.title = "attention weights, or a measure of trfviz.measures given to the explorer";
  const modelSelect = el("select", "tv-select");
  modelSelect.dataset.trait = "model";
  field(gModel, "Model", modelSelect);
  const layerSelect = el("select", "tv-select tv-narrow");
  layerSelect.dataset.trait = "layer";
  field(gModel, "Layer", layerSelect);
  const headSelect = el("select", "tv-select tv-narrow");
  headSelect.dataset.trait = "head";
  field(gModel, "Head", headSelect);

  const gVs = el("div", "tv-group tv-vs", rowA);
  const compareSelect = el("select", "tv-select");
  compareSelect.dataset.trait = "compare";
  field(gVs, "vs", compareSelect);
  const gCompare = el("div", "tv-group tv-compare-controls", gVs);
  const layerBSelect = el("select", "tv-select tv-narrow");
  layerBSelect.dataset.trait = "compare_layer";
  field(gCompare, "Layer", layerBSelect).title =
    "the comparison model's layer (linked: the same relative depth)";
  const headBSelect = el("select", "tv-select tv-narrow");
  headBSelect.dataset.trait = "compare_head";
  field(gCompare, "Head", headBSelect);
  const linkBox = el("input", null);
  linkBox.type = "checkbox";
  linkBox.dataset.trait = "link";
  field(gCompare, "linked", linkBox, "tv-check").title =
    "follow model A's layer and head";
  const modeSwitch = el("div", "tv-segmented", gCompare);
  const sideBtn = el("button", null, modeSwitch, "side by side");
  const diffBtn = el("button", null, modeSwitch, "difference");
  sideBtn.type = diffBtn.type = "button";
  sideBtn.dataset.mode = "side";
  diffBtn.dataset.mode = "difference";

  const gSentence = el("div", "tv-group", rowB);
  const prevBtn = el("button", "tv-icon", gSentence, "‹");
  prevBtn.type = "button";
  prevBtn.dataset.action = "prev";
  prevBtn.title = "previous sentence";
  const sentenceLabel = el("span", "tv-sentence-index", gSentence);
  const nextBtn = el("button", "tv-icon", gSentence, "›");
  nextBtn.type = "button";
  nextBtn.dataset.action = "next";
  nextBtn.title = "next sentence";

  const gToggles = el("div", "tv-group", rowB);
  const chips = [chip(gToggles, "Parse", "show_parse"), chip(gToggles, "Entities", "show_entities"),
    chip(gToggles, "Heatmap", "show_heatmap"), chip(gToggles, "Head grid", "show_grid"),
    chip(gToggles, "Compact", "compact"), chip(gToggles, "Per-panel scale", "per_model_scale")];
  chips[4].title = "the sentence as wrapping text, each word shaded by the attention it receives";
  chips[5].title = "each model's panel on its own colour scale, labelled so " +
    "(default: one scale shared by both, so equal colours mean equal values)";
  // Special tokens kept as pseudo-tokens, or dropped (rows of distributions renormalised).
  const specials = chip(gToggles, "Drop specials", "special_tokens");
  specials.title = "leave special tokens ([CLS], [SEP], <s>...) out; attention rows are " +
    "renormalised over the words";
  const threshold = el("input", "tv-range");
  threshold.type = "range";
  threshold.min = "0"; threshold.max = "0.5"; threshold.step = "0.01";
  threshold.dataset.trait = "threshold";
  const thresholdField = field(gToggles, "lines ≥", threshold);
  thresholdField.title = "hide attention lines under this weight";
  const thresholdValue = el("span", "tv-range-value", thresholdField);

  const exporter = buildExport(rowB, model);

  // Events from the controls.
  modelSelect.addEventListener("change", () => set({ model: modelSelect.value }));
  measureSelect.addEventListener("change", () => set({ measure: measureSelect.value }));
  specials.addEventListener("click", () =>
    set({ special_tokens: get("special_tokens") === "drop" ? "keep" : "drop" }));
  compareSelect.addEventListener("change", () => set({ compare: compareSelect.value }));
  sideBtn.addEventListener("click", () => set({ mode: "side" }));
  diffBtn.addEventListener("click", () => set({ mode: "difference" }));
  layerSelect.addEventListener("change", () => set({ layer: parseChoice(layerSelect.value) }));
  headSelect.addEventListener("change", () => set({ head: parseChoice(headSelect.value) }));
  layerBSelect.addEventListener("change", () =>
    set({ link: false, compare_layer: parseChoice(layerBSelect.value) }));
  headBSelect.addEventListener("change", () =>
    set({ link: false, compare_head: parseChoice(headBSelect.value) }));
  linkBox.addEventListener("change", () => set({ link: linkBox.checked }));
  prevBtn.addEventListener("click", () => set({ sentence: Math.max(0, get("sentence") - 1) }));
  nextBtn.addEventListener("click", () =>
    set({ sentence: Math.min(get("n_sentences") - 1, get("sentence") + 1) }));
  for (const c of chips) c.addEventListener("click", () => set({ [c.dataset.trait]: !get(c.dataset.trait) }));
  threshold.addEventListener("input", () => set({ threshold: Number(threshold.value) }));

  function sync() {
    const models = get("models") || [];
    const sentence = get("_sentence_data") || {};
    const names = (k) => (sentence.models && sentence.models[k] ? sentence.models[k].name : k.split("/").pop());
    setOptions(modelSelect, models.map((m) => [m, names(m)]));
    modelSelect.value = get("model");
    setOptions(compareSelect, [["", "—"], ...models.filter((m) => m !== get("model")).map((m) => [m, names(m)])]);
    compareSelect.value = get("compare");
    compareSelect.disabled = models.length < 2;
    const comparing = Boolean(get("compare"));
    gCompare.hidden = !comparing;
    // Measures given for every model shown; a difference only of distributions.
    const measures = get("_measures") || {};
    const shown = [get("model"), get("compare")].filter(Boolean);
    const usable = Object.entries(measures).filter(([, m]) => shown.every((k) => m.models.includes(k)));
    setOptions(measureSelect, [["attention", "attention"], ...usable.map(([k, m]) => [k, m.label])]);
    measureSelect.value = get("measure");
    measureField.hidden = !Object.keys(measures).length;
    const current = measures[get("measure")];
    diffBtn.disabled = Boolean(current && !current.distribution);
    diffBtn.title = diffBtn.disabled ? `${current.label} is not a distribution: ` +
      "its difference would not compare like with like; view the models side by side" : "";
    const drop = get("special_tokens") === "drop";
    specials.classList.toggle("tv-on", drop);
    specials.setAttribute("aria-pressed", String(drop));
    sideBtn.classList.toggle("tv-on", get("mode") === "side");
    diffBtn.classList.toggle("tv-on", get("mode") === "difference");
    const a = modelInfo(get("model"));
    if (a) {
      setOptions(layerSelect, layerOptions(a.n_layers));
      setOptions(headSelect, headOptions(a.n_heads));
    }
    layerSelect.value = String(get("layer"));
    headSelect.value = String(get("head"));
    const b = comparing ? modelInfo(get("compare")) : null;
    if (b) {
      setOptions(layerBSelect, layerOptions(b.n_layers));
      setOptions(headBSelect, headOptions(b.n_heads));
      layerBSelect.value = String(get("compare_layer"));
      // Linked, the second head follows the first at once (the kernel's reply agrees).
      headBSelect.value = String(get("link") ? linkedHead(get("head"), b.n_heads) : get("compare_head"));
    }
    linkBox.checked = get("link");
    const ns = get("n_sentences");
    sentenceLabel.textContent = `sentence ${get("sentence") + 1} / ${ns}`;
    prevBtn.disabled = get("sentence") <= 0;
    nextBtn.disabled = get("sentence") >= ns - 1;
    gSentence.classList.toggle("tv-disabled", ns <= 1);
    for (const c of chips) {
      const on = Boolean(get(c.dataset.trait));
      c.classList.toggle("tv-on", on);
      c.setAttribute("aria-pressed", String(on));
    }
    threshold.value = String(get("threshold"));
    thresholdValue.textContent = fmt(get("threshold"));
    exporter.sync(get);
  }
  return { sync };
}

// Arrow keys step heads and layers, Escape unpins the token.
export function bindKeys(root, { get, set, modelInfo }) {
  root.addEventListener("keydown", (event) => {
    if (event.target && ["SELECT", "INPUT"].includes(event.target.tagName)) return;
    const info = modelInfo(get("model"));
    if (!info) return;
    const step = (v, d, n) => (typeof v === "number" ? Math.max(0, Math.min(n - 1, v + d)) : d > 0 ? 0 : n - 1);
    if (event.key === "ArrowRight") set({ head: step(get("head"), 1, info.n_heads) });
    else if (event.key === "ArrowLeft") set({ head: step(get("head"), -1, info.n_heads) });
    else if (event.key === "ArrowDown") set({ layer: step(get("layer"), 1, info.n_layers) });
    else if (event.key === "ArrowUp") set({ layer: step(get("layer"), -1, info.n_layers) });
    else if (event.key === "Escape") set({ selected: -1 });
    else return;
    event.preventDefault();
  });
}
