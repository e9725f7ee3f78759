// The "Wordpieces" read-out: for the selected word, the raw wordpiece attention behind its
// pooled row (the `_pieces` payload, sent while the toggle is on; see trfviz/widget/pieces.py).
// One table per model: a column per piece of the selected word (a row of the raw matrix), a
// row per piece of each word it attends to, grouped by word, and beside each word the value
// pooled from those weights, which is the value the view shows. Colours from the palette.

import { colour, scale } from "./colour.js";
import { unpack } from "./decode.js";
import { el, fmt } from "./dom.js";

// Words listed before "show all": the strongest pooled values first.
const TOP_WORDS = 8;

// The box and its toggle, placed in `root` after `before`; `draw()` redraws from the traits.
export function buildPieces(root, before, { get, set }) {
  const box = el("div", "tv-pieces");
  root.insertBefore(box, before.nextSibling);
  const bar = el("div", "tv-pieces-bar", box);
  const toggle = el("button", "tv-chip tv-pieces-toggle", bar, "Wordpieces");
  toggle.type = "button";
  toggle.dataset.trait = "show_pieces";
  toggle.title = "Show the raw wordpiece attention behind the selected word's pooled values";
  toggle.addEventListener("click", () => set({ show_pieces: !get("show_pieces") }));
  const hint = el("span", "tv-muted tv-pieces-hint", bar);
  const tables = el("div", "tv-pieces-tables", box);
  let showAll = false;
  let decoded = { payload: null, panels: [] };

  function draw() {
    const payload = get("_pieces") || {};
    const available = payload.available || [];
    const on = Boolean(get("show_pieces"));
    box.hidden = !available.length;
    toggle.classList.toggle("tv-on", on);
    toggle.setAttribute("aria-pressed", String(on));
    tables.replaceChildren();
    if (box.hidden || !on) { hint.textContent = ""; return; }
    const sentence = get("_sentence_data") || {};
    if (payload.sentence !== sentence.index) return; // the kernel's data is on its way
    const panels = payload.panels || [];
    hint.textContent = panels.length ? "" :
      "Click a word to pin it: its wordpieces' raw attention is shown here.";
    if (decoded.payload !== payload) {
      decoded = { payload, panels: panels.map((p) => ({ ...p, raw: unpack(p.weights) })) };
    }
    for (const panel of decoded.panels) {
      const name = sentence.models && sentence.models[panel.model]
        ? sentence.models[panel.model].name : panel.model;
      drawTable(tables, panel, name, headIndex(panel), () => { showAll = !showAll; draw(); },
        showAll);
    }
  }

  // The head shown for a panel's model (as the view picks it); the head mean for "mean"/"all".
  function headIndex(panel) {
    const nHeads = panel.raw.shape[0] - 1;
    let head = panel.model === get("model") ? get("head") : get("compare_head");
    if (panel.model !== get("model") && get("link")) {
      head = get("head");
      if (typeof head === "number" && head >= nHeads) head = "mean";
    }
    return typeof head === "number" && head >= 0 && head < nHeads ? head : nHeads;
  }

  return { draw, box };
}

