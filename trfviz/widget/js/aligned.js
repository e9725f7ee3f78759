// The aligned view: one or two models over ONE token axis fitted to the cell's width, side
// by side, as their difference (one band, orange where the first attends more, purple where
// the second does; honest.js) or with all heads of a layer overlaid (overlay.js).
// Top to bottom: the dependency parse in its own band, model A's attention arcs above the
// words, the words (with a colour strip per model), the entities, model B's arcs below.
// One colour scale for both models unless `per_model_scale` (then each band labels its own).
// Zoom and pan (buttons, ctrl + wheel, shift + wheel, drag, the overview strip) move one
// window over the axis, so every band follows. `compact` shows the sentence as wrapping text
// instead (compact.js). Heatmaps, one per model, sit under it on the same scale.
// `opts.measure` says what the values are (attention, or a measure of trfviz.measures): its
// name labels the colour bars; a non-distribution's line threshold is a share of its largest
// value; a per-word measure (attributions) is drawn as shaded words on a signed scale.

import { arcLevels } from "./arcs.js";
import { bandLines } from "./band_lines.js";
import { MIN_WINDOW, axisColumns, clampWindow, focusColumn, layoutAxis } from "./axis.js";
import { colour, drawLegend, entityColour, scale } from "./colour.js";
import { drawCompact } from "./compact.js";
import { at, maxAbs } from "./decode.js";
import { SMALL_FONT, choiceLabel, el, fmt, measure, sv, title } from "./dom.js";
import { drawHeads } from "./grid.js";
import { drawHeatmap } from "./heatmap.js";
import { drawDifferenceNote, sinkToggle } from "./honest_view.js";
import { drawHeadChips, hiddenHeads } from "./overlay.js";

const BAND_H = 96; // the height of a model's attention band
export const ATTENTION = { label: "attention weight", short: "attention", distribution: true,
  signed: false, words: false };
const WINDOWS = new WeakMap(); // the panels' box -> the zoom window kept across redraws

// A difference's band: its name and the words it compares (no special tokens).
function differenceInfo(sentence, panel) {
  const first = sentence.models[panel.model] || {};
  return { name: `${panel.names[0]} − ${panel.names[1]}`, labels: sentence.tokens,
    pieces: first.pieces || [], missing: first.missing };
}

