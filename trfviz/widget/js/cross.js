// trfviz cross-attention explorer: the browser side of trfviz.widget.cross.CrossAttentionExplorer.
//
// The entry point anywidget loads (bundled into ../cross.js by `make widget-js`). Source words
// in a row above, target words below, one line per cross-attention weight at or above the
// threshold (width and opacity by weight), each parse as arcs in its own band: the source's
// above it, the target's below. Hover a word to see only its lines; click a target word to keep
// them (the `selected` trait). The kernel sends only the shown [target, source] matrix.
// Rows wider than the cell are fitted to it (no sideways scrolling): each word gets an equal
// column and is written upwards, in a smaller font where the columns are narrow, and a long
// word is shortened with "…" (in full in its tooltip).
// Token text reaches the DOM only through textContent (dom.js), never innerHTML.

import { el, sv, measure, title, clip } from "./dom.js";

const FONT = "14px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const SMALL = "11px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const GAP = 16; // px between words in a row
const STEP = 16; // px between arc levels
const BRIDGE = 150; // px the lines run across
const FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const LONGEST = 90; // px of a word written upwards; longer ones are shortened with "…"
const EDGE = 4; // px left free at either side of the columns

// Height level (1, 2, ...) of each arc so that no two overlapping arcs share one: short arcs low.
export function stackLevels(spans) {
  const order = spans.map((_, i) => i);
  order.sort((a, b) => spans[a][1] - spans[a][0] - (spans[b][1] - spans[b][0]) || spans[a][0] - spans[b][0]);
  const levels = new Array(spans.length).fill(0);
  const placed = [];
  for (const i of order) {
    const [lo, hi] = spans[i];
    let level = 1;
    for (const j of placed) {
      const [lo2, hi2] = spans[j];
      if (lo2 < hi && hi2 > lo) level = Math.max(level, levels[j] + 1);
    }
    levels[i] = level;
    placed.push(i);
  }
  return levels;
}

// x centre of each word of a row, the row centred in `width`.
export function rowCentres(words, width) {
  const widths = words.map((w) => measure(w, FONT));
  const length = widths.reduce((a, b) => a + b, 0) + GAP * Math.max(words.length - 1, 0);
  let x = (width - length) / 2;
  return widths.map((w) => {
    const centre = x + w / 2;
    x += w + GAP;
    return centre;
  });
}

function rowLength(words) {
  return words.reduce((a, w) => a + measure(w, FONT), 0) + GAP * Math.max(words.length - 1, 0);
}

// Words written upwards in columns across `width`: the x centre of each column, the font size
// (px, 9 to 14) that fits the narrowest column, each word as shown (shortened to LONGEST px)
// and the height the longest one takes. Columns are at least 11 px: past ~100 words a row is
// wider than a 1100-px cell and scrolls.
export function columns(rows, width) {
  const most = Math.max(...rows.map((r) => r.length), 1);
  const pitch = Math.max((width - 2 * EDGE) / most, 11);
  const size = Math.max(9, Math.min(14, Math.floor(pitch * 0.8)));
  const font = `${size}px ${FAMILY}`;
  const shorten = (w) => {
    let shown = w;
    while (shown.length > 2 && measure(shown, font) > LONGEST) shown = clip(shown, shown.length - 1);
    return shown;
  };
  const laid = rows.map((words) => {
    const span = pitch * words.length;
    const left = Math.max(EDGE, (Math.max(width, pitch * most + 2 * EDGE) - span) / 2);
    const shown = words.map(shorten);
    return {
      xs: words.map((_, i) => left + pitch * (i + 0.5)),
      shown,
      block: Math.max(0, ...shown.map((w) => measure(w, font))),
    };
  });
  return { laid, font, size, width: Math.max(width, pitch * most + 2 * EDGE) };
}

