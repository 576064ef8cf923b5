// Strict UTF-8 for the codec (docs/wire-format.md §4 "Strings"). No TextEncoder and no allocation
// on the encode path. Decode: ≤ 16 ASCII bytes via fixed-arity String.fromCharCode; longer strings
// via TextDecoder {fatal} where the platform has it, else the portable strict decoder below.
//
// Decode is strict (RFC 3629): rejects overlong forms, surrogates U+D800..DFFF, code points
// above U+10FFFF, stray continuation bytes and truncated sequences. A BOM is kept as U+FEFF.
// Encode of a JS string with a lone surrogate is an error (ERR_CODEC_BAD_VALUE), never U+FFFD:
// what is encoded is exactly what was given.
import { ERR_CODEC_BAD_VALUE, ERR_CODEC_BUFFER_TOO_SMALL, ERR_CODEC_VALUE_OUT_OF_RANGE } from '../wire/errors.ts';

const fc = String.fromCharCode;

/**
 * Decode `n` bytes of `b` from `p` as UTF-8; null when invalid. Strings of up to 16 ASCII bytes
 * take a fixed-arity String.fromCharCode fast path (cost: n loads + one small string); longer or
 * non-ASCII strings go through TextDecoder {fatal} (one subarray view) or `decodeUtf8Strict`.
 */