// Builds the aligned view of `panels` (1 or 2 of kind "attention" or "heads", or one
// "difference") in `parent`; returns one entry per band for main.js's highlight (drawn,
// heat, summary), the first drawing the axis.
export function buildAligned(ctx, parent, sentence, panels, opts) {
  const measure = opts.measure || ATTENTION;
  opts = { ...opts, measure, compact: opts.compact || measure.words,
    showHeatmap: opts.showHeatmap && !measure.words };
  const diff = panels[0].kind === "difference";
  const infos = diff ? [differenceInfo(sentence, panels[0])] : panels.map((p) => sentence.models[p.model]);
  const cols = axisColumns(sentence, infos);
  const n = cols.labels.length;
  const perModel = Boolean(opts.perModelScale) && panels.length > 1;
  const peaks = panels.map((p) => Math.max(1e-6, maxAbs(p.matrix.values)));
  const vmaxes = perModel ? peaks : panels.map(() => Math.max(...peaks));

  const box = el("section", "tv-panel tv-aligned", parent);
  box.dataset.model = panels[0].model;
  box.dataset.kind = diff ? "difference" : panels.some((p) => p.kind === "heads") ? "heads" : "attention";
  box.dataset.scale = perModel ? "per-model" : "shared";
  box.dataset.measure = measure.short;
  const head = el("header", "tv-panel-head", box);
  if (diff) drawDifferenceHead(ctx, box, head, panels[0], vmaxes[0]);
  else panels.forEach((panel, m) => {
    const name = el("span", "tv-panel-title tv-model-name", head, infos[m].name);
    name.dataset.model = panel.model;
    if (panels.length > 1) el("span", "tv-muted tv-small", head, m === 0 ? "arcs above the words" : "arcs below");
    const badge = el("span", "tv-badge" + (m ? " tv-badge-b" : ""), head,
      `${choiceLabel("layer", panel.layer)} · ${choiceLabel("head", panel.head)}`);
    badge.dataset.layer = String(panel.layer);
    badge.dataset.head = String(panel.head);
    if (infos[m].truncated) el("span", "tv-badge tv-warn", head, "truncated");
  });
  if (measure !== ATTENTION) el("span", "tv-badge tv-measure", head, measure.label).title = measure.note || "";
  const legendKind = measure.signed ? "signed" : "attention";
  const legends = el("div", "tv-legends", head);
  if (diff) {
    legends.remove();
  } else if (perModel) {
    panels.forEach((panel, m) => {
      const item = el("span", "tv-legend-item", legends);
      el("span", "tv-small", item, `${infos[m].name} (own scale)`);
      item.appendChild(drawLegend(legendKind, vmaxes[m], [], measure.short, measure.label))
        .dataset.model = panel.model;
    });
  } else {
    const legend = legends.appendChild(drawLegend(legendKind, vmaxes[0], [], measure.short, measure.label));
    if (panels.length > 1) el("span", "tv-muted tv-small", legends, "one scale for both models");
    legend.dataset.model = panels.map((p) => p.model).join(" ");
  }

  const chips = diff ? [] : panels.filter((p) => p.kind === "heads")
    .map((p) => drawHeadChips(ctx, box, p, sentence.models[p.model].name));

  const stored = WINDOWS.get(parent);
  const sentenceKey = `${sentence.index}/${n}`;
  // The zoom window is the `window` trait (kept by the kernel, reset with the sentence);
  // until the kernel has it, the window this box last showed for this sentence.
  const synced = ctx.getTrait("window");
  let window = synced ? clampWindow(synced[0], synced[1], n)
    : stored && stored.key === sentenceKey ? stored.window : [0, n];
  const zoomBar = el("div", "tv-zoom", box);
  const note = el("div", "tv-overview-note tv-muted tv-small", box);
  const noteText = el("span", "tv-overview-text", note);
  // Side by side, the overview leaves the first word out as a target while `exclude_sink`,
  // as the difference does (its own note holds the switch); the caption has the switch.
  const sinkLeftOut = !diff && Boolean(opts.excludeSink) && measure.distribution && cols.nWords > 0;
  const sink = diff ? null : sinkToggle(ctx, note, opts.excludeSink);
  const viewBox = el("div", "tv-aligned-view", box);
  const heatBox = el("div", "tv-heatmaps", box);
  const summaries = panels.map((panel, m) => {
    const s = el("div", "tv-focus-summary", box);
    s.dataset.model = panel.model;
    if (panels.length > 1) s.dataset.name = `${infos[m].name}: `;
    s.hidden = measure.words; // a per-word measure's shading is its read-out
    return s;
  });
  for (const panel of panels) {
    if (panel.kind !== "heads") continue;
    const heads = box.appendChild(drawHeads(ctx, panel));
    heads.dataset.model = panel.model;
    if (panels.length > 1) heads.prepend(el("div", "tv-heads-title tv-small", null, sentence.models[panel.model].name));
  }

  let view = null;
  let heats = [];
  let width = 0;
  let last = [-1, -1];
  const widthNow = () => Math.floor(viewBox.clientWidth || parent.clientWidth - 24 || 900);

  function drawView() {
    WINDOWS.set(parent, { key: sentenceKey, window });
    box.dataset.start = String(window[0]);
    box.dataset.end = String(window[1]);
    if (opts.compact) {
      view = drawCompact(ctx, sentence, panels, infos, cols, vmaxes, perModel, measure);
      zoomBar.hidden = true;
    } else {
      const axis = layoutAxis(cols.labels, width, window);
      view = drawBands(ctx, sentence, panels, infos, cols, vmaxes, axis,
        { ...opts, sinkColumn: sinkLeftOut ? 0 : -1 }, noteText, sink);
      box.dataset.labels = axis.mode;
      box.dataset.labelStep = String(axis.step);
      box.dataset.columnWidth = axis.colW.toFixed(2);
      zoomBar.hidden = n <= MIN_WINDOW;
      drawZoomBar();
    }
    viewBox.replaceChildren(view.node);
    note.hidden = Boolean(opts.compact);
    view.update(...last);
  }
  function drawHeatmaps() {
    heatBox.replaceChildren();
    heats = [];
    if (!opts.showHeatmap) return;
    const each = panels.length > 1 && width >= 640 ? Math.floor((width - 24) / 2) : width;
    panels.forEach((panel, m) => {
      const wrap = el("div", "tv-heatmap-wrap", heatBox);
      wrap.dataset.model = panel.model;
      if (panels.length > 1) el("div", "tv-heatmap-title tv-small", wrap, infos[m].name);
      const heat = drawHeatmap(ctx, panel, panel.matrix, infos[m].labels,
        { vmax: vmaxes[m], width: each, nWords: sentence.tokens.length });
      wrap.appendChild(heat.node);
      heats.push(heat);
    });
    heats.forEach((h) => h.update(last[0], null));
  }
  function setWindow(next, fromKernel = false) {
    const w = clampWindow(next[0], next[1], n);
    if (w[0] === window[0] && w[1] === window[1]) return;
    window = w;
    drawView();
    if (!fromKernel) ctx.setTrait("window", w[0] === 0 && w[1] === n ? null : w);
  }
  function relayout() {
    const w = widthNow();
    if (Math.abs(w - width) < 2) return;
    width = w;
    drawView();
    drawHeatmaps();
  }

  // Zoom bar: − + all, the window as text and an overview strip of the whole axis.
  const zoomOut = el("button", "tv-icon", zoomBar, "−");
  const zoomIn = el("button", "tv-icon", zoomBar, "+");
  const zoomAll = el("button", "tv-button", zoomBar, "all");
  zoomOut.type = zoomIn.type = zoomAll.type = "button";
  zoomOut.dataset.action = "zoom-out";
  zoomIn.dataset.action = "zoom-in";
  zoomAll.dataset.action = "zoom-all";
  zoomOut.title = "show more words (ctrl + wheel)";
  zoomIn.title = "show fewer, wider words (ctrl + wheel); drag or shift + wheel to pan";
  const stripW = 220;
  const strip = sv("svg", { class: "tv-overview-strip", width: stripW, height: 14, viewBox: `0 0 ${stripW} 14` }, zoomBar);
  title(strip, "the whole sentence; the box is the window shown: drag it or click to move");
  sv("rect", { x: 0, y: 4, width: stripW, height: 6, rx: 3, class: "tv-strip-track" }, strip);
  const windowMark = sv("rect", { y: 1, height: 12, rx: 3, class: "tv-window-mark" }, strip);
  const windowText = el("span", "tv-window-label tv-small", zoomBar);
  function drawZoomBar() {
    const [s, e] = window;
    windowMark.setAttribute("x", String((s / n) * stripW));
    windowMark.setAttribute("width", String(Math.max(3, ((e - s) / n) * stripW)));
    windowText.textContent = s === 0 && e === n ? `all ${n} tokens`
      : `tokens ${s + 1}–${e} of ${n} (${cols.labels[s]} … ${cols.labels[e - 1]})`;
    zoomIn.disabled = e - s <= Math.min(MIN_WINDOW, n);
    zoomOut.disabled = zoomAll.disabled = s === 0 && e === n;
  }
  const zoomBy = (factor, at = (window[0] + window[1]) / 2) => {
    const span = (window[1] - window[0]) * factor;
    const rel = (at - window[0]) / (window[1] - window[0]);
    setWindow([at - rel * span, at - rel * span + span]);
  };
  zoomIn.addEventListener("click", () => zoomBy(0.6));
  zoomOut.addEventListener("click", () => zoomBy(1 / 0.6));
  zoomAll.addEventListener("click", () => setWindow([0, n]));
  const stripAt = (event) => ((event.clientX - strip.getBoundingClientRect().left) / stripW) * n;
  strip.addEventListener("pointerdown", (event) => {
    const span = window[1] - window[0];
    const move = (e) => { const c = stripAt(e); setWindow([c - span / 2, c + span / 2]); };
    move(event);
    strip.setPointerCapture(event.pointerId);
    strip.onpointermove = move;
    strip.onpointerup = () => { strip.onpointermove = null; };
  });

  // Wheel and drag on the view: ctrl/⌘ + wheel zooms at the pointer, shift + wheel (or a
  // sideways wheel) pans, a drag on the background pans; a plain wheel scrolls the notebook.
  viewBox.addEventListener("wheel", (event) => {
    if (opts.compact) return;
    const sideways = event.shiftKey || Math.abs(event.deltaX) > Math.abs(event.deltaY);
    if (!event.ctrlKey && !event.metaKey && !sideways) return;
    event.preventDefault();
    const colW = (width - 8) / (window[1] - window[0]);
    const c = window[0] + (event.clientX - viewBox.getBoundingClientRect().left - 4) / colW;
    if (sideways) {
      const d = (event.deltaX || event.deltaY) / colW;
      setWindow([window[0] + d, window[1] + d]);
    } else zoomBy(event.deltaY > 0 ? 1.25 : 0.8, c);
  }, { passive: false });
  viewBox.addEventListener("pointerdown", (event) => {
    if (opts.compact || event.button !== 0 || event.target.closest(".tv-token")) return;
    if (window[0] === 0 && window[1] === n) return;
    const x0 = event.clientX, w0 = window.slice();
    const colW = (width - 8) / (w0[1] - w0[0]);
    viewBox.setPointerCapture(event.pointerId);
    viewBox.classList.add("tv-dragging");
    viewBox.onpointermove = (e) => {
      const d = Math.round((x0 - e.clientX) / colW);
      setWindow([w0[0] + d, w0[1] + d]);
    };
    viewBox.onpointerup = () => {
      viewBox.onpointermove = null;
      viewBox.classList.remove("tv-dragging");
    };
  });

  width = widthNow();
  drawView();
  drawHeatmaps();
  if (typeof ResizeObserver !== "undefined") {
    const observer = new ResizeObserver(() => {
      if (!box.isConnected) { observer.disconnect(); return; }
      relayout();
    });
    observer.observe(viewBox);
  }

  return panels.map((panel, m) => ({
    // A per-word measure has no "from" and "to" to list: its shading is the read-out.
    panel, labels: infos[m].labels, isDiff: diff, summary: measure.words ? el("div") : summaries[m],
    drawn: { update: m === 0 ? (focus, selected) => {
      last = [focus, selected];
      view.update(focus, selected);
      for (const c of chips) c.update();
    } : () => {} },
    heat: { update: (focus, cell) => { if (heats[m]) heats[m].update(focus, cell); } },
    // The kernel's `window` (set from Python): the zoom follows.
    setWindow: m === 0 ? (w) => setWindow(w || [0, n], true) : null,
  }));
}

