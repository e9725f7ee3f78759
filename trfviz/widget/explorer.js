// trfviz attention explorer: the browser side of trfviz.widget.AttentionExplorer.
//
// Plain ESM for anywidget (export default { render }): no CDN, no require.js, no network.
// Token text only ever reaches the DOM through textContent / SVG text nodes, never
// innerHTML, so a token "<script>" is shown as text and runs nothing.

const SVG_NS = "http://www.w3.org/2000/svg";

// Sequential (attention) and diverging (difference) colour stops, ColorBrewer Blues / PuOr.
const BLUES = ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5",
  "#08519c", "#08306b"];
const PUOR = ["#542788", "#8073ac", "#b2abd2", "#d8daeb", "#f7f7f7", "#fee0b6", "#fdb863",
  "#e08214", "#b35806"];
const SCORE = ["#440154", "#46327e", "#365c8d", "#277f8e", "#1fa187", "#4ac16d", "#a0da39",
  "#fde725"]; // viridis, for per-head scores
const FROM_COLOUR = "#1d4ed8"; // attention from the focused token
const TO_COLOUR = "#c2410c"; // attention to the focused token
const ENTITY_COLOURS = {
  PERSON: "#f59e0b", ORG: "#3b82f6", GPE: "#10b981", LOC: "#14b8a6", NORP: "#8b5cf6",
  DATE: "#ec4899", TIME: "#f43f5e", MONEY: "#22c55e", CARDINAL: "#64748b", ORDINAL: "#94a3b8",
  PRODUCT: "#06b6d4", EVENT: "#d946ef", WORK_OF_ART: "#a855f7", FAC: "#0ea5e9", LAW: "#78716c",
  LANGUAGE: "#84cc16", PERCENT: "#eab308", QUANTITY: "#f97316",
};

// ---------------------------------------------------------------------------------------------
// Small DOM helpers (text always through textContent)

function el(tag, className, parent, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (parent) parent.appendChild(node);
  return node;
}

function sv(tag, attrs, parent, text) {
  const node = document.createElementNS(SVG_NS, tag);
  if (attrs) for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (parent) parent.appendChild(node);
  return node;
}

// A tooltip: an SVG <title> child (text only); returns the <title> element.
function title(node, text) {
  return sv("title", null, node, text);
}

// ---------------------------------------------------------------------------------------------
// Data decoding

