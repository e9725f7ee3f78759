// Composing the view in the browser: one panel per model side by side, or the difference of
// two. The kernel sends every head of the current layer per panel (`_layers`); the head, the
// comparison's head and the mode are picked here, so a head switch is drawn at once, without
// a round trip to the kernel.

import { headMatrix } from "./decode.js";
import { divergenceRow, excludedLabels, isCausal, keptWords, renormaliseRows, rowDifference }
  from "./honest.js";

export function cropMatrix(m, n) {
  const k = m.shape[1];
  const values = new Float32Array(n * n);
  for (let q = 0; q < n; q++) values.set(m.values.subarray(q * k, q * k + n), q * n);
  return { values, shape: [n, n] };
}


// The linked comparison's head, as the kernel's `_linked_choice`: the same head, or the
// head mean where the second model has no such head.
export function linkedHead(head, nHeads) {
  return typeof head === "number" && head >= nHeads ? "mean" : head;
}

// The panels to draw for the decoded layers and the heads shown (one per layer), or null
// while the layers are not this sentence's. Panels hold decoded matrices: `matrix`; for
// "heads" (all heads of a layer) also `heads`; for a difference (first minus second over
// the same words, rows renormalised: see honest.js) also its operands `a` and `b`, the JS
// divergence per query word `js` and the `excluded` labels. `difference` is the decoded
// `_difference` payload; a difference waits (null) until the one for these layers is here.
export function composeView(sentence, layers, decoded, heads, mode, difference) {
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
    if (!difference || !String(difference.key).startsWith(`${layers.key};`)) return null;
    const sink = difference.excludeSink;
    const cached = `difference/${heads[0]}/${heads[1]}/${difference.key}`;
    if (!first.cache.has(cached)) {
      const n = sentence.tokens.length;
      const keep = keptWords(n, sink);
      const a = renormaliseRows(matrices[0], n, keep), b = renormaliseRows(matrices[1], n, keep);
      first.cache.set(cached, { a, b, matrix: rowDifference(a, b, keep),
        causal: [isCausal(a), isCausal(b)],
        js: divergenceRow(difference, heads[0], heads[1]),
        excluded: excludedLabels(sentence, [first.model, second.model], sink) });
    }
    const { a, b, matrix, js, excluded, causal } = first.cache.get(cached);
    return { key: `${part(0)};${part(1)};difference`, mode, panels: [{
      model: first.model, compare: second.model, layer: first.layer, head: heads[0],
      compare_layer: second.layer, compare_head: heads[1], kind: "difference", matrix, a, b,
      js, excluded, excludeSink: sink, causal,
      names: [first.model, second.model].map((k) => (sentence.models[k] || { name: k }).name) }] };
  }
  const panels = decoded.map((d, i) => ({
    model: d.model, layer: d.layer, head: heads[i], kind: heads[i] === "all" ? "heads" : "attention",
    matrix: matrices[i], heads: heads[i] === "all" ? d.heads : null,
  }));
  return { key: panels.map((_, i) => part(i)).join(";") + ";side", mode: "side", panels };
}
