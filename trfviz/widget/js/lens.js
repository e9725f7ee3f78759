// The logit-lens panel: for each causal model shown with a lens, a layers × words table, each
// cell the layer's most probable next piece after the word, shaded by its probability (or by
// the actual next word's probability), the last layer on top and the embeddings at the bottom,
// as trfviz.figures.plot_logit_lens draws it. The words read run along the bottom, the words
// that really follow along the top; the focused word's column is outlined, and a sentence
// wider than the cell shows a window of words that follows the focus (‹ › page it), so the
// table never scrolls sideways. The `_logit_lens` payload (trfviz/widget/lens.py) holds the
// current sentence only, while the panel is on.

import { colour, scale } from "./colour.js";
import { bytesOf } from "./decode.js";
import { el, fmt } from "./dom.js";

const LABEL_W = 40; // px: the layer labels' column
const MIN_COL = 58; // px: the narrowest word column (about eight characters at 11px)
const MAX_COL = 120; // px: the widest, for short sentences

// A piece as a cell shows it: spaces kept visible (␣), a newline as ↵.
function shown(piece) {
  if (piece === undefined || piece === null) return "";
  const t = piece.replace(/\n/g, "↵").replace(/\t/g, "⇥");
  return t.trim() ? t.trim() : t.replace(/ /g, "␣");
}

function quoted(piece) {
  return `“${shown(piece)}”`;
}

// A little-endian buffer of int32 or float32 values (NaN kept), read at any alignment.
function numbers(data, float) {
  const bytes = bytesOf(data);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = float ? new Float32Array(bytes.byteLength >> 2) : new Int32Array(bytes.byteLength >> 2);
  for (let i = 0; i < out.length; i++) out[i] = float ? view.getFloat32(4 * i, true) : view.getInt32(4 * i, true);
  return out;
}

// A `_logit_lens` panel with its buffers decoded (see trfviz/widget/lens.py pack_lens).
function decodePanel(p) {
  return { ...p, top: numbers(p.top, false), prob: numbers(p.prob, true),
    next_prob: numbers(p.next_prob, true), next_rank: numbers(p.next_rank, false) };
}

// The words [start, end) a panel of `fits` columns shows around `focus`, from `start`.
export function lensWindow(n, fits, start, focus) {
  if (n <= fits) return [0, n];
  let s = Math.max(0, Math.min(start, n - fits));
  if (focus >= 0 && (focus < s || focus >= s + fits)) {
    s = Math.max(0, Math.min(focus - Math.floor(fits / 2), n - fits));
  }
  return [s, s + fits];
}

// One cell's read-out: the layer's guess and the actual next word's odds.
function cellText(panel, tokens, row, col) {
  const i = row * panel.n + col;
  const layer = panel.layers[row] === 0 ? "embeddings" : `layer ${panel.layers[row]}`;
  const top = panel.top[i];
  const parts = [`${layer}, after “${tokens[col]}”`];
  if (top < 0) return `${parts[0]}: not seen by the model (truncated)`;
  parts.push(`guess ${quoted(panel.strings[top])} p ${fmt(panel.prob[i])}`);
  const next = panel.next[col];
  if (next >= 0) {
    parts.push(`next word ${quoted(panel.strings[next])} p ${fmt(panel.next_prob[i])}, ` +
      `rank ${panel.next_rank[i]}`);
  } else parts.push("no next word");
  return parts.join(" · ");
}