function drawTable(parent, panel, name, head, onMore, showAll) {
  const nHeads = panel.raw.shape[0] - 1;
  const [, nRows, nPieces] = panel.raw.shape;
  const weight = (r, p) => panel.raw.values[(head * nRows + r) * nPieces + p];
  const wrap = el("div", "tv-pieces-panel", parent);
  wrap.dataset.model = panel.model;
  wrap.dataset.word = String(panel.word);
  wrap.dataset.head = String(head === nHeads ? "mean" : head);
  const word = panel.groups[panel.word] ? panel.groups[panel.word].label : "";
  const rows = panel.rows.map((r) => panel.pieces[r]);
  const caption = el("div", "tv-pieces-caption", wrap);
  el("span", "tv-info-model", caption, name);
  el("span", "tv-pieces-word", caption, `“${word}”`);
  el("span", "tv-muted", caption,
    `layer ${panel.layer}, ${head === nHeads ? "head mean" : `head ${head}`}: ` +
    `${rows.length} piece${rows.length === 1 ? "" : "s"};`);
  const rule = el("span", panel.rule ? "tv-muted tv-pieces-rule" : "tv-warn tv-pieces-rule",
    caption, `pooled = ${panel.rule_text}`);
  rule.dataset.rule = panel.rule || "";
  if (!rows.length) {
    el("div", "tv-muted", wrap, "no piece covers this word: its pooled row is zero");
    return;
  }
  // Words by the value the view shows, strongest first; the selected word itself too.
  const order = panel.groups.map((g) => g.index)
    .sort((a, b) => panel.shown[head][b] - panel.shown[head][a]);
  const listed = showAll ? order : order.slice(0, TOP_WORDS);
  let vmax = 0;
  for (const i of listed) {
    for (const c of panel.groups[i].cols) {
      for (let r = 0; r < nRows; r++) vmax = Math.max(vmax, weight(r, c));
    }
  }
  const stops = scale("sequential");
  const table = el("table", "tv-pieces-table", wrap);
  const headRow = el("tr", null, el("thead", null, table));
  el("th", "tv-pieces-th", headRow, "to word");
  el("th", "tv-pieces-th", headRow, "its piece");
  panel.rows.forEach((r, j) => {
    const th = el("th", "tv-pieces-th tv-pieces-from", headRow, panel.pieces[r]);
    th.dataset.piece = panel.pieces[r];
    th.title = `raw attention from the piece “${panel.pieces[r]}” (row ${j + 1} of ${nRows})`;
  });
  el("th", "tv-pieces-th tv-pieces-pooled-th", headRow, "pooled");
  const body = el("tbody", null, table);
  for (const i of listed) {
    const group = panel.groups[i];
    group.cols.forEach((c, n) => {
      const tr = el("tr", n === 0 ? "tv-pieces-first" : null, body);
      tr.dataset.word = String(i);
      if (n === 0) {
        const cell = el("th", "tv-pieces-label", tr, group.label);
        cell.rowSpan = group.cols.length;
        if (i === panel.word) cell.classList.add("tv-pieces-self");
      }
      const share = group.share[n];
      const piece = el("td", "tv-pieces-piece", tr, panel.pieces[c]);
      if (share < 1) {
        el("span", "tv-muted tv-pieces-share", piece, ` ×${fmt(share)}`);
        piece.title = `a piece shared by ${Math.round(1 / share)} words: ${fmt(share)} of it counts here`;
      }
      for (let r = 0; r < nRows; r++) {
        const w = weight(r, c);
        const td = el("td", "tv-pieces-cell", tr, fmt(w));
        const x = vmax > 0 ? w / vmax : 0;
        td.style.background = colour(stops, x);
        if (x > 0.55) td.classList.add("tv-strong");
        td.dataset.w = String(w);
      }
      if (n === 0) {
        const pooled = panel.pooled[head][i];
        const shown = panel.shown[head][i];
        const td = el("td", "tv-pieces-pooled", tr, `= ${fmt(pooled)}`);
        td.rowSpan = group.cols.length;
        td.dataset.pooled = String(pooled);
        td.dataset.shown = String(shown);
        td.title = `pooled from these pieces: ${pooled}; the view shows ${shown}`;
        if (Math.abs(pooled - shown) > 1e-4) {
          td.classList.add("tv-warn");
          td.textContent = `= ${fmt(pooled)} (view ${fmt(shown)})`;
        }
      }
    });
  }
  if (order.length > TOP_WORDS) {
    const more = el("button", "tv-chip tv-pieces-more", wrap,
      showAll ? `show the ${TOP_WORDS} strongest words` : `show all ${order.length} words`);
    more.type = "button";
    more.addEventListener("click", onMore);
  }
}
