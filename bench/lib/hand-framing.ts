// The baseline's hand-written COBS (preallocated buffers) and CRC-32C slice-by-8
// (shared/bench-baseline/lib/framing.mjs): the "plain hand loop" reference for Cell's framing.

/** worst-case COBS size (no delimiter) */
export const cobsMaxLen = (n: number): number => n + Math.ceil(n / 254) + 1;

/** COBS-encode src[0..srcLen) into dst; returns encoded length (no trailing 0x00 delimiter). */
export function handCobsEncode(src: Uint8Array, srcLen: number, dst: Uint8Array): number {
  let codeIdx = 0, code = 1, di = 1;
  for (let i = 0; i < srcLen; i++) {
    const b = src[i]!;
    if (b === 0) {
      dst[codeIdx] = code; codeIdx = di++; code = 1;
    } else {
      dst[di++] = b;
      if (++code === 0xff) { dst[codeIdx] = code; codeIdx = di++; code = 1; }
    }
  }
  dst[codeIdx] = code;
  return di;
}

/** COBS-decode src[0..srcLen) into dst; returns decoded length; -1 on malformed input. */
export function handCobsDecode(src: Uint8Array, srcLen: number, dst: Uint8Array): number {
  let si = 0, di = 0;
  while (si < srcLen) {
    const code = src[si++]!;
    if (code === 0) return -1;
    const end = si + code - 1;
    if (end > srcLen) return -1;
    while (si < end) dst[di++] = src[si++]!;
    if (code < 0xff && si < srcLen) dst[di++] = 0;
  }
  return di;
}

// CRC-32C (Castagnoli, reflected 0x82F63B78), slice-by-8: only a cross-check here.
const T = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  T[n] = c;
}
for (let n = 0; n < 256; n++) for (let k = 1; k < 8; k++) { const p = T[(k - 1) * 256 + n]!; T[k * 256 + n] = (p >>> 8) ^ T[p & 0xff]!; }

export function handCrc32c(buf: Uint8Array, len = buf.length): number {
  let c = -1;
  for (let i = 0; i < len; i++) c = T[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