function drawTable(box, panel, tokens, range, colorBy, ctx) {
  const [start, end] = range;
  const cols = end - start;
  const table = el("table", "tv-lens-table", box);
  const colgroup = el("colgroup", "", table);
  el("col", "", colgroup).style.width = `${LABEL_W}px`;
  for (let c = 0; c < cols; c++) el("col", "", colgroup);
  const head = el("thead", "", table);
  const nextRow = el("tr", "tv-lens-next", head);
  el("th", "tv-lens-side tv-muted", nextRow, "next");
  const body = el("tbody", "", table);
  const stops = scale("sequential");
  for (let c = start; c < end; c++) {
    const next = panel.next[c];
    const th = el("th", "tv-lens-word tv-lens-nextword", nextRow, next >= 0 ? shown(panel.strings[next]) : "");
    th.dataset.index = String(c);
  }
  for (let row = panel.layers.length - 1; row >= 0; row--) {
    const tr = el("tr", "", body);
    tr.dataset.layer = String(panel.layers[row]);
    el("th", "tv-lens-side", tr, panel.layers[row] === 0 ? "emb" : String(panel.layers[row]));
    for (let c = start; c < end; c++) {
      const i = row * panel.n + c;
      const top = panel.top[i];
      const td = el("td", "tv-lens-cell", tr);
      const value = colorBy === "next" ? panel.next_prob[i] : panel.prob[i];
      Object.assign(td.dataset, {
        index: String(c), layer: String(panel.layers[row]),
        piece: top >= 0 ? panel.strings[top] : "", prob: String(panel.prob[i]),
        nextProb: String(panel.next_prob[i]), rank: String(panel.next_rank[i]),
      });
      if (top < 0) continue;
      td.textContent = shown(panel.strings[top]);
      if (Number.isFinite(value)) {
        td.style.background = colour(stops, value);
        if (value > 0.55) td.classList.add("tv-lens-dark");
      } else td.classList.add("tv-lens-blank");
      if (top === panel.next[c]) td.classList.add("tv-lens-hit");
      td.title = cellText(panel, tokens, row, c);
    }
  }
  const foot = el("tfoot", "", table);
  const wordRow = el("tr", "tv-lens-read", foot);
  el("th", "tv-lens-side tv-muted", wordRow, "word");
  for (let c = start; c < end; c++) {
    const th = el("th", "tv-lens-word", wordRow, tokens[c]);
    th.dataset.index = String(c);
    th.title = tokens[c];
  }
  table.addEventListener("mouseover", (event) => {
    const cell = event.target.closest("[data-index]");
    if (!cell) return;
    const c = Number(cell.dataset.index);
    const readout = box.querySelector(".tv-lens-readout");
    if (readout && cell.dataset.layer !== undefined) {
      const row = panel.layers.indexOf(Number(cell.dataset.layer));
      readout.textContent = cellText(panel, tokens, row, c);
      readout.dataset.index = String(c);
      readout.dataset.layer = cell.dataset.layer;
    }
    ctx.hover(c);
  });
  table.addEventListener("mouseleave", () => ctx.hover(-1));
  table.addEventListener("click", (event) => {
    const cell = event.target.closest("[data-index]");
    if (cell) ctx.select(Number(cell.dataset.index));
  });
  return table;
}

