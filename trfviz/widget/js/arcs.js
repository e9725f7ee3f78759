// The sentence view: dependency arcs above the tokens, entity bands under them, and the
// attention from and to the focused token as lines below.

import { colour, entityColour, fromColour, scale, toColour, attentionColour } from "./colour.js";
import { at, maxAbs } from "./decode.js";
import { TOKEN_FONT, fmt, measure, sv, title } from "./dom.js";

export function layoutTokens(labels, nTokens) {
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
export function drawSplits(g, label, pieces, x, y) {
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

export function arcLevels(arcs) {
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
export function drawSentence(ctx, panel, matrix, opts) {
  const { sentence, threshold, showParse, showEntities } = opts;
  const words = sentence.tokens;
  const nTokens = words.length;
  const info = sentence.models[panel.model];
  const isDiff = panel.kind === "difference";
  const diverging = scale("diverging");
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
      // displaCy's pastel colour fills the band and the label is dark on it, as in displaCy.
      sv("rect", { x: x1, y: entityY, width: x2 - x1, height: entityH, rx: 4, fill: c,
        class: "tv-entity-band" }, g);
      sv("text", { x: x1 + 5, y: entityY + 11.5, class: "tv-entity-label" }, g, ent.label);
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
      fill: toColour(), class: "tv-to-bar" }, g);
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
      let stroke = attentionColour();
      if (isDiff) stroke = w > 0 ? diverging[diverging.length - 1] : diverging[0];
      else if (focused) stroke = q === focus ? fromColour() : toColour();
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
        fill = isDiff ? colour(scale("diverging"), 0.5 + 0.5 * fromW / vmax)
          : colour(scale("sequential"), Math.min(1, fromW / vmax) * 0.85);
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
  // Where things are, for views drawn over this one (overlay.js: each head's lines).
  return { node: root, update, geometry: { xs, linesY, depthOf, height, width } };
}
