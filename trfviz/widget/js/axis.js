// The shared token axis: one column per spaCy word (then the models' special tokens), fitted
// to the width the cell gives, with a zoom window over it. Every band of the aligned view
// (each model's attention, the parse, the entities) places a word at the same x from here.

import { clip, measure } from "./dom.js";

export const AXIS_FONT = "500 13px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
// Rotated labels are set smaller (explorer.css .tv-vertical) so that 64 tokens fit a
// notebook cell's width without thinning: one line of it is LINE px across.
export const VERTICAL_FONT = "500 10.5px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const LINE = 12;
const MAX_LABEL = 80;
const FLAT_MIN = 56; // columns at least this wide keep flat labels (cut with an ellipsis) // the longest rotated label, in px; longer ones end in an ellipsis
export const MIN_WINDOW = 6;

// The columns of the aligned view: the words, then each special token any model has
// (in first-seen order); `index(info, c)` is column c's row in that model's matrix or -1.
export function axisColumns(sentence, infos) {
  const words = sentence.tokens;
  const nWords = words.length;
  const specials = [];
  for (const info of infos) {
    for (const label of info.labels.slice(nWords)) if (!specials.includes(label)) specials.push(label);
  }
  const labels = [...words, ...specials];
  const index = (info, c) => (c < nWords ? c : info.labels.indexOf(labels[c], nWords));
  return { labels, nWords, index };
}

// A label that fits `room` px in `font`: the word, or its start and an ellipsis.
export function fitLabel(label, room, font = AXIS_FONT) {
  if (measure(label, font) <= room) return label;
  let n = label.length;
  while (n > 2 && measure(clip(label, n), font) > room) n--;
  return clip(label, n);
}

// A window [start, end) of at least MIN_WINDOW columns (or all of them) inside 0..n.
export function clampWindow(start, end, n) {
  const span = Math.min(n, Math.max(Math.min(MIN_WINDOW, n), Math.round(end - start)));
  const s = Math.max(0, Math.min(n - span, Math.round(start)));
  return [s, s + span];
}

// Where each column goes for `width` px and the window: x centres (null outside the
// window), the column width, and how the labels are set: "flat" where every visible label
// fits its column or columns are wide (FLAT_MIN), else "vertical" (one text line a column), thinned to every `step`-th
// label where columns are narrower than a line. Labels that do not fit end in an ellipsis.
export function layoutAxis(labels, width, window, { left = 4, right = 4 } = {}) {
  const [start, end] = window;
  const span = Math.max(1, end - start);
  const colW = Math.max(1, (width - left - right) / span);
  const xs = labels.map((_, i) => (i >= start && i < end ? left + (i - start + 0.5) * colW : null));
  const visible = labels.slice(start, end);
  const widest = Math.max(0, ...visible.map((l) => measure(l, AXIS_FONT)));
  let mode = "flat", step = 1, shown;
  if (widest + 8 <= colW) {
    shown = labels.slice();
  } else if (colW >= FLAT_MIN) {
    shown = labels.map((l) => fitLabel(l, colW - 8)); // wide columns: flat, long words cut
  } else {
    mode = "vertical";
    step = colW >= LINE ? 1 : Math.ceil(LINE / colW);
    shown = labels.map((l) => fitLabel(l, MAX_LABEL, VERTICAL_FONT));
  }
  const font = mode === "flat" ? AXIS_FONT : VERTICAL_FONT;
  const longest = Math.max(0, ...visible.map((_, i) => measure(shown[start + i], font)));
  const rowH = mode === "flat" ? 24 : Math.ceil(longest) + 12;
  return { xs, colW, mode, step, shown, rowH, start, end, left, width };
}

// The column of a focus given as an index into the first model's labels (-1 for none).
export function focusColumn(focus, cols, info) {
  if (focus < 0) return -1;
  if (focus < cols.nWords) return focus;
  return focus < info.labels.length ? cols.labels.indexOf(info.labels[focus], cols.nWords) : -1;
}