function render({ model, el: host }) {
  const root = el("div", "trfviz-cross", host);
  root.style.cssText = "font: 14px system-ui, sans-serif; color: #222;";
  const bar = el("div", "tv-cross-bar", root);
  bar.style.cssText = "display: flex; gap: 12px; align-items: center; flex-wrap: wrap; margin: 4px 0;";
  const info = el("div", "tv-cross-info", root);
  info.style.cssText = "font-size: 12px; color: #444; margin: 2px 0 4px;";
  const scroller = el("div", "tv-cross-scroll", root);
  scroller.style.cssText = "overflow-x: auto; max-width: 100%;";
  let hovered = null; // {side: "source" | "target", index}

  const get = (name) => model.get(name);
  const set = (name, value) => {
    model.set(name, value);
    model.save_changes();
  };

  function select(label, options, current, onChange, testId) {
    const wrap = el("label", null, bar, label + " ");
    const node = el("select", null, wrap);
    node.dataset.testid = testId;
    for (const [value, text] of options) {
      const option = el("option", null, node, text);
      option.value = String(value);
      if (String(value) === String(current)) option.selected = true;
    }
    node.addEventListener("change", () => onChange(node.value));
    return node;
  }

  function buildBar() {
    bar.replaceChildren();
    const nPairs = get("n_pairs");
    if (nPairs > 1) {
      const pairs = Array.from({ length: nPairs }, (_, i) => [i, `${i + 1} of ${nPairs}`]);
      select("pair", pairs, get("pair"), (v) => set("pair", Number(v)), "pair");
    }
    const nLayers = get("n_layers");
    const layer = ((get("layer") % nLayers) + nLayers) % nLayers;
    const layers = Array.from({ length: nLayers }, (_, i) => [i, String(i + 1)]);
    select("decoder layer", layers, layer, (v) => set("layer", Number(v)), "layer");
    const heads = [["mean", "mean"], ...Array.from({ length: get("n_heads") }, (_, i) => [i, String(i + 1)])];
    select("head", heads, get("head"), (v) => set("head", v === "mean" ? "mean" : Number(v)), "head");
    const thresholdLabel = el("label", null, bar, "threshold ");
    const range = el("input", null, thresholdLabel);
    Object.assign(range, { type: "range", min: "0", max: "1", step: "0.01" });
    range.value = String(get("threshold"));
    range.dataset.testid = "threshold";
    const shown = el("span", null, thresholdLabel, Number(get("threshold")).toFixed(2));
    range.addEventListener("input", () => {
      shown.textContent = Number(range.value).toFixed(2);
      set("threshold", Number(range.value));
    });
    const parseLabel = el("label", null, bar);
    const box = el("input", null, parseLabel);
    box.type = "checkbox";
    box.checked = get("show_parse");
    box.dataset.testid = "show-parse";
    parseLabel.appendChild(document.createTextNode(" parse"));
    box.addEventListener("change", () => set("show_parse", box.checked));
  }

  function drawArcs(svg, arcs, xs, base, out, side) {
    if (!arcs.length) return 0;
    const levels = stackLevels(arcs.map((a) => [Math.min(a.head, a.dependent), Math.max(a.head, a.dependent)]));
    arcs.forEach((arc, i) => {
      const x1 = Math.min(xs[arc.head], xs[arc.dependent]);
      const x2 = Math.max(xs[arc.head], xs[arc.dependent]);
      const top = base + out * levels[i] * STEP;
      const r = Math.min(6, (x2 - x1) / 2);
      const d = `M${x1},${base} V${top - out * r} Q${x1},${top} ${x1 + r},${top} H${x2 - r} Q${x2},${top} ${x2},${top - out * r} V${base}`;
      sv("path", { d, fill: "none", stroke: "#333", "stroke-width": 1, "data-arc": `${side}-${arc.head}-${arc.dependent}` }, svg);
      const tip = xs[arc.dependent];
      sv("path", { d: `M${tip - 3},${base + out * 5} L${tip + 3},${base + out * 5} L${tip},${base} Z`, fill: "#333" }, svg);
      if (measure(arc.label, SMALL) + 4 < x2 - x1 - 2 * r) {
        const w = measure(arc.label, SMALL) + 4;
        sv("rect", { x: (x1 + x2) / 2 - w / 2, y: top - 7, width: w, height: 14, fill: "white" }, svg);
        sv("text", { x: (x1 + x2) / 2, y: top + 4, "text-anchor": "middle", style: `font: ${SMALL}` }, svg, arc.label);
      }
    });
    return Math.max(...levels) * STEP + 8;
  }

  // Only the focused word's lines at full strength (the selected target word, else the hovered
  // word); updated in place, so the word under the pointer stays in the DOM.
  function applyFocus() {
    const selected = get("selected");
    const focus = selected >= 0 ? { side: "target", index: selected } : hovered;
    for (const line of scroller.querySelectorAll("[data-line]")) {
      const [r, c] = line.dataset.line.split("-").map(Number);
      const w = Number(line.dataset.weight);
      const inFocus = !focus || (focus.side === "target" ? focus.index === r : focus.index === c);
      line.setAttribute("stroke-opacity", inFocus ? 0.15 + 0.85 * w : 0.04);
    }
    for (const node of scroller.querySelectorAll("[data-word]")) {
      const isFocus = focus && node.dataset.word === `${focus.side}-${focus.index}`;
      node.style.fontWeight = isFocus ? "bold" : "normal";
    }
  }

  let drawnFor = 0; // the cell width the view was last drawn for

  function draw() {
    const data = get("_pair_data");
    const weights = get("_weights");
    const palette = get("_palette") || {};
    const colour = palette.attention;
    const showParse = get("show_parse");
    const threshold = get("threshold");
    const src = data.source.words;
    const tgt = data.target.words;
    const cell = root.clientWidth || 900; // not yet in the page: redrawn once it is (below)
    drawnFor = root.clientWidth;
    const natural = Math.max(rowLength(src), rowLength(tgt), 200) + 2 * GAP;
    const upright = natural > cell ? columns([src, tgt], cell) : null;
    const width = upright ? upright.width : natural;
    const levelsOf = (arcs) => (arcs.length ? Math.max(...stackLevels(arcs.map((a) => [Math.min(a.head, a.dependent), Math.max(a.head, a.dependent)]))) : 0);
    const above = showParse ? levelsOf(data.source.arcs) * STEP + 12 : 4;
    const below = showParse ? levelsOf(data.target.arcs) * STEP + 12 : 4;
    // Written upwards, the words take their longest's height: the source's above its line ends,
    // the target's below them.
    const sourceBlock = upright ? upright.laid[0].block + 4 : 0;
    const targetBlock = upright ? upright.laid[1].block + 4 : 0;
    const sourceY = above + 16 + sourceBlock;
    const targetY = sourceY + BRIDGE;
    const height = targetY + 8 + targetBlock + below;
    scroller.replaceChildren();
    const svg = sv("svg", { width, height, viewBox: `0 0 ${width} ${height}`, "data-testid": "cross-svg" }, scroller);
    const sx = upright ? upright.laid[0].xs : rowCentres(src, width);
    const tx = upright ? upright.laid[1].xs : rowCentres(tgt, width);
    let drawn = 0;
    const lines = [];
    weights.forEach((row, r) => row.forEach((w, c) => {
      if (w >= threshold && w > 0) lines.push([w, r, c]);
    }));
    lines.sort((a, b) => a[0] - b[0]);
    for (const [w, r, c] of lines) {
      const line = sv("line", {
        x1: sx[c], y1: sourceY + (upright ? 4 : 6), x2: tx[r], y2: targetY - (upright ? 4 : 16),
        stroke: colour, "stroke-width": 0.5 + 4 * w,
        "data-line": `${r}-${c}`, "data-weight": w,
      }, svg);
      title(line, `${tgt[r]} → ${src[c]}: ${w.toFixed(3)}`);
      drawn += 1;
    }
    const word = (text, x, y, side, index) => {
      const attrs = upright
        ? {
          x, y, "text-anchor": side === "source" ? "start" : "end", "dominant-baseline": "central",
          transform: `rotate(-90 ${x} ${y})`, style: `font: ${upright.font}; cursor: pointer`,
        }
        : { x, y, "text-anchor": "middle", style: `font: ${FONT}; cursor: pointer` };
      const shown = upright ? upright.laid[side === "source" ? 0 : 1].shown[index] : text;
      const node = sv("text", { ...attrs, "data-word": `${side}-${index}` }, svg, shown);
      if (shown !== text) title(node, text);
      node.addEventListener("mouseenter", () => { hovered = { side, index }; applyFocus(); });
      node.addEventListener("mouseleave", () => { hovered = null; applyFocus(); });
      if (side === "target") node.addEventListener("click", () => set("selected", get("selected") === index ? -1 : index));
    };
    src.forEach((w, i) => word(w, sx[i], sourceY, "source", i));
    tgt.forEach((w, i) => word(w, tx[i], targetY, "target", i));
    if (showParse) {
      drawArcs(svg, data.source.arcs, sx, sourceY - 16 - sourceBlock, -1, "source");
      drawArcs(svg, data.target.arcs, tx, targetY + 6 + targetBlock, 1, "target");
    }
    const layer = ((get("layer") % get("n_layers")) + get("n_layers")) % get("n_layers");
    const head = get("head") === "mean" ? `mean of ${get("n_heads")} heads` : `head ${Number(get("head")) + 1}`;
    applyFocus();
    info.textContent = `${data.model} · decoder layer ${layer + 1} · ${head} · ${drawn} lines ≥ ${Number(threshold).toFixed(2)}, target → source (source above)`;
  }

  const redraw = () => {
    buildBar();
    draw();
  };
  for (const name of ["_pair_data", "_weights", "threshold", "show_parse"]) model.on(`change:${name}`, draw);
  model.on("change:selected", applyFocus);
  for (const name of ["pair", "layer", "head", "n_pairs"]) model.on(`change:${name}`, redraw);
  redraw();
  // Fitted to the cell: drawn again when its width changes (and once it is in the page).
  if (typeof ResizeObserver !== "undefined") {
    new ResizeObserver(() => {
      if (root.clientWidth && root.clientWidth !== drawnFor) draw();
    }).observe(root);
  }
}

export default { render };
