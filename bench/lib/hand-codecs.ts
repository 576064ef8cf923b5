// Hand-written fixed-layout codecs for the reference message: the "ceiling" peers
// (ported from shared/bench-baseline/lib/codecs.mjs; the no-string variants just drop the name).
//
// Layout, little endian: 0 ts f64 | 8 id u32 | 12 temp f32 | 16 samples 8×i16 | 32 flags u8
//                        [| 33 nameLen u8 | 34..49 name UTF-8 ≤ 16 B]   → 50 B (33 B without name)
// Both reuse one buffer and one output object (samples in a reused Int16Array), like Cell.
import type { ObjCodec, Msg } from './messages.ts';

const te = new TextEncoder();
const td = new TextDecoder();

function writeName(u8: Uint8Array, off: number, s: string): void {
  const n = s.length;
  if (n > 16) throw new RangeError('name too long');
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      const r = te.encodeInto(s, u8.subarray(off + 1, off + 17));
      if (r.read !== n) throw new RangeError('name too long');
      u8[off] = r.written;
      return;
    }
    u8[off + 1 + i] = c;
  }
  u8[off] = n;
}

// Short-string decode via fixed-arity String.fromCharCode (the msgpackr trick); the layout always
// has 16 name bytes, so reading past n stays in bounds; non-ASCII falls back to TextDecoder.
const fc = String.fromCharCode;
function readName(u8: Uint8Array, off: number): string {
  const n = u8[off]!;
  const p = off + 1;
  const a = u8[p]!, b = u8[p + 1]!, c = u8[p + 2]!, d = u8[p + 3]!, e = u8[p + 4]!, f = u8[p + 5]!, g = u8[p + 6]!, h = u8[p + 7]!;
  if (n <= 8) {
    if ((a | b | c | d | e | f | g | h) & 0x80) return td.decode(u8.subarray(p, p + n));
    switch (n) {
      case 0: return '';
      case 1: return fc(a);
      case 2: return fc(a, b);
      case 3: return fc(a, b, c);
      case 4: return fc(a, b, c, d);
      case 5: return fc(a, b, c, d, e);
      case 6: return fc(a, b, c, d, e, f);
      case 7: return fc(a, b, c, d, e, f, g);
      default: return fc(a, b, c, d, e, f, g, h);
    }
  }
  const i = u8[p + 8]!, j = u8[p + 9]!, k = u8[p + 10]!, l = u8[p + 11]!, m = u8[p + 12]!, n2 = u8[p + 13]!, o = u8[p + 14]!, q = u8[p + 15]!;
  if ((a | b | c | d | e | f | g | h | i | j | k | l | m | n2 | o | q) & 0x80) return td.decode(u8.subarray(p, p + n));
  switch (n) {
    case 9: return fc(a, b, c, d, e, f, g, h, i);
    case 10: return fc(a, b, c, d, e, f, g, h, i, j);
    case 11: return fc(a, b, c, d, e, f, g, h, i, j, k);
    case 12: return fc(a, b, c, d, e, f, g, h, i, j, k, l);
    case 13: return fc(a, b, c, d, e, f, g, h, i, j, k, l, m);
    case 14: return fc(a, b, c, d, e, f, g, h, i, j, k, l, m, n2);
    case 15: return fc(a, b, c, d, e, f, g, h, i, j, k, l, m, n2, o);
    default: return fc(a, b, c, d, e, f, g, h, i, j, k, l, m, n2, o, q);
  }
}

export function makeHandDataView(withName: boolean): ObjCodec {
  const size = withName ? 50 : 33;
  const buf = new Uint8Array(size);
  const dv = new DataView(buf.buffer);
  const out: Msg = withName
    ? { id: 0, ts: 0, temp: 0, flags: 0, name: '', samples: new Int16Array(8) }
    : { id: 0, ts: 0, temp: 0, flags: 0, samples: new Int16Array(8) };
  return {
    name: 'hand fixed-layout DataView',
    kind: 'hand',
    encode(o: Msg) {
      dv.setFloat64(0, o.ts, true);
      dv.setUint32(8, o.id, true);
      dv.setFloat32(12, o.temp, true);
      const s = o.samples;
      for (let i = 0; i < 8; i++) dv.setInt16(16 + 2 * i, s[i]!, true);
      buf[32] = o.flags;
      if (withName) writeName(buf, 33, o.name!);
      return buf;
    },
    decode(b: Uint8Array) {
      if (b !== buf) buf.set(b.subarray(0, size)); // foreign rx buffer: copy into scratch
      out.ts = dv.getFloat64(0, true);
      out.id = dv.getUint32(8, true);
      out.temp = dv.getFloat32(12, true);
      const s = out.samples as Int16Array;
      for (let i = 0; i < 8; i++) s[i] = dv.getInt16(16 + 2 * i, true);
      out.flags = buf[32]!;
      if (withName) out.name = readName(buf, 33);
      return out;
    },
    wireBytes: (e) => (e as Uint8Array).length,
  };
}

/** typed-array aliases over one aligned ArrayBuffer (no DataView; the host is little-endian): the ceiling */
export function makeHandAlias(withName: boolean): ObjCodec {
  const size = withName ? 50 : 33;
  const ab = new ArrayBuffer(56);
  const u8 = new Uint8Array(ab, 0, size);
  const f64 = new Float64Array(ab, 0, 1);
  const u32 = new Uint32Array(ab, 8, 1);
  const f32 = new Float32Array(ab, 12, 1);
  const i16 = new Int16Array(ab, 16, 8);
  const out: Msg = withName
    ? { id: 0, ts: 0, temp: 0, flags: 0, name: '', samples: new Int16Array(8) }
    : { id: 0, ts: 0, temp: 0, flags: 0, samples: new Int16Array(8) };
  return {
    name: 'hand fixed-layout typed-array alias (ceiling)',
    kind: 'hand',
    encode(o: Msg) {
      f64[0] = o.ts;
      u32[0] = o.id;
      f32[0] = o.temp;
      const s = o.samples;
      for (let i = 0; i < 8; i++) i16[i] = s[i]!;
      u8[32] = o.flags;
      if (withName) writeName(u8, 33, o.name!);
      return u8;
    },
    decode(b: Uint8Array) {
      if (b !== u8) u8.set(b.subarray(0, size)); // foreign rx buffer: copy into aligned scratch
      out.ts = f64[0]!;
      out.id = u32[0]!;
      out.temp = f32[0]!;
      const s = out.samples as Int16Array;
      for (let i = 0; i < 8; i++) s[i] = i16[i]!;
      out.flags = u8[32]!;
      if (withName) out.name = readName(u8, 33);
      return out;
    },
    wireBytes: (e) => (e as Uint8Array).length,
  };
}
