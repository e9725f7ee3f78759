// DOM and SVG helpers, text measurement and number formatting for the explorer.
// Token text only ever reaches the DOM through textContent / SVG text nodes, never innerHTML,
// so a token "<script>" is shown as text and runs nothing.

export const SVG_NS = "http://www.w3.org/2000/svg";

export function el(tag, className, parent, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (parent) parent.appendChild(node);
  return node;
}

export function sv(tag, attrs, parent, text) {
  const node = document.createElementNS(SVG_NS, tag);
  if (attrs) for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (parent) parent.appendChild(node);
  return node;
}

// A tooltip: an SVG <title> child (text only); returns the <title> element.
export function title(node, text) {
  return sv("title", null, node, text);
}


let MEASURE = null;
export function measure(text, font) {
  if (!MEASURE) MEASURE = document.createElement("canvas").getContext("2d");
  MEASURE.font = font;
  return MEASURE.measureText(text).width;
}
export const TOKEN_FONT = "500 14px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
export const SMALL_FONT = "11px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

export function fmt(x) {
  if (!Number.isFinite(x)) return "–";
  const a = Math.abs(x);
  return a >= 0.995 ? x.toFixed(2) : a >= 0.01 ? x.toFixed(2).replace(/^(-?)0\./, "$1.") :
    a === 0 ? "0" : a >= 0.001 ? x.toFixed(3).replace(/^(-?)0\./, "$1.") : x.toExponential(1);
}
export function choiceLabel(kind, v) {
  return v === "mean" ? `${kind} mean` : v === "all" ? `all ${kind}s` : `${kind} ${v}`;
}

export function clip(label, n) {
  return label.length > n ? label.slice(0, n - 1) + "…" : label;
}
