// Decoding what the kernel sends: packed uint8 matrices ({data, shape, lo, scale}) and the
// `_layers` payload (every head of the current layer per panel).

export function bytesOf(data) {
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

// The codes of a packed matrix: one byte each (bits 8), two (bits 16) or float32 values
// (bits 32), little-endian, as
// trfviz.widget.payload.pack_matrix writes them (read byte by byte: any alignment works).
export function decodeCodes(bytes, bits) {
  if (bits === 32) { // float32 values themselves (lo 0, scale 1)
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const values = new Float32Array(bytes.length >> 2);
    for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(4 * i, true);
    return values;
  }
  if (bits !== 16) return bytes;
  const codes = new Uint16Array(bytes.length >> 1);
  for (let i = 0; i < codes.length; i++) codes[i] = bytes[2 * i] | (bytes[2 * i + 1] << 8);
  return codes;
}

// A packed matrix {data, shape, lo, scale, bits} as {values: Float32Array, shape}.
export function unpack(packed) {
  const codes = decodeCodes(bytesOf(packed && packed.data), packed ? packed.bits || 8 : 8);
  const values = new Float32Array(codes.length);
  const lo = packed ? packed.lo : 0;
  const scale = packed ? packed.scale : 1;
  for (let i = 0; i < codes.length; i++) values[i] = lo + codes[i] * scale;
  return { values, shape: packed ? packed.shape : [0, 0], codes };
}

export function at(m, q, k) {
  return m.values[q * m.shape[m.shape.length - 1] + k];
}

export function maxAbs(values) {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const v = Math.abs(values[i]);
    if (v > m) m = v; // NaN (no data) is skipped
  }
  return m;
}

// Per panel of a `_layers` payload: its heads [head, query, key], their mean [query, key],
// and a cache of the matrices cut from them, so a matrix shown again is the same object
// (and keeps its heatmap image).
export function decodeLayers(layers) {
  return (layers.panels || []).map((p) => ({
    model: p.model, layer: p.layer, heads: unpack(p.heads), mean: unpack(p.mean), cache: new Map(),
  }));
}

// The [query, key] matrix of a head ("mean" and "all": the mean), or null if there is none.
export function headMatrix(layer, head) {
  if (typeof head !== "number") return layer.mean;
  const [h, q, k] = layer.heads.shape;
  if (!(head >= 0 && head < h)) return null;
  if (!layer.cache.has(head)) {
    layer.cache.set(head, { values: layer.heads.values.subarray(head * q * k, (head + 1) * q * k),
      shape: [q, k] });
  }
  return layer.cache.get(head);
}
