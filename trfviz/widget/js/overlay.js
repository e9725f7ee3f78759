// All heads of a layer overlaid (bertviz's head view): each head's attention lines in its own
// colour (palette.HEAD_COLORS) over the sentence, a chip per head to hide or show it. Focused,
// the lines from the focused word; unfocused, each head's strong lines only.

import { headColour } from "./colour.js";
import { el, fmt, sv, title } from "./dom.js";

// Unfocused, only weights at least this strong are drawn (or every arc would show).
const UNFOCUSED_MIN = 0.3;

export function drawOverlay(ctx, box, drawn, panel, labels, opts) {
  const { xs, linesY, depthOf, height, width } = drawn.geometry;
  const heads = panel.heads;
  const [H, , k] = heads.shape;
  const n = labels.length;
  const svg = drawn.node;
  const full = linesY + 90 + 14;
  if (height < full) {
    svg.setAttribute("height", String(full));
    svg.setAttribute("viewBox", `0 0 ${width} ${full}`);
  }
  const group = sv("g", { class: "tv-head-overlay" }, svg);
  const chips = el("div", "tv-head-chips", box);
  el("span", "tv-muted tv-small", chips, "heads overlaid (click to hide or show):");
  const chipNodes = [];
  for (let h = 0; h < H; h++) {
    const chip = el("button", "tv-head-chip", chips, `h${h}`);
    chip.type = "button";
    chip.dataset.head = String(h);
    chip.style.borderColor = headColour(h);
    chip.style.setProperty("--tv-head-colour", headColour(h));
    chip.addEventListener("click", () => {
      const hidden = new Set(ctx.getTrait("hidden_heads") || []);
      if (hidden.has(h)) hidden.delete(h); else hidden.add(h);
      ctx.setTrait("hidden_heads", [...hidden].sort((a, b) => a - b));
    });
    chipNodes.push(chip);
  }
  const weight = (h, q, j) => heads.values[(h * heads.shape[1] + q) * k + j];

  function update(focus) {
    const hidden = new Set(ctx.getTrait("hidden_heads") || []);
    chipNodes.forEach((chip, h) => {
      chip.classList.toggle("tv-on", !hidden.has(h));
      chip.setAttribute("aria-pressed", String(!hidden.has(h)));
    });
    const focused = focus >= 0 && focus < n;
    const floor = focused ? opts.threshold : Math.max(opts.threshold, UNFOCUSED_MIN);
    const nodes = [];
    for (let h = 0; h < H; h++) {
      if (hidden.has(h)) continue;
      const stroke = headColour(h);
      const dx = (h - (H - 1) / 2) * 1.1;
      for (let q = 0; q < n; q++) {
        if (focused && q !== focus) continue;
        for (let j = 0; j < n; j++) {
          const w = weight(h, q, j);
          if (j === q || !(w >= floor) || w === 0) continue;
          const depth = depthOf(q, j);
          const x1 = xs[q] + dx, x2 = xs[j] + dx;
          const node = sv("path", { class: "tv-head-line", stroke, fill: "none", "data-head": h,
            "data-q": q, "data-k": j, "data-w": w.toFixed(4),
            "stroke-opacity": (0.25 + 0.7 * w).toFixed(3), "stroke-width": (0.8 + 3 * w).toFixed(2),
            d: `M${x1},${linesY} C${x1},${linesY + depth} ${x2},${linesY + depth} ${x2},${linesY}` });
          title(node, `head ${h}: ${labels[q]} → ${labels[j]}: ${fmt(w)}`);
          nodes.push(node);
        }
      }
    }
    group.replaceChildren(...nodes);
  }
  return { update };
}