function bytesOf(data) {
  if (!data) return new Uint8Array(0);
  if (data instanceof Uint8Array) return data;
  if (data instanceof DataView) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (typeof data === "string") { // base64, if a front end sent the bytes as text
    const raw = atob(data);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  return new Uint8Array(0);
}

// A packed matrix {data, shape, lo, scale} as {values: Float32Array, shape}.
function unpack(packed) {
  const codes = bytesOf(packed && packed.data);
  const values = new Float32Array(codes.length);
  const lo = packed ? packed.lo : 0;
  const scale = packed ? packed.scale : 1;
  for (let i = 0; i < codes.length; i++) values[i] = lo + codes[i] * scale;
  return { values, shape: packed ? packed.shape : [0, 0], codes };
}

function at(m, q, k) {
  return m.values[q * m.shape[m.shape.length - 1] + k];
}

function maxAbs(values) {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

// ---------------------------------------------------------------------------------------------
// The view, composed here: the kernel sends every head of the current layer per panel
// (`_layers`), and the head, the comparison's head and the mode are picked in the browser,
// so a head switch is drawn at once, without a round trip to the kernel.

// Per panel of a `_layers` payload: its heads [head, query, key], their mean [query, key],
// and a cache of the matrices cut from them, so a matrix shown again is the same object
// (and keeps its heatmap image).
function decodeLayers(layers) {
  return (layers.panels || []).map((p) => ({
    model: p.model, layer: p.layer, heads: unpack(p.heads), mean: unpack(p.mean), cache: new Map(),
  }));
}

// The [query, key] matrix of a head ("mean" and "all": the mean), or null if there is none.
function headMatrix(layer, head) {
  if (typeof head !== "number") return layer.mean;
  const [h, q, k] = layer.heads.shape;
  if (!(head >= 0 && head < h)) return null;
  if (!layer.cache.has(head)) {
    layer.cache.set(head, { values: layer.heads.values.subarray(head * q * k, (head + 1) * q * k),
      shape: [q, k] });
  }
  return layer.cache.get(head);
}

function cropMatrix(m, n) {
  const k = m.shape[1];
  const values = new Float32Array(n * n);
  for (let q = 0; q < n; q++) values.set(m.values.subarray(q * k, q * k + n), q * n);
  return { values, shape: [n, n] };
}

function subtract(a, b) {
  const values = new Float32Array(a.values.length);
  for (let i = 0; i < values.length; i++) values[i] = a.values[i] - b.values[i];
  return { values, shape: a.shape };
}

// The linked comparison's head, as the kernel's `_linked_choice`: the same head, or the
// head mean where the second model has no such head.
function linkedHead(head, nHeads) {
  return typeof head === "number" && head >= nHeads ? "mean" : head;
}

// The panels to draw for the decoded layers and the heads shown (one per layer), or null
// while the layers are not this sentence's. Panels hold decoded matrices: `matrix`; for
// "heads" (all heads of a layer) also `heads`; for a difference (first minus second over
// the spaCy tokens) also its operands `a` and `b`.
function composeView(sentence, layers, decoded, heads, mode) {
  if (!sentence.tokens || !sentence.models || layers.sentence !== sentence.index) return null;
  const matrices = [];
  for (let i = 0; i < decoded.length; i++) {
    const info = sentence.models[decoded[i].model];
    const matrix = headMatrix(decoded[i], heads[i]);
    if (!info || !matrix || matrix.shape[0] !== info.labels.length) return null;
    matrices.push(matrix);
  }
  const part = (i) => `${decoded[i].model}/${decoded[i].layer}/${heads[i]}`;
  if (mode === "difference" && decoded.length === 2) {
    const [first, second] = decoded;
    const cached = `difference/${heads[0]}/${heads[1]}`;
    if (!first.cache.has(cached)) {
      const n = sentence.tokens.length;
      const a = cropMatrix(matrices[0], n), b = cropMatrix(matrices[1], n);
      first.cache.set(cached, { a, b, matrix: subtract(a, b) });
    }
    const { a, b, matrix } = first.cache.get(cached);
    return { key: `${part(0)};${part(1)};difference`, mode, panels: [{
      model: first.model, compare: second.model, layer: first.layer, head: heads[0],
      compare_layer: second.layer, compare_head: heads[1], kind: "difference", matrix, a, b }] };
  }
  const panels = decoded.map((d, i) => ({
    model: d.model, layer: d.layer, head: heads[i], kind: heads[i] === "all" ? "heads" : "attention",
    matrix: matrices[i], heads: heads[i] === "all" ? d.heads : null,
  }));
  return { key: panels.map((_, i) => part(i)).join(";") + ";side", mode: "side", panels };
}

// ---------------------------------------------------------------------------------------------
// Colours

function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}
const RAMPS = new Map();
function ramp(stops) {
  if (!RAMPS.has(stops)) {
    const rgb = stops.map(hexToRgb);
    const table = [];
    for (let i = 0; i < 256; i++) {
      const x = (i / 255) * (rgb.length - 1);
      const j = Math.min(Math.floor(x), rgb.length - 2);
      const f = x - j;
      table.push(rgb[j].map((c, d) => Math.round(c + f * (rgb[j + 1][d] - c))));
    }
    RAMPS.set(stops, table);
  }
  return RAMPS.get(stops);
}
function colour(stops, x) {
  const t = ramp(stops)[Math.max(0, Math.min(255, Math.round(x * 255)))];
  return `rgb(${t[0]},${t[1]},${t[2]})`;
}
function entityColour(label) {
  if (ENTITY_COLOURS[label]) return ENTITY_COLOURS[label];
  let h = 0;
  for (const c of label) h = (h * 31 + c.charCodeAt(0)) % 360;
  return `hsl(${h},60%,50%)`;
}

function fmt(x) {
  if (!Number.isFinite(x)) return "–";
  const a = Math.abs(x);
  return a >= 0.995 ? x.toFixed(2) : a >= 0.01 ? x.toFixed(2).replace(/^(-?)0\./, "$1.") :
    a === 0 ? "0" : x.toFixed(3).replace(/^(-?)0\./, "$1.");
}
function choiceLabel(kind, v) {
  return v === "mean" ? `${kind} mean` : v === "all" ? `all ${kind}s` : `${kind} ${v}`;
}

// ---------------------------------------------------------------------------------------------
// Text measurement (a canvas context: no layout, works before the node is attached)

let MEASURE = null;
function measure(text, font) {
  if (!MEASURE) MEASURE = document.createElement("canvas").getContext("2d");
  MEASURE.font = font;
  return MEASURE.measureText(text).width;
}
const TOKEN_FONT = "500 14px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const SMALL_FONT = "11px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

// ---------------------------------------------------------------------------------------------
// The sentence view: dependency arcs above the tokens, entities under them, attention below.

function layoutTokens(labels, nTokens) {
  const xs = [], widths = [];
  let x = 12;
  labels.forEach((label, i) => {
    if (i === nTokens && i > 0) x += 18; // a gap before the special pseudo-tokens
    const w = Math.max(26, measure(label, TOKEN_FONT) + 14);
    xs.push(x + w / 2);
    widths.push(w);
    x += w + 8;
  });
  return { xs, widths, width: x + 4 };
}

const PIECE_MARKERS = /^(##|Ġ|▁|Ċ)/;
function drawSplits(g, label, pieces, x, y) {
  const bare = pieces.map((p) => p.replace(PIECE_MARKERS, ""));
  const width = measure(label, TOKEN_FONT);
  if (bare.join("").toLowerCase() === label.toLowerCase()) {
    let offset = 0;
    for (const piece of bare.slice(0, -1)) {
      offset += piece.length;
      const bx = x - width / 2 + measure(label.slice(0, offset), TOKEN_FONT);
      sv("line", { x1: bx, x2: bx, y1: y - 4, y2: y + 1, class: "tv-split" }, g);
    }
    return;
  }
  pieces.forEach((_, p) => sv("circle", { cx: x - (pieces.length - 1) * 2.5 + p * 5, cy: y,
    r: 1.2, class: "tv-piece-dot" }, g));
}

function arcLevels(arcs) {
  // displaCy-style: an arc's level is the rank of its length among distinct lengths,
  // raised where needed so it clears the arcs nested inside it.
  const sorted = arcs.map((a, i) => ({ i, lo: Math.min(a.head, a.dependent),
    hi: Math.max(a.head, a.dependent) })).sort((a, b) => (a.hi - a.lo) - (b.hi - b.lo));
  const levels = new Array(arcs.length).fill(1);
  sorted.forEach((a, n) => {
    let level = 1;
    for (let m = 0; m < n; m++) {
      const b = sorted[m];
      if (b.lo >= a.lo && b.hi <= a.hi) level = Math.max(level, levels[b.i] + 1);
    }
    levels[a.i] = level;
  });
  return levels;
}

// Built once per view; `update(focus)` then restyles it in place on hover, so the element
// under the pointer is never replaced (a rebuilt token would swallow the click).
function drawSentence(ctx, panel, matrix, opts) {
  const { sentence, threshold, showParse, showEntities } = opts;
  const words = sentence.tokens;
  const nTokens = words.length;
  const info = sentence.models[panel.model];
  const isDiff = panel.kind === "difference";
  const labels = isDiff ? words : info.labels;
  const n = labels.length;
  const { xs, widths, width } = layoutTokens(labels, nTokens);

  const arcs = showParse ? sentence.arcs : [];
  const levels = arcLevels(arcs);
  const maxLevel = Math.max(0, ...levels);
  const step = maxLevel ? Math.min(24, 150 / maxLevel) : 0;
  const tokenY = 10 + maxLevel * step + (maxLevel ? 16 : 4);
  const tokenH = 26;
  const tagY = tokenY + tokenH + 11;
  const entityY = tagY + 6;
  const entityH = showEntities && sentence.entities.length ? 16 : 0;
  const linesY = entityY + entityH + 8;
  const vmax = Math.max(1e-6, maxAbs(matrix.values));
  const depthOf = (q, k) => Math.min(90, 12 + Math.abs(xs[q] - xs[k]) * 0.18);

  // Every weight over the threshold; a focused token shows the subset touching it, so the
  // height that fits them all fits any focus.
  const strong = [];
  let depthMax = 16;
  for (let q = 0; q < n; q++) {
    for (let k = 0; k < n; k++) {
      const w = at(matrix, q, k);
      if (Math.abs(w) < threshold || w === 0) continue;
      strong.push({ q, k, w });
      if (q !== k) depthMax = Math.max(depthMax, depthOf(q, k));
    }
  }
  strong.sort((a, b) => Math.abs(a.w) - Math.abs(b.w));
  const height = linesY + depthMax + 12;

  const root = sv("svg", { class: "tv-sentence", width, height, viewBox: `0 0 ${width} ${height}`,
    role: "img", "aria-label": "sentence with dependency arcs and attention" });

  // Dependency arcs.
  const arcGroup = sv("g", { class: "tv-arcs" }, root);
  const arcNodes = arcs.map((arc, i) => {
    const left = Math.min(arc.head, arc.dependent), right = Math.max(arc.head, arc.dependent);
    const x1 = xs[left] + (arc.head === left ? 3 : -3) + 2;
    const x2 = xs[right] + (arc.head === right ? -3 : 3) - 2;
    const top = tokenY - 6 - levels[i] * step;
    const base = tokenY - 3;
    const r = Math.min(8, (x2 - x1) / 2, (base - top) / 2);
    const g = sv("g", { class: "tv-arc", "data-head": arc.head, "data-dependent": arc.dependent,
      "data-label": arc.label }, arcGroup);
    sv("path", { d: `M${x1},${base} L${x1},${top + r} Q${x1},${top} ${x1 + r},${top} ` +
      `L${x2 - r},${top} Q${x2},${top} ${x2},${top + r} L${x2},${base}`, class: "tv-arc-path" }, g);
    const xd = arc.dependent === left ? x1 : x2;
    sv("path", { d: `M${xd - 3.5},${base - 6} L${xd},${base} L${xd + 3.5},${base - 6} Z`,
      class: "tv-arc-head" }, g);
    sv("text", { x: (x1 + x2) / 2, y: top + 3.5, class: "tv-arc-label",
      "text-anchor": "middle" }, g, arc.label);
    title(g, `${words[arc.head]} → ${words[arc.dependent]}: ${arc.label}`);
    return g;
  });

  const lineGroup = sv("g", { class: "tv-lines" }, root);

  // Entities.
  if (entityH) {
    const entGroup = sv("g", { class: "tv-entities" }, root);
    for (const ent of sentence.entities) {
      const x1 = xs[ent.start] - widths[ent.start] / 2;
      const x2 = xs[ent.end - 1] + widths[ent.end - 1] / 2;
      const c = entityColour(ent.label);
      const g = sv("g", { class: "tv-entity", "data-label": ent.label }, entGroup);
      sv("rect", { x: x1, y: entityY, width: x2 - x1, height: entityH, rx: 4, fill: c,
        "fill-opacity": 0.16, stroke: c, "stroke-opacity": 0.7 }, g);
      sv("text", { x: x1 + 5, y: entityY + 11.5, class: "tv-entity-label", fill: c }, g, ent.label);
      title(g, `${words.slice(ent.start, ent.end).join(" ")}: ${ent.label}`);
    }
  }

  // Tokens.
  const tokenGroup = sv("g", { class: "tv-tokens" }, root);
  const tokens = labels.map((label, i) => {
    const special = i >= nTokens;
    const g = sv("g", { class: "tv-token" + (special ? " tv-special" : ""), "data-index": i },
      tokenGroup);
    if (info && info.missing && info.missing.includes(i) && !isDiff) g.classList.add("tv-missing");
    const box = sv("rect", { x: xs[i] - widths[i] / 2, y: tokenY, width: widths[i], height: tokenH,
      rx: 5, class: "tv-token-box", fill: "transparent" }, g);
    const text = sv("text", { x: xs[i], y: tokenY + 17.5, "text-anchor": "middle",
      class: "tv-token-text" }, g, label);
    const bar = sv("rect", { x: xs[i], y: tokenY + tokenH - 3, width: 0, height: 2.5, rx: 1.2,
      fill: TO_COLOUR, class: "tv-to-bar" }, g);
    if (!special && sentence.tags && sentence.tags[i]) {
      sv("text", { x: xs[i], y: tagY, "text-anchor": "middle", class: "tv-tag" }, g, sentence.tags[i]);
    }
    // Where a token was split into pieces: ticks under the text at the piece boundaries
    // (or, where the pieces do not spell the token, one dot per piece).
    const pieces = (!isDiff && !special && info && info.pieces[i]) || [];
    if (pieces.length > 1) drawSplits(g, label, pieces, xs[i], tokenY + 21);
    const tip = title(g, label);
    g.addEventListener("mouseenter", () => ctx.hover(i));
    g.addEventListener("mouseleave", () => ctx.hover(-1));
    g.addEventListener("click", (event) => { event.stopPropagation(); ctx.select(i); });
    return { g, box, text, bar, tip, label, special, pieces };
  });

  function update(focus, selected) {
    const focused = focus >= 0 && focus < n;
    arcNodes.forEach((g, i) => g.classList.toggle("tv-active",
      focused && (arcs[i].head === focus || arcs[i].dependent === focus)));
    // Lines: from the focus (blue) and to it (orange), or every strong one.
    const nodes = [];
    for (const { q, k, w } of strong) {
      if (focused && q !== focus && k !== focus) continue;
      const strength = Math.abs(w) / vmax;
      // Unfocused, every strong weight is drawn: lighter, so the pattern reads, not the ink.
      const ink = focused ? [0.18, 0.8, 0.6, 4.2] : [0.08, 0.55, 0.5, 2.6];
      let stroke = "#3b5b8c";
      if (isDiff) stroke = w > 0 ? PUOR[8] : PUOR[0];
      else if (focused) stroke = q === focus ? FROM_COLOUR : TO_COLOUR;
      const attrs = { class: "tv-line", stroke, fill: "none", "data-q": q, "data-k": k,
        "data-w": w.toFixed(4), "stroke-opacity": (ink[0] + ink[1] * strength).toFixed(3),
        "stroke-width": (ink[2] + ink[3] * strength).toFixed(2) };
      let node;
      if (q === k) {
        node = sv("circle", { ...attrs, cx: xs[q], cy: linesY + 7,
          r: (2 + 5 * Math.sqrt(strength)).toFixed(2) });
      } else {
        const depth = depthOf(q, k);
        node = sv("path", { ...attrs, d: `M${xs[q]},${linesY} C${xs[q]},${linesY + depth} ` +
          `${xs[k]},${linesY + depth} ${xs[k]},${linesY}` });
        nodes.push(sv("circle", { cx: xs[k], cy: linesY + 1.5, r: 2, fill: stroke,
          class: "tv-line-end", "fill-opacity": (0.3 + 0.7 * strength).toFixed(3) }));
      }
      title(node, `${labels[q]} → ${labels[k]}: ${fmt(w)}`);
      nodes.push(node);
    }
    lineGroup.replaceChildren(...nodes);
    // Tokens: filled by the attention from the focus, barred by the attention to it.
    tokens.forEach((t, i) => {
      const fromW = focused ? at(matrix, focus, i) : 0;
      const toW = focused ? at(matrix, i, focus) : 0;
      const other = focused && i !== focus;
      let fill = "transparent";
      if (other) {
        fill = isDiff ? colour(PUOR, 0.5 + 0.5 * fromW / vmax)
          : colour(BLUES, Math.min(1, fromW / vmax) * 0.85);
      }
      t.box.setAttribute("fill", fill);
      t.box.classList.toggle("tv-focus", i === focus);
      t.g.classList.toggle("tv-selected", i === selected);
      t.text.classList.toggle("tv-on-dark", !isDiff && other && fromW / vmax > 0.55);
      if (focused) t.g.setAttribute("data-weight", fromW.toFixed(4));
      else t.g.removeAttribute("data-weight");
      const bw = other && !isDiff && toW > 0 ? Math.max(1, (widths[i] - 6) * Math.min(1, toW / vmax)) : 0;
      t.bar.setAttribute("x", String(xs[i] - bw / 2));
      t.bar.setAttribute("width", String(bw));
      const tip = [t.label];
      if (!t.special && info && !isDiff) tip.push(`pieces: ${(info.pieces[i] || []).join(" · ") || "none"}`);
      if (other) {
        tip.push(isDiff ? `Δ from ${labels[focus]}: ${fmt(fromW)}`
          : `from ${labels[focus]}: ${fmt(fromW)} · to ${labels[focus]}: ${fmt(toW)}`);
      }
      t.tip.textContent = tip.join("\n");
    });
  }
  return { node: root, update };
}

// ---------------------------------------------------------------------------------------------
// Heatmap [query, key], and small multiples of heads

function clip(label, n) {
  return label.length > n ? label.slice(0, n - 1) + "…" : label;
}

function drawHeatmap(ctx, panel, matrix, fullLabels) {
  const n = fullLabels.length;
  const labels = fullLabels.map((l) => clip(l, 14));
  const isDiff = panel.kind === "difference";
  const cell = Math.max(9, Math.min(22, Math.floor(380 / Math.max(1, n))));
  const labelW = Math.min(120, Math.max(...labels.map((l) => measure(l, SMALL_FONT)), 10) + 10);
  const top = labelW * 0.82 + 10;
  const left = labelW + 4;
  const width = left + n * cell + 6, height = top + n * cell + 6;
  const root = sv("svg", { class: "tv-heatmap", width, height, viewBox: `0 0 ${width} ${height}`,
    role: "img", "aria-label": "attention heatmap, query rows by key columns" });
  // The cells are one image (a pixel per cell, scaled up without smoothing): one DOM node
  // instead of n² keeps hover and head switches fast on long sentences.
  const image = sv("image", { x: left, y: top, width: n * cell, height: n * cell,
    preserveAspectRatio: "none", href: heatmapImage(matrix, n, isDiff), class: "tv-cells",
    "data-n": n }, root);
  const cellAt = (event) => {
    const box = image.getBoundingClientRect();
    const k = Math.floor(((event.clientX - box.left) / box.width) * n);
    const q = Math.floor(((event.clientY - box.top) / box.height) * n);
    return q >= 0 && q < n && k >= 0 && k < n ? [q, k] : null;
  };
  let lastCell = "";
  image.addEventListener("mousemove", (event) => {
    const hit = cellAt(event);
    if (!hit || hit.join() === lastCell) return;
    lastCell = hit.join();
    const [q, k] = hit;
    ctx.hover(q, `${fullLabels[q]} → ${fullLabels[k]}: ${fmt(at(matrix, q, k))}`, hit);
  });
  image.addEventListener("mouseleave", () => ctx.hover(-1));
  image.addEventListener("click", (event) => {
    const hit = cellAt(event);
    if (hit) ctx.select(hit[0]);
  });
  sv("rect", { x: left - 0.5, y: top - 0.5, width: n * cell + 1, height: n * cell + 1,
    class: "tv-heatmap-frame" }, root);
  sv("text", { x: 2, y: 11, class: "tv-axis-caption" }, root, "from ↓  to →");
  const rowMark = sv("rect", { x: left, y: top, width: n * cell, height: cell,
    class: "tv-heatmap-row", visibility: "hidden" }, root);
  const colMark = sv("rect", { x: left, y: top, width: cell, height: n * cell,
    class: "tv-heatmap-col", visibility: "hidden" }, root);
  const cellMark = sv("rect", { x: left, y: top, width: cell, height: cell,
    class: "tv-heatmap-cell", visibility: "hidden" }, root);
  const axisLabels = labels.map((label, i) => {
    const row = sv("text", { x: left - 5, y: top + i * cell + cell / 2 + 3.5, "text-anchor": "end",
      class: "tv-axis-label" }, root, label);
    const cx = left + i * cell + cell / 2 + 3, cy = top - 5;
    const col = sv("text", { x: cx, y: cy, transform: `rotate(-55 ${cx} ${cy})`,
      class: "tv-axis-label" }, root, label);
    for (const node of [row, col]) {
      if (label !== fullLabels[i]) title(node, fullLabels[i]);
      node.addEventListener("mouseenter", () => ctx.hover(i));
      node.addEventListener("mouseleave", () => ctx.hover(-1));
      node.addEventListener("click", () => ctx.select(i));
    }
    return [row, col];
  });

  function update(focus, cellFocus) {
    const focused = focus >= 0 && focus < n;
    rowMark.setAttribute("visibility", focused ? "visible" : "hidden");
    colMark.setAttribute("visibility", focused ? "visible" : "hidden");
    if (focused) {
      rowMark.setAttribute("y", String(top + focus * cell));
      colMark.setAttribute("x", String(left + focus * cell));
    }
    const onCell = cellFocus && cellFocus[0] < n && cellFocus[1] < n;
    cellMark.setAttribute("visibility", onCell ? "visible" : "hidden");
    if (onCell) {
      cellMark.setAttribute("x", String(left + cellFocus[1] * cell));
      cellMark.setAttribute("y", String(top + cellFocus[0] * cell));
    }
    axisLabels.forEach(([row, col], i) => {
      row.classList.toggle("tv-focus", i === focus);
      col.classList.toggle("tv-focus", i === focus);
    });
  }
  return { node: root, update };
}

const HEATMAP_IMAGES = new WeakMap();
function heatmapImage(matrix, n, diverging) {
  // A data URL of the [query, key] matrix, a pixel per cell; cached per unpacked matrix.
  if (HEATMAP_IMAGES.has(matrix)) return HEATMAP_IMAGES.get(matrix);
  const canvas = document.createElement("canvas");
  canvas.width = n; canvas.height = n;
  const c = canvas.getContext("2d");
  const image = c.createImageData(n, n);
  const table = ramp(diverging ? PUOR : BLUES);
  const vmax = Math.max(1e-6, maxAbs(matrix.values));
  for (let q = 0; q < n; q++) {
    for (let k = 0; k < n; k++) {
      const w = at(matrix, q, k);
      const x = diverging ? 0.5 + 0.5 * w / vmax : w / vmax;
      const rgb = table[Math.max(0, Math.min(255, Math.round(x * 255)))];
      const i = 4 * (q * n + k);
      image.data[i] = rgb[0]; image.data[i + 1] = rgb[1]; image.data[i + 2] = rgb[2];
      image.data[i + 3] = 255;
    }
  }
  c.putImageData(image, 0, 0);
  const url = canvas.toDataURL("image/png");
  HEATMAP_IMAGES.set(matrix, url);
  return url;
}

function drawThumb(canvas, values, side, offset, stops) {
  const c = canvas.getContext("2d");
  const image = c.createImageData(side[1], side[0]);
  const table = ramp(stops);
  let peak = 1e-9;
  for (let i = 0; i < side[0] * side[1]; i++) peak = Math.max(peak, values[offset + i]);
  for (let i = 0; i < side[0] * side[1]; i++) {
    const rgb = table[Math.round(Math.min(1, values[offset + i] / peak) * 255)];
    image.data[4 * i] = rgb[0]; image.data[4 * i + 1] = rgb[1]; image.data[4 * i + 2] = rgb[2];
    image.data[4 * i + 3] = 255;
  }
  c.putImageData(image, 0, 0);
}

function drawHeads(ctx, panel) {
  const heads = panel.heads;
  const [h, q, k] = heads.shape;
  const wrap = el("div", "tv-heads");
  for (let i = 0; i < h; i++) {
    const item = el("button", "tv-head-thumb", wrap);
    item.type = "button";
    item.dataset.head = String(i);
    item.title = `${choiceLabel("head", i)}: click to show it`;
    const canvas = el("canvas", null, item);
    canvas.width = k; canvas.height = q;
    drawThumb(canvas, heads.values, [q, k], i * q * k, BLUES);
    el("span", null, item, `h${i}`);
    item.addEventListener("click", () => ctx.setHead(panel.model, i));
  }
  return wrap;
}

function drawLegend(kind, vmax, names) {
  // A colour bar with its range; for a difference, which side favours which model.
  const diff = kind === "difference";
  const w = 120, pad = diff ? 8 : 62, h = 30;
  const root = sv("svg", { class: "tv-legend", width: w + 2 * pad, height: h,
    viewBox: `0 0 ${w + 2 * pad} ${h}`, "data-kind": kind });
  const id = `tv-grad-${Math.random().toString(36).slice(2)}`;
  const grad = sv("linearGradient", { id, x1: 0, x2: 1, y1: 0, y2: 0 }, sv("defs", null, root));
  const stops = diff ? PUOR : BLUES;
  stops.forEach((s, i) => sv("stop", { offset: i / (stops.length - 1), "stop-color": s }, grad));
  if (!diff) sv("text", { x: pad - 6, y: 12, "text-anchor": "end", class: "tv-legend-caption" }, root, "attention");
  sv("rect", { x: pad, y: 4, width: w, height: 9, rx: 2, fill: `url(#${id})`, class: "tv-legend-bar" }, root);
  sv("text", { x: pad, y: 25, "text-anchor": "start", class: "tv-legend-text" }, root, fmt(diff ? -vmax : 0));
  if (diff) sv("text", { x: pad + w / 2, y: 25, "text-anchor": "middle", class: "tv-legend-text" }, root, "0");
  sv("text", { x: pad + w, y: 25, "text-anchor": "end", class: "tv-legend-text" }, root, fmt(vmax));
  title(root, diff ? `${names[0]} − ${names[1]}: purple, more in ${names[1]}; orange, more in ${names[0]}`
    : "attention weight (colour scale up to the largest weight shown)");
  return root;
}

// ---------------------------------------------------------------------------------------------
// Head grid: every layer × head as a thumbnail, optionally coloured by the caller's score.

function drawGrid(ctx, key, grid, current, name) {
  const wrap = el("div", "tv-grid-model");
  const headRow = el("div", "tv-grid-title", wrap);
  el("strong", null, headRow, name);
  el("span", "tv-muted", headRow,
    ` · layers in columns, heads in rows${grid.scores ? " · framed by head score" : ""}`);
  const thumbs = unpack(grid.thumbs);
  const [L, H, q, k] = thumbs.shape;
  const size = L > 12 ? 22 : 34;
  const table = el("div", "tv-grid-table", wrap);
  table.style.gridTemplateColumns = `24px repeat(${L}, ${size + 4}px)`;
  el("span", "tv-grid-corner", table, "");
  for (let l = 0; l < L; l++) el("span", "tv-grid-axis", table, l);
  const range = grid.score_range;
  for (let h = 0; h < H; h++) {
    el("span", "tv-grid-axis", table, `h${h}`);
    for (let l = 0; l < L; l++) {
      const cell = el("button", "tv-grid-cell", table);
      cell.type = "button";
      cell.dataset.layer = String(l);
      cell.dataset.head = String(h);
      cell.style.width = cell.style.height = `${size}px`;
      const canvas = el("canvas", null, cell);
      canvas.width = k; canvas.height = q;
      drawThumb(canvas, thumbs.values, [q, k], (l * H + h) * q * k, BLUES);
      let tip = `layer ${l} · head ${h}`;
      const score = grid.scores ? grid.scores[l][h] : null;
      if (score !== null && score !== undefined && range) {
        const x = range[1] > range[0] ? (score - range[0]) / (range[1] - range[0]) : 1;
        cell.style.borderColor = colour(SCORE, x);
        cell.classList.add("tv-scored");
        cell.dataset.score = String(score);
        tip += ` · score ${fmt(score)}`;
      }
      if (current[0] === l && current[1] === h) cell.classList.add("tv-current");
      cell.title = tip;
      cell.addEventListener("click", () => ctx.jump(key, l, h));
    }
  }
  if (range) {
    const legend = el("div", "tv-grid-legend", wrap);
    el("span", "tv-muted", legend, `score ${fmt(range[0])}`);
    const bar = el("span", "tv-score-bar", legend);
    bar.style.background = `linear-gradient(90deg, ${SCORE.join(",")})`;
    el("span", "tv-muted", legend, fmt(range[1]));
  }
  return wrap;
}

// ---------------------------------------------------------------------------------------------
// Controls

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

// ---------------------------------------------------------------------------------------------

function render({ model, el: host }) {
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

  // Toolbar: what is shown (model A, its layer and head; model B, its layer and head, the
  // mode), then how (sentence, overlays, threshold) and the export.
  const bar = el("div", "tv-toolbar", root);
  const rowA = el("div", "tv-toolbar-row", bar);
  const rowB = el("div", "tv-toolbar-row", bar);
  const gModel = el("div", "tv-group", rowA);
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
    chip(gToggles, "Heatmap", "show_heatmap"), chip(gToggles, "Head grid", "show_grid")];
  const threshold = el("input", "tv-range");
  threshold.type = "range";
  threshold.min = "0"; threshold.max = "0.5"; threshold.step = "0.01";
  threshold.dataset.trait = "threshold";
  const thresholdField = field(gToggles, "lines ≥", threshold);
  thresholdField.title = "hide attention lines under this weight";
  const thresholdValue = el("span", "tv-range-value", thresholdField);

  const gExport = el("div", "tv-group tv-end", rowB);
  const status = el("span", "tv-status", gExport);
  const exportBtn = el("button", "tv-button", gExport, "Export figure");
  exportBtn.type = "button";
  exportBtn.dataset.action = "export";
  exportBtn.title = "save the current view as a paper figure (explorer.save_figure)";

  const infoBar = el("div", "tv-info", root);
  const panelsBox = el("div", "tv-panels", root);
  const gridBox = el("div", "tv-grid", root);

  // Events from the controls.
  modelSelect.addEventListener("change", () => set({ model: modelSelect.value }));
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
  exportBtn.addEventListener("click", () => {
    status.textContent = "saving…";
    model.send({ type: "export" });
  });
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
    jump(key, l, h) {
      if (key === get("model")) set({ layer: l, head: h });
      else set({ link: false, compare_layer: l, compare_head: h });
    },
  };

  function syncControls() {
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
    status.textContent = get("status") || "";
  }

  function focusIndex() {
    return hovered >= 0 ? hovered : get("selected");
  }

  function drawInfo(sentence, focus) {
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
    const shown = [get("model"), get("compare")].filter(Boolean);
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

  function topWeights(matrix, labels, focus, from, n) {
    const out = [];
    for (let i = 0; i < labels.length; i++) {
      if (i === focus) continue;
      out.push([labels[i], from ? at(matrix, focus, i) : at(matrix, i, focus)]);
    }
    return out.sort((a, b) => b[1] - a[1]).slice(0, n).filter((x) => x[1] > 0);
  }

  // The `_layers` payload decoded once per payload (not on every head switch or hover).
  let decodedLayers = { layers: null, panels: [] };
  function decodedOf(layers) {
    if (decodedLayers.layers !== layers) decodedLayers = { layers, panels: decodeLayers(layers) };
    return decodedLayers.panels;
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
    return composeView(sentence, layers, decoded, shownHeads(decoded), get("mode"));
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
    const state = [sentence, get("_layers"), view.key, get("threshold"), get("show_parse"),
      get("show_entities"), get("show_heatmap")];
    if (state.every((x, i) => x === drawnWith[i])) return false;
    drawnWith = state;
    panelsBox.replaceChildren();
    built = view.panels.map((panel) => buildPanel(sentence, panel, sentence.models[panel.model]));
    highlight();
    root.dataset.viewKey = view.key;
    root.dataset.updateMs = (performance.now() - t0).toFixed(2);
    return true;
  }

  function buildPanel(sentence, panel, info) {
    const isDiff = panel.kind === "difference";
    const { matrix } = panel;
    const labels = isDiff ? sentence.tokens : info.labels;
    const other = isDiff ? sentence.models[panel.compare] || { name: panel.compare } : null;
    const box = el("section", "tv-panel", panelsBox);
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
    }
    const body = el("div", "tv-panel-body", box);
    const drawn = drawSentence(ctx, panel, matrix, {
      sentence, threshold: get("threshold"), showParse: get("show_parse"),
      showEntities: get("show_entities"),
    });
    el("div", "tv-sentence-wrap", body).appendChild(drawn.node);
    let heat = null;
    if (get("show_heatmap")) {
      heat = drawHeatmap(ctx, panel, matrix, labels);
      el("div", "tv-heatmap-wrap", body).appendChild(heat.node);
    }
    const summary = el("div", "tv-focus-summary", box);
    if (panel.kind === "heads") box.appendChild(drawHeads(ctx, panel));
    return { panel, labels, isDiff, drawn, heat, summary };
  }

  function highlight() {
    // Restyle the built panels for the focused token: no element is replaced.
    const sentence = get("_sentence_data") || {};
    const focus = focusIndex();
    drawInfo(sentence, focus);
    for (const p of built) {
      p.drawn.update(focus, get("selected"));
      if (p.heat) p.heat.update(focus, cellFocus);
      drawSummary(p, focus);
    }
    root.dataset.focus = String(focus);
  }

  function drawSummary({ labels, isDiff, panel, summary }, focus) {
    summary.replaceChildren();
    summary.hidden = !(focus >= 0 && focus < labels.length);
    if (summary.hidden) return;
    const { matrix, a, b } = panel;
    if (isDiff) {
      const rows = labels.map((l, i) => [i, l, at(a, focus, i), at(b, focus, i), at(matrix, focus, i)])
        .filter((r) => r[0] !== focus).sort((x, y) => Math.abs(y[4]) - Math.abs(x[4])).slice(0, 5);
      el("span", "tv-arrow", summary, `${labels[focus]} →`);
      for (const [, l, x, y, d] of rows) {
        el("span", "tv-weight", summary, `${l} ${fmt(x)} vs ${fmt(y)} (${d >= 0 ? "+" : ""}${fmt(d)})`);
      }
      return;
    }
    const from = el("span", "tv-from", summary);
    el("span", "tv-arrow", from, `${labels[focus]} →`);
    for (const [l, w] of topWeights(matrix, labels, focus, true, 5)) {
      el("span", "tv-weight", from, `${l} ${fmt(w)}`);
    }
    const to = el("span", "tv-to", summary);
    el("span", "tv-arrow", to, `→ ${labels[focus]}`);
    for (const [l, w] of topWeights(matrix, labels, focus, false, 5)) {
      el("span", "tv-weight", to, `${l} ${fmt(w)}`);
    }
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
      gridBox.appendChild(drawGrid(ctx, key, grid[key], current, name)).dataset.model = key;
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
    ["change:selected", onSelected], ["change:hovered", onHovered], ["change:threshold", onPanels],
    ["change:show_parse", onPanels], ["change:show_entities", onPanels], ["change:show_heatmap", onPanels],
    ["change:show_grid", onControls], ["change:status", onControls],
    ["change:models", onControls], ["change:n_sentences", onControls],
  ];
  for (const [name, fn] of handlers) model.on(name, fn);
  root.addEventListener("click", (event) => {
    if (event.target === root || event.target === panelsBox) set({ selected: -1 });
  });

  renderAll();
  root.dataset.renderMs = (performance.now() - started).toFixed(2);
  root.dataset.ready = "true";
  return () => {
    for (const [name, fn] of handlers) model.off(name, fn);
  };
}

export default { render };