// The box, its toggle and shading choice, placed in `root` after `before`; `draw()` redraws
// from the traits, `update(focus)` moves the focus (and the window with it).
export function buildLens(root, before, { get, set, ctx }) {
  const box = el("div", "tv-lens");
  root.insertBefore(box, before.nextSibling);
  const bar = el("div", "tv-pieces-bar", box);
  const toggle = el("button", "tv-chip tv-lens-toggle", bar, "Logit lens");
  toggle.type = "button";
  toggle.dataset.trait = "show_logit_lens";
  toggle.title = "each layer's most probable next word after every word (causal models: " +
    "the hidden state read through the final norm and the unembedding)";
  toggle.addEventListener("click", () => set({ show_logit_lens: !get("show_logit_lens") }));
  const shade = el("span", "tv-segmented tv-lens-shade", bar);
  const choices = [["top", "p(guess)"], ["next", "p(next word)"]].map(([value, label]) => {
    const b = el("button", "", shade, label);
    b.type = "button";
    b.dataset.value = value;
    b.dataset.trait = "logit_lens_color";
    b.title = value === "top" ? "shade each cell by the probability of its guess"
      : "shade each cell by the probability the layer gives the word that really follows";
    b.addEventListener("click", () => set({ logit_lens_color: value }));
    return b;
  });
  const hint = el("span", "tv-muted tv-lens-hint", bar);
  const panels = el("div", "tv-lens-panels", box);
  let start = 0; // the window's first word, kept across redraws
  let range = null;
  let focus = -1;
  let decoded = { payload: null, panels: [] }; // the payload's buffers, decoded once

  function fits() {
    const width = panels.clientWidth || root.clientWidth || 800;
    return Math.max(1, Math.floor((width - LABEL_W - 2) / MIN_COL));
  }

  function draw() {
    const payload = get("_logit_lens") || {};
    const on = Boolean(get("show_logit_lens"));
    box.hidden = !(payload.available || []).length;
    toggle.classList.toggle("tv-on", on);
    toggle.setAttribute("aria-pressed", String(on));
    shade.hidden = !on;
    for (const b of choices) b.classList.toggle("tv-on", b.dataset.value === get("logit_lens_color"));
    panels.replaceChildren();
    hint.textContent = "";
    range = null;
    if (box.hidden || !on) return;
    const sentence = get("_sentence_data") || {};
    if (payload.sentence !== sentence.index || !sentence.tokens) return; // on its way
    if (!(payload.panels || []).length) {
      const names = payload.available.map((k) => (sentence.models && sentence.models[k] || {}).name || k);
      hint.textContent = `The logit lens is of causal models only: show ${names.join(" or ")} to see it.`;
      return;
    }
    const n = payload.panels[0].n;
    const zoom = get("window");
    if (zoom && n > fits() && focus < 0) start = zoom[0];
    drawnWidth = panels.clientWidth;
    range = lensWindow(n, fits(), start, focus);
    start = range[0];
    const tokens = sentence.tokens.slice(0, n);
    if (decoded.payload !== payload) decoded = { payload, panels: payload.panels.map(decodePanel) };
    for (const panel of decoded.panels) {
      const info = sentence.models && sentence.models[panel.model];
      const holder = el("div", "tv-lens-panel", panels);
      holder.dataset.model = panel.model;
      Object.assign(holder.dataset, { start: String(range[0]), end: String(range[1]), n: String(n) });
      const title = el("div", "tv-lens-title", holder);
      el("span", "tv-lens-name", title,
        `${info ? info.name : panel.model} · logit lens: each layer's most probable next word after each word`);
      if (range[1] - range[0] < n) {
        const nav = el("span", "tv-lens-nav", title);
        const back = el("button", "tv-chip", nav, "‹");
        el("span", "tv-small tv-muted tv-lens-range", nav, `words ${range[0] + 1}–${range[1]} of ${n}`);
        const forward = el("button", "tv-chip", nav, "›");
        const step = Math.max(1, Math.floor((range[1] - range[0]) / 2));
        back.disabled = range[0] === 0;
        forward.disabled = range[1] === n;
        for (const b of [back, forward]) b.type = "button";
        back.addEventListener("click", () => { start = Math.max(0, start - step); focus = -1; draw(); });
        forward.addEventListener("click", () => { start = start + step; focus = -1; draw(); });
      }
      drawTable(holder, panel, tokens, range, get("logit_lens_color"), ctx);
      el("div", "tv-small tv-muted tv-lens-readout", holder,
        `Shaded by ${get("logit_lens_color") === "next" ? "the probability of the word that really follows" : "the probability of the guess"} ` +
        "(0 white to 1 dark); bold: the guess is the next word. Hover a cell for its odds and the next word's rank.");
    }
    mark();
  }

  function mark() {
    for (const node of panels.querySelectorAll("[data-index]")) {
      node.classList.toggle("tv-lens-focus", Number(node.dataset.index) === focus);
    }
  }

  // A wider or narrower cell holds more or fewer words: the window is fitted again.
  let drawnWidth = 0;
  if (typeof ResizeObserver !== "undefined") {
    const observer = new ResizeObserver(() => {
      const width = box.isConnected ? panels.clientWidth : 0; // not yet (or no longer) shown
      if (width && Math.abs(width - drawnWidth) > 1 && range) draw();
    });
    observer.observe(panels);
  }

  // The explorer's focus moved: outline its column, moving the window to it if it is outside.
  function update(index) {
    focus = index;
    if (!range) return;
    if (focus >= 0 && (focus < range[0] || focus >= range[1])) draw();
    else mark();
  }
  return { draw, update };
}