// The SVG of the bands for an axis layout; `update(focus, selected)` restyles it in place.
function drawBands(ctx, sentence, panels, infos, cols, vmaxes, axis, opts, note, sink) {
  const { xs, colW, mode, step, shown, rowH, start, end, width } = axis;
  const { nWords, labels } = cols;
  const n = labels.length;
  const seq = scale("sequential");
  const lo = axis.left, hi = axis.left + (end - start) * colW;
  const xOf = (c) => (xs[c] !== null ? xs[c] : c < start ? lo - 1 : hi + 1);
  const two = panels.length > 1;

  // The parse: displaCy-style arcs on their own baseline; a label only where it fits.
  const arcs = opts.showParse
    ? sentence.arcs.filter((a) => !(Math.max(a.head, a.dependent) < start || Math.min(a.head, a.dependent) >= end))
    : [];
  const levels = arcLevels(arcs);
  const maxLevel = Math.max(0, ...levels);
  const pStep = maxLevel ? Math.min(16, 120 / maxLevel) : 0;
  const parseBase = 6 + (maxLevel ? 10 + maxLevel * pStep : 0);
  const aBase = parseBase + 6 + BAND_H; // model A's arcs rise from here (the words' top)
  const stripH = 5;
  const rowTop = aBase + 2;
  const labelTop = rowTop + stripH + 2;
  const tagsH = mode === "flat" && sentence.tags ? 12 : 0;
  const rowBottom = labelTop + rowH + tagsH + (two ? stripH + 2 : 0);
  const showEnts = opts.showEntities && sentence.entities.length;
  const entY = rowBottom + 3, entH = showEnts ? 15 : 0;
  const bBase = entY + entH + 3; // model B's arcs hang from here
  const height = two ? bBase + BAND_H + 4 : bBase + 4;

  const root = sv("svg", { class: "tv-sentence tv-aligned-svg", width, height,
    viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": "sentence with dependency arcs and each model's attention on one axis" });
  const clipId = `tv-clip-${Math.random().toString(36).slice(2)}`;
  sv("rect", { x: lo - 1, y: 0, width: hi - lo + 2, height }, sv("clipPath", { id: clipId }, sv("defs", null, root)));

  if (arcs.length) {
    const g = sv("g", { class: "tv-arcs tv-band-parse", "clip-path": `url(#${clipId})` }, root);
    arcs.forEach((arc, i) => {
      const l = Math.min(arc.head, arc.dependent), r = Math.max(arc.head, arc.dependent);
      const x1 = xOf(l) + 2, x2 = xOf(r) - 2;
      const top = parseBase - levels[i] * pStep;
      const rad = Math.min(6, (x2 - x1) / 2, (parseBase - top) / 2);
      const a = sv("g", { class: "tv-arc", "data-head": arc.head, "data-dependent": arc.dependent,
        "data-label": arc.label }, g);
      if (xs[l] === null || xs[r] === null) a.classList.add("tv-arc-out");
      sv("path", { d: `M${x1},${parseBase} L${x1},${top + rad} Q${x1},${top} ${x1 + rad},${top} ` +
        `L${x2 - rad},${top} Q${x2},${top} ${x2},${top + rad} L${x2},${parseBase}`, class: "tv-arc-path" }, a);
      const xd = arc.dependent === l ? x1 : x2;
      sv("path", { d: `M${xd - 3},${parseBase - 5} L${xd},${parseBase} L${xd + 3},${parseBase - 5} Z`,
        class: "tv-arc-head" }, a);
      // The label sits on the arc where the arc is wider than it; else it is in the tooltip.
      const label = sv("text", { x: (x1 + x2) / 2, y: top + 3.5, class: "tv-arc-label", "text-anchor": "middle" }, a, arc.label);
      if (x2 - x1 < measure(arc.label, SMALL_FONT) + 4) label.setAttribute("visibility", "hidden");
      title(a, `${sentence.tokens[arc.head]} → ${sentence.tokens[arc.dependent]}: ${arc.label}`);
    });
  }

  // Band labels: which model's arcs are where.
  const bandLabel = (y, text) => sv("text", { x: lo, y, class: "tv-band-label" }, root, text);
  bandLabel(parseBase + 18, `${infos[0].name} ↑`);
  if (two) bandLabel(height - 6, `${infos[1].name} ↓`);
  const bands = panels.map((panel) => sv("g", { class: "tv-band " +
    (panel.kind === "heads" ? "tv-head-overlay" : "tv-lines"), "data-model": panel.model,
    "clip-path": `url(#${clipId})` }, root));
  const diff = panels[0].kind === "difference";
  const div = scale("diverging");

  if (showEnts) {
    const g = sv("g", { class: "tv-entities" }, root);
    for (const ent of sentence.entities) {
      if (ent.end <= start || ent.start >= end) continue;
      const x1 = Math.max(lo, xOf(ent.start) - colW / 2 + 1), x2 = Math.min(hi, xOf(ent.end - 1) + colW / 2 - 1);
      const e = sv("g", { class: "tv-entity", "data-label": ent.label }, g);
      sv("rect", { x: x1, y: entY, width: Math.max(2, x2 - x1), height: entH, rx: 3,
        fill: entityColour(ent.label), class: "tv-entity-band" }, e);
      const text = sv("text", { x: x1 + 3, y: entY + 11, class: "tv-entity-label" }, e, ent.label);
      if (x2 - x1 < measure(ent.label, SMALL_FONT) + 6) text.setAttribute("visibility", "hidden");
      title(e, `${sentence.tokens.slice(ent.start, ent.end).join(" ")}: ${ent.label}`);
    }
  }

  // The words: a hit box per column, a colour strip per model and the label.
  const tokenGroup = sv("g", { class: "tv-tokens" }, root);
  const tokens = [];
  for (let c = start; c < end; c++) {
    const x = xs[c];
    const special = c >= nWords;
    const g = sv("g", { class: "tv-token" + (special ? " tv-special" : ""), "data-index": c,
      "data-column": c }, tokenGroup);
    if (!special && infos[0].missing && infos[0].missing.includes(c)) g.classList.add("tv-missing");
    const hit = sv("rect", { x: x - colW / 2, y: rowTop, width: colW, height: rowBottom - rowTop, rx: 3,
      class: "tv-token-box", fill: "transparent" }, g);
    const strips = panels.map((panel, m) => sv("rect", { x: x - colW / 2 + 1, y: m ? rowBottom - stripH : rowTop,
      width: Math.max(1, colW - 2), height: stripH, rx: 1.5, class: "tv-strip", "data-model": panel.model,
      fill: "transparent" }, g));
    let text = null;
    if ((c - start) % step === 0 || step === 1) {
      const label = shown[c];
      text = mode === "flat"
        ? sv("text", { x, y: labelTop + 16, "text-anchor": "middle", class: "tv-token-text" }, g, label)
        : sv("text", { x: x + 3.8, y: labelTop + rowH - 4, "text-anchor": "start",
          transform: `rotate(-90 ${x + 3.8} ${labelTop + rowH - 4})`, class: "tv-token-text tv-vertical" }, g, label);
      if (label !== labels[c]) text.dataset.full = labels[c];
    } else {
      sv("line", { x1: x, x2: x, y1: labelTop + rowH - 8, y2: labelTop + rowH - 3, class: "tv-tick" }, g);
    }
    if (tagsH && !special && sentence.tags[c]) {
      sv("text", { x, y: labelTop + rowH + 8, "text-anchor": "middle", class: "tv-tag" }, g, sentence.tags[c]);
    }
    const tip = title(g, labels[c]);
    if (!special) {
      g.addEventListener("mouseenter", () => ctx.hover(c));
      g.addEventListener("mouseleave", () => ctx.hover(-1));
      g.addEventListener("click", (event) => { event.stopPropagation(); ctx.select(c); });
    }
    tokens[c] = { g, hit, strips, text, tip, special };
  }

  const arcPath = (xq, xk, base, depth, up) => {
    const y = up ? base - depth * 1.33 : base + depth * 1.33;
    return `M${xq},${base} C${xq},${y} ${xk},${y} ${xk},${base}`;
  };
  const depthOf = (dx) => Math.min(BAND_H - 10, 8 + Math.abs(dx) * 0.3);

  function update(focus, selected) {
    const fc = focusColumn(focus, cols, infos[0]);
    const focused = fc >= 0;
    panels.forEach((panel, m) => {
      const info = infos[m], vmax = vmaxes[m];
      // A non-distribution's threshold is a share of the largest value on its panel's scale
      // (norms are not in [0, 1]): the shared top, or the panel's own on a per-panel scale.
      const unit = opts.measure.distribution ? 1 : vmax;
      const up = m === 0, base = up ? aBase : bBase;
      const lines = bandLines(panel, n, (c) => cols.index(info, c), fc, opts.threshold,
        hiddenHeads(ctx, panel.model), unit, opts.sinkColumn);
      lines.sort((a, b) => Math.abs(a.w) - Math.abs(b.w));
      const nHeads = panel.heads ? panel.heads.shape[0] : 0;
      const nodes = [];
      for (const { from, to, w: weight, stroke, head } of lines) {
        if (xs[from] === null && xs[to] === null) continue;
        const s = Math.min(1, Math.abs(weight) / vmax);
        // Overlaid heads sit a little apart, so equal lines of two heads both show.
        const dx = head === undefined ? 0 : (head - (nHeads - 1) / 2) * Math.min(1.1, colW / (2 * nHeads));
        const xq = xOf(from) + dx, xk = xOf(to) + dx;
        const path = sv("path", { d: arcPath(xq, xk, base, depthOf(xk - xq), up),
          class: head === undefined ? "tv-line" : "tv-head-line", stroke,
          fill: "none", "data-q": from, "data-k": to, "data-w": weight.toFixed(4), "data-model": panel.model,
          "stroke-opacity": ((focused ? 0.2 : 0.12) + 0.8 * s).toFixed(3),
          "stroke-width": ((focused ? 0.6 : 0.5) + (focused ? 3.6 : 2.2) * s).toFixed(2) });
        // A line to a token outside the zoom window runs to the edge, dashed.
        if (xs[from] === null || xs[to] === null) path.setAttribute("stroke-dasharray", "4 3");
        if (head !== undefined) path.dataset.head = String(head);
        const who = head === undefined ? info.name : `${info.name} head ${head}`;
        title(path, `${who}: ${labels[from]} → ${labels[to]}: ${fmt(weight)}`);
        nodes.push(path);
        if (xs[to] !== null) {
          nodes.push(sv("circle", { cx: xk, cy: base + (up ? -1.5 : 1.5), r: 1.8, fill: stroke,
            class: "tv-line-end", "fill-opacity": (0.3 + 0.7 * s).toFixed(3) }));
        }
      }
      bands[m].replaceChildren(...nodes);
    });
    for (let c = start; c < end; c++) {
      const t = tokens[c];
      t.hit.classList.toggle("tv-focus", c === fc);
      t.g.classList.toggle("tv-focused", c === fc);
      t.g.classList.toggle("tv-selected", c === selected);
      const tip = [labels[c]];
      panels.forEach((panel, m) => {
        const info = infos[m], q = cols.index(info, fc), k = cols.index(info, c);
        const fromW = focused && q >= 0 && k >= 0 ? at(panel.matrix, q, k) : 0;
        const shade = diff ? colour(div, 0.5 + 0.5 * Math.max(-1, Math.min(1, fromW / vmaxes[m])))
          : colour(seq, Math.min(1, fromW / vmaxes[m]));
        const has = focused && k >= 0 && !Number.isNaN(fromW); // NaN: a difference's no data
        t.strips[m].setAttribute("fill", has && c !== fc ? shade : "transparent");
        const attr = m === 0 ? "data-weight" : "data-weight-b";
        if (has) t.g.setAttribute(attr, fromW.toFixed(4));
        else t.g.removeAttribute(attr);
        if (!t.special) tip.push(`${info.name} pieces: ${(info.pieces[c] || []).join(" · ") || "none"}`);
        if (focused && c !== fc && k >= 0 && q >= 0) {
          tip.push(`${info.name}: from ${labels[fc]} ${fmt(fromW)} · to it ${fmt(at(panel.matrix, k, q))}`);
        }
      });
      t.tip.textContent = tip.join("\n");
    }
    const floor = opts.measure.distribution ? fmt(opts.threshold)
      : `${Math.round(opts.threshold * 100)} % of the largest ${opts.measure.short}`;
    const floorNote = opts.threshold > 0 ? ` (only those ≥ ${floor})` : "";
    const heads = panels.some((p) => p.kind === "heads");
    const sinkNote = opts.sinkColumn >= 0 ? `; arcs to ${labels[opts.sinkColumn]} (the first word, ` +
      "the attention sink) left out" : "";
    note.textContent = diff ? (focused
      ? `${labels[fc]}: where ${panels[0].names[0]} attends more from it (orange) and where ` +
        `${panels[0].names[1]} does (purple), differences ≥ ${floor}; strips: the difference`
      : `Overview: each word's largest difference${floorNote}. Hover or click a word for all of it.`)
      : heads ? (focused
        ? `${labels[fc]}: the ${opts.measure.short} from it, each head in its colour, values ≥ ${floor}`
        : `Overview: each word's strongest arc per head (only those ≥ .3)${sinkNote}. ` +
          "Hover or click a word.")
      : focused
        ? `${labels[fc]}: ${opts.measure.short} from it (blue) and to it (orange), values ≥ ${floor}; ` +
          `strips under the words: the ${opts.measure.short} from it, per model`
        : `Overview: each token's strongest arc${floorNote}${sinkNote}. ` +
          "Hover or click a word for all its weights.";
    note.dataset.threshold = String(opts.threshold);
    note.dataset.sink = String(focused ? -1 : opts.sinkColumn);
    if (sink) sink.hidden = focused || !opts.measure.distribution;
  }
  return { node: root, update };
}

// A difference's header: both models' choices, the diverging legend, what was compared.
function drawDifferenceHead(ctx, box, head, panel, vmax) {
  const [a, b] = panel.names;
  el("span", "tv-panel-title", head, `${a} − ${b}`);
  const choice = (layer, h) => `${choiceLabel("layer", layer)} · ${choiceLabel("head", h)}`;
  el("span", "tv-badge", head, choice(panel.layer, panel.head));
  el("span", "tv-badge tv-badge-b", head, choice(panel.compare_layer, panel.compare_head));
  head.appendChild(drawLegend("difference", vmax, [a, b]));
  el("span", "tv-muted tv-legend-note", head, `orange: more in ${a}; purple: more in ${b}`);
  drawDifferenceNote(ctx, box, panel);
}