export function decodeUtf8(b: Uint8Array, p: number, n: number): string | null {
  switch (n) {
    case 0: return '';
    case 1: {
      const x0 = b[p];
      if (((x0) & 0x80) === 0) return fc(x0);
      break;
    }
    case 2: {
      const x0 = b[p], x1 = b[p + 1];
      if (((x0 | x1) & 0x80) === 0) return fc(x0, x1);
      break;
    }
    case 3: {
      const x0 = b[p], x1 = b[p + 1], x2 = b[p + 2];
      if (((x0 | x1 | x2) & 0x80) === 0) return fc(x0, x1, x2);
      break;
    }
    case 4: {
      const x0 = b[p], x1 = b[p + 1], x2 = b[p + 2], x3 = b[p + 3];
      if (((x0 | x1 | x2 | x3) & 0x80) === 0) return fc(x0, x1, x2, x3);
      break;
    }
    case 5: {
      const x0 = b[p], x1 = b[p + 1], x2 = b[p + 2], x3 = b[p + 3], x4 = b[p + 4];
      if (((x0 | x1 | x2 | x3 | x4) & 0x80) === 0) return fc(x0, x1, x2, x3, x4);
      break;
    }
    case 6: {
      const x0 = b[p], x1 = b[p + 1], x2 = b[p + 2], x3 = b[p + 3], x4 = b[p + 4], x5 = b[p + 5];
      if (((x0 | x1 | x2 | x3 | x4 | x5) & 0x80) === 0) return fc(x0, x1, x2, x3, x4, x5);
      break;
    }
    case 7: {
      const x0 = b[p], x1 = b[p + 1], x2 = b[p + 2], x3 = b[p + 3], x4 = b[p + 4], x5 = b[p + 5], x6 = b[p + 6];
      if (((x0 | x1 | x2 | x3 | x4 | x5 | x6) & 0x80) === 0) return fc(x0, x1, x2, x3, x4, x5, x6);
      break;
    }
    case 8: {
      const x0 = b[p], x1 = b[p + 1], x2 = b[p + 2], x3 = b[p + 3], x4 = b[p + 4], x5 = b[p + 5], x6 = b[p + 6], x7 = b[p + 7];
      if (((x0 | x1 | x2 | x3 | x4 | x5 | x6 | x7) & 0x80) === 0) return fc(x0, x1, x2, x3, x4, x5, x6, x7);
      break;
    }
    case 9: {
      const x0 = b[p], x1 = b[p + 1], x2 = b[p + 2], x3 = b[p + 3], x4 = b[p + 4], x5 = b[p + 5], x6 = b[p + 6], x7 = b[p + 7], x8 = b[p + 8];
      if (((x0 | x1 | x2 | x3 | x4 | x5 | x6 | x7 | x8) & 0x80) === 0) return fc(x0, x1, x2, x3, x4, x5, x6, x7, x8);
      break;
    }
    case 10: {
      const x0 = b[p], x1 = b[p + 1], x2 = b[p + 2], x3 = b[p + 3], x4 = b[p + 4], x5 = b[p + 5], x6 = b[p + 6], x7 = b[p + 7], x8 = b[p + 8], x9 = b[p + 9];
      if (((x0 | x1 | x2 | x3 | x4 | x5 | x6 | x7 | x8 | x9) & 0x80) === 0) return fc(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9);
      break;
    }
    case 11: {
      const x0 = b[p], x1 = b[p + 1], x2 = b[p + 2], x3 = b[p + 3], x4 = b[p + 4], x5 = b[p + 5], x6 = b[p + 6], x7 = b[p + 7], x8 = b[p + 8], x9 = b[p + 9], x10 = b[p + 10];
      if (((x0 | x1 | x2 | x3 | x4 | x5 | x6 | x7 | x8 | x9 | x10) & 0x80) === 0) return fc(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10);
      break;
    }
    case 12: {
      const x0 = b[p], x1 = b[p + 1], x2 = b[p + 2], x3 = b[p + 3], x4 = b[p + 4], x5 = b[p + 5], x6 = b[p + 6], x7 = b[p + 7], x8 = b[p + 8], x9 = b[p + 9], x10 = b[p + 10], x11 = b[p + 11];
      if (((x0 | x1 | x2 | x3 | x4 | x5 | x6 | x7 | x8 | x9 | x10 | x11) & 0x80) === 0) return fc(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11);
      break;
    }
    case 13: {
      const x0 = b[p], x1 = b[p + 1], x2 = b[p + 2], x3 = b[p + 3], x4 = b[p + 4], x5 = b[p + 5], x6 = b[p + 6], x7 = b[p + 7], x8 = b[p + 8], x9 = b[p + 9], x10 = b[p + 10], x11 = b[p + 11], x12 = b[p + 12];
      if (((x0 | x1 | x2 | x3 | x4 | x5 | x6 | x7 | x8 | x9 | x10 | x11 | x12) & 0x80) === 0) return fc(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12);
      break;
    }
    case 14: {
      const x0 = b[p], x1 = b[p + 1], x2 = b[p + 2], x3 = b[p + 3], x4 = b[p + 4], x5 = b[p + 5], x6 = b[p + 6], x7 = b[p + 7], x8 = b[p + 8], x9 = b[p + 9], x10 = b[p + 10], x11 = b[p + 11], x12 = b[p + 12], x13 = b[p + 13];
      if (((x0 | x1 | x2 | x3 | x4 | x5 | x6 | x7 | x8 | x9 | x10 | x11 | x12 | x13) & 0x80) === 0) return fc(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13);
      break;
    }
    case 15: {
      const x0 = b[p], x1 = b[p + 1], x2 = b[p + 2], x3 = b[p + 3], x4 = b[p + 4], x5 = b[p + 5], x6 = b[p + 6], x7 = b[p + 7], x8 = b[p + 8], x9 = b[p + 9], x10 = b[p + 10], x11 = b[p + 11], x12 = b[p + 12], x13 = b[p + 13], x14 = b[p + 14];
      if (((x0 | x1 | x2 | x3 | x4 | x5 | x6 | x7 | x8 | x9 | x10 | x11 | x12 | x13 | x14) & 0x80) === 0) return fc(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14);
      break;
    }
    case 16: {
      const x0 = b[p], x1 = b[p + 1], x2 = b[p + 2], x3 = b[p + 3], x4 = b[p + 4], x5 = b[p + 5], x6 = b[p + 6], x7 = b[p + 7], x8 = b[p + 8], x9 = b[p + 9], x10 = b[p + 10], x11 = b[p + 11], x12 = b[p + 12], x13 = b[p + 13], x14 = b[p + 14], x15 = b[p + 15];
      if (((x0 | x1 | x2 | x3 | x4 | x5 | x6 | x7 | x8 | x9 | x10 | x11 | x12 | x13 | x14 | x15) & 0x80) === 0) return fc(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15);
      break;
    }
  }
  if (td !== undefined) {
    // Longer strings: the platform decoder in fatal mode has exactly our strictness (WHATWG UTF-8:
    // no overlongs, surrogates, > U+10FFFF or truncated sequences) and is ~6× faster at 100 bytes.
    // Any throw (invalid input, or a view the platform refuses) gets the portable decoder's verdict.
    try {
      return td.decode(b.subarray(p, p + n));
    } catch {
      return decodeUtf8Strict(b, p, n);
    }
  }
  return decodeUtf8Strict(b, p, n);
}

const td: { decode(input: Uint8Array): string } | undefined = typeof TextDecoder === 'function' ? new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }) : undefined;

// UTF-16 code units of the string being decoded: 65535 bytes never make more than 65535 units.
const units = new Uint16Array(65536);
const CHUNK = 4096;

