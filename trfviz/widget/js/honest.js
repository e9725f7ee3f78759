// The honest difference, mirrored from trfviz.widget.compare: both models' rows over the same
// words (specials cut off; the first word too while `exclude_sink`), renormalised to sum to 1,
// and the Jensen–Shannon divergence per query word the kernel computed for every head pair.

import { unpack } from "./decode.js";

// The key words compared: all but the first when the sink is excluded.
export function keptWords(n, excludeSink) {
  const keep = new Array(n).fill(true);
  if (excludeSink && n) keep[0] = false;
  return keep;
}

// The [n, n] crop of `m` with the columns not kept zeroed and each row renormalised to sum
// to 1 (a row with no mass left stays zero), as compare.renormalise_rows.
export function renormaliseRows(m, n, keep) {
  const k = m.shape[1];
  const values = new Float32Array(n * n);
  for (let q = 0; q < n; q++) {
    let total = 0;
    for (let j = 0; j < n; j++) if (keep[j]) total += m.values[q * k + j];
    if (!(total > 0)) continue;
    for (let j = 0; j < n; j++) if (keep[j]) values[q * n + j] = m.values[q * k + j] / total;
  }
  return { values, shape: [n, n] };
}

// The difference a − b of two renormalised crops, NaN ("no data") in every row where either
// model has no mass left (nothing to compare: SmolLM2's first word once the sink is left out)
// and in the key columns not kept, as compare.RowComparison.difference.
export function rowDifference(a, b, keep) {
  const [n] = a.shape;
  const values = new Float32Array(n * n).fill(NaN);
  for (let q = 0; q < n; q++) {
    let ta = 0, tb = 0;
    for (let j = 0; j < n; j++) { ta += a.values[q * n + j]; tb += b.values[q * n + j]; }
    if (!(ta > 0 && tb > 0)) continue;
    for (let j = 0; j < n; j++) if (keep[j]) values[q * n + j] = a.values[q * n + j] - b.values[q * n + j];
  }
  return { values, shape: [n, n] };
}

// Whether a square matrix puts no weight above its diagonal (a causal model: each word sees
// only the words before it).
export function isCausal(m) {
  const [n] = m.shape;
  for (let q = 0; q < n; q++) for (let k = q + 1; k < n; k++) if (m.values[q * n + k] > 0) return false;
  return n > 1;
}

// The `_difference` payload decoded: {key, excludeSink, js: [ha + 1, hb + 1, word]}.
export function decodeDifference(payload) {
  if (!payload || !payload.js) return null;
  return { key: payload.key, excludeSink: payload.exclude_sink, js: unpack(payload.js) };
}

// The JS divergence per query word for the heads shown (the mean's index for "mean"/"all"),
// NaN where a row had no mass left (sent as -1).
export function divergenceRow(difference, headA, headB) {
  const [ha, hb, n] = difference.js.shape;
  const i = typeof headA === "number" && headA < ha - 1 ? headA : ha - 1;
  const j = typeof headB === "number" && headB < hb - 1 ? headB : hb - 1;
  const row = difference.js.values.subarray((i * hb + j) * n, (i * hb + j + 1) * n);
  return Float32Array.from(row, (v) => (v < 0 ? NaN : v));
}

// The labels left out of the comparison: each model's specials, then the sink word.
export function excludedLabels(sentence, models, excludeSink) {
  const out = [];
  const n = sentence.tokens.length;
  for (const key of models) {
    const info = sentence.models[key];
    for (const label of info ? info.labels.slice(n) : []) if (!out.includes(label)) out.push(label);
  }
  if (excludeSink && n) out.push(`${sentence.tokens[0]} (first word, the sink)`);
  return out;
}