/** The general strict decoder: any length, validates every sequence. Null when invalid. */
export function decodeUtf8Strict(b: Uint8Array, p: number, n: number): string | null {
  const end = p + n;
  let k = 0;
  let i = p;
  while (i < end) {
    const c = b[i]!;
    if (c < 0x80) { units[k++] = c; i++; continue; }
    if (c < 0xc2) return null; // continuation byte or overlong 2-byte lead (C0, C1)
    if (c < 0xe0) {
      if (i + 1 >= end) return null;
      const c1 = b[i + 1]!;
      if ((c1 & 0xc0) !== 0x80) return null;
      units[k++] = ((c & 0x1f) << 6) | (c1 & 0x3f);
      i += 2;
      continue;
    }
    if (c < 0xf0) {
      if (i + 2 >= end) return null;
      const c1 = b[i + 1]!, c2 = b[i + 2]!;
      // E0: A0..BF (no overlong); ED: 80..9F (no surrogates); others 80..BF
      const lo = c === 0xe0 ? 0xa0 : 0x80, hi = c === 0xed ? 0x9f : 0xbf;
      if (c1 < lo || c1 > hi || (c2 & 0xc0) !== 0x80) return null;
      units[k++] = ((c & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f);
      i += 3;
      continue;
    }
    if (c < 0xf5) {
      if (i + 3 >= end) return null;
      const c1 = b[i + 1]!, c2 = b[i + 2]!, c3 = b[i + 3]!;
      // F0: 90..BF (no overlong); F4: 80..8F (≤ U+10FFFF); others 80..BF
      const lo = c === 0xf0 ? 0x90 : 0x80, hi = c === 0xf4 ? 0x8f : 0xbf;
      if (c1 < lo || c1 > hi || (c2 & 0xc0) !== 0x80 || (c3 & 0xc0) !== 0x80) return null;
      const cp = (((c & 0x07) << 18) | ((c1 & 0x3f) << 12) | ((c2 & 0x3f) << 6) | (c3 & 0x3f)) - 0x10000;
      units[k++] = 0xd800 | (cp >> 10);
      units[k++] = 0xdc00 | (cp & 0x3ff);
      i += 4;
      continue;
    }
    return null; // F5..FF
  }
  if (k <= CHUNK) return fc.apply(null, units.subarray(0, k) as unknown as number[]);
  let s = '';
  for (let j = 0; j < k; j += CHUNK) s += fc.apply(null, units.subarray(j, Math.min(k, j + CHUNK)) as unknown as number[]);
  return s;
}

/** UTF-8 byte length of `s`, or -ERR_CODEC_BAD_VALUE if it holds a lone surrogate. O(length). */
export function utf8Length(s: string): number {
  let len = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) len += 1;
    else if (c < 0x800) len += 2;
    else if ((c & 0xfc00) === 0xd800) {
      if ((s.charCodeAt(i + 1) & 0xfc00) !== 0xdc00) return -ERR_CODEC_BAD_VALUE;
      i++;
      len += 4;
    } else if ((c & 0xfc00) === 0xdc00) return -ERR_CODEC_BAD_VALUE;
    else len += 3;
  }
  return len;
}

/**
 * Write `s` as UTF-8 at `buf[p..]`, at most `max` bytes; returns bytes written or -code:
 * lone surrogate → BAD_VALUE, longer than `max` → VALUE_OUT_OF_RANGE (never truncates),
 * past the end of `buf` → BUFFER_TOO_SMALL (checked in that order). No allocation.
 */
export function encodeUtf8(s: string, buf: Uint8Array, p: number, max: number): number {
  const n = s.length;
  // ASCII fast path: one pass, no length pre-count.
  if (n <= max && p + n <= buf.length) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[p + i] = c;
    }
    if (i === n) return n;
  }
  return encodeUtf8Slow(s, buf, p, max);
}

function encodeUtf8Slow(s: string, buf: Uint8Array, p: number, max: number): number {
  const len = utf8Length(s);
  if (len < 0) return len;
  if (len > max) return -ERR_CODEC_VALUE_OUT_OF_RANGE;
  if (p + len > buf.length) return -ERR_CODEC_BUFFER_TOO_SMALL;
  const n = s.length;
  let q = p;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) buf[q++] = c;
    else if (c < 0x800) {
      buf[q++] = 0xc0 | (c >> 6);
      buf[q++] = 0x80 | (c & 0x3f);
    } else if ((c & 0xfc00) === 0xd800) {
      c = 0x10000 + ((c & 0x3ff) << 10) + (s.charCodeAt(++i) & 0x3ff);
      buf[q++] = 0xf0 | (c >> 18);
      buf[q++] = 0x80 | ((c >> 12) & 0x3f);
      buf[q++] = 0x80 | ((c >> 6) & 0x3f);
      buf[q++] = 0x80 | (c & 0x3f);
    } else {
      buf[q++] = 0xe0 | (c >> 12);
      buf[q++] = 0x80 | ((c >> 6) & 0x3f);
      buf[q++] = 0x80 | (c & 0x3f);
    }
  }
  return len;
}
