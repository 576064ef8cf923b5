// Word-at-a-time copy of a run of non-zero bytes, for the V8 fast paths of the COBS encoder
// (cobs.ts cobsEncodeRun) and the deframer (deframer.ts next()); docs/uart.md §6 "COBS + CRC".
//
// Why: in V8 a JS byte loop between two Uint8Arrays costs ~1–3.5 ns/B (a load, a compare, a
// store and bounds checks per byte), which made COBS + CRC ~11.5 ns/B for encode + deframe.
// TurboFan inlines DataView getInt32/setInt32 into plain unaligned 32-bit loads/stores on
// x64/arm64, and the "has a zero byte" test (Mycroft's trick, (w - 0x01010101) & ~w &
// 0x80808080) replaces four compares: ~0.15–0.3 ns/B. A native copy (TypedArray.set on a
// subarray) would need a view object per call: the hot paths must not allocate.
//
// V8-only: firmware asc builds reach none of this (their callers take bytewise loops behind
// `SMALL_ONLY`), and in the speed-optimised asc builds (shrinkLevel 0, the Node accelerator)
// copyNonZero is only a call of the wasm kernel (wasmkernels.ts), so no wasm build compiles the
// cache or the DataView code (DataView is outside the portable subset, docs/portable-subset.md
// rule 3: in AssemblyScript it would allocate).
//
// Views: one DataView per Uint8Array seen, cached in four slots (round robin). Encode uses the
// caller's source and staging buffer, the deframer its chunk and its frame buffer, so steady
// traffic hits the cache and allocates nothing; a new buffer (a fresh read chunk) costs one small
// DataView. The cache keeps up to four buffers alive until they are replaced.

import { copyNonZeroWasm } from './wasmkernels.ts';

// True under asc (see crc32c.ts); in firmware builds nothing below is ever compiled.
const IN_WASM: bool = <i32>0.5 == 0;
// Speed-optimised asc builds (shrinkLevel 0, see cobs.ts) call copyNonZero too: it then runs the
// wasm kernel (wasmkernels.ts) and nothing else below is compiled.
const WASM_FAST: bool = IN_WASM && ASC_SHRINK_LEVEL == 0;

// The word paths assume a little-endian host (x64, arm64: every Node target in practice); on a
// big-endian host copyNonZero goes bytewise.
function hostIsLittleEndian(): bool {
  const w = new Uint32Array(1);
  w[0] = 1;
  return new Uint8Array(w.buffer)[0] == 1;
}
const LITTLE_ENDIAN: bool = IN_WASM ? false : hostIsLittleEndian();

// Cache: slot k holds a Uint8Array seen (keyK), an Int32Array over the first floor(bytes / 4)
// words of its ArrayBuffer (wordsK) and its byteOffset (offK), and a DataView over exactly its
// bytes (viewK, made on first use by viewOf).
let key0: Uint8Array | null = null;
let key1: Uint8Array | null = null;
let key2: Uint8Array | null = null;
let key3: Uint8Array | null = null;
let words0: Int32Array | null = null;
let words1: Int32Array | null = null;
let words2: Int32Array | null = null;
let words3: Int32Array | null = null;
let off0: i32 = 0;
let off1: i32 = 0;
let off2: i32 = 0;
let off3: i32 = 0;
let view0: DataView | null = null;
let view1: DataView | null = null;
let view2: DataView | null = null;
let view3: DataView | null = null;
let victim: i32 = 0;

/** Copies below this many bytes go bytewise: the look-ups cost more than they save. */
export const WORDCOPY_MIN: i32 = 16;

// Slot of `u` (0..3), filling the round-robin victim on a miss (two small allocations).
function slotOf(u: Uint8Array): i32 {
  if (u === key0) return 0;
  if (u === key1) return 1;
  if (u === key2) return 2;
  if (u === key3) return 3;
  const k = victim;
  victim = (k + 1) & 3;
  const ab = u.buffer;
  const w = new Int32Array(ab, 0, ab.byteLength >>> 2);
  const o = u.byteOffset;
  if (k == 0) { key0 = u; words0 = w; off0 = o; view0 = null; }
  else if (k == 1) { key1 = u; words1 = w; off1 = o; view1 = null; }
  else if (k == 2) { key2 = u; words2 = w; off2 = o; view2 = null; }
  else { key3 = u; words3 = w; off3 = o; view3 = null; }
  return k;
}

function wordsOf(k: i32): Int32Array {
  return k == 0 ? words0! : k == 1 ? words1! : k == 2 ? words2! : words3!;
}

function offOf(k: i32): i32 {
  return k == 0 ? off0 : k == 1 ? off1 : k == 2 ? off2 : off3;
}

/** @internal The cached DataView over exactly the bytes of `u` (same indexes as u). Cost: up to
 *  four identity compares; a miss allocates. */
export function viewOf(u: Uint8Array): DataView {
  const k = slotOf(u);
  if (k == 0) { if (view0 === null) view0 = new DataView(u.buffer, u.byteOffset, u.byteLength); return view0!; }
  if (k == 1) { if (view1 === null) view1 = new DataView(u.buffer, u.byteOffset, u.byteLength); return view1!; }
  if (k == 2) { if (view2 === null) view2 = new DataView(u.buffer, u.byteOffset, u.byteLength); return view2!; }
  if (view3 === null) view3 = new DataView(u.buffer, u.byteOffset, u.byteLength);
  return view3!;
}

/**
 * Copy src[si..si+n) to dst[di..di+n) up to (not including) the first 0x00; returns the bytes
 * copied (n when there is no 0x00). The caller guarantees both ranges lie inside their arrays and
 * do not overlap. NOTE: bytes of dst[di+returned..di+n) may be overwritten too (a whole 4-byte
 * word is stored before it is tested): callers use it only where those bytes are written again
 * later (the rest of the COBS output) or are scratch (the deframer's frame buffer beyond the
 * frame).
 * How: bytewise until the destination address is 4-aligned, then aligned Int32Array words — the
 * source re-aligned with a funnel shift when its address differs mod 4 — each tested for a zero
 * byte ((w - 0x01010101) & ~w & 0x80808080), then the tail bytewise. Measured ~0.2–0.3 ns/B in
 * V8 (a DataView getInt32/setInt32 loop measured ~0.8, the plain byte loop 1–3.5) plus ~10 ns
 * per call.
 */
export function copyNonZero(src: Uint8Array, si: i32, dst: Uint8Array, di: i32, n: i32): i32 {
  if (WASM_FAST) return copyNonZeroWasm(src, si, dst, di, n);
  let k: i32 = 0;
  if (!IN_WASM && LITTLE_ENDIAN && n >= WORDCOPY_MIN) {
    // Read src's slot before looking up dst: dst's miss may evict src's slot.
    const ks = slotOf(src);
    const s32 = wordsOf(ks);
    const srcOff = offOf(ks);
    const kd = slotOf(dst);
    const d32 = wordsOf(kd);
    // Up to 3 bytes until the destination address is aligned.
    let da: i32 = offOf(kd) + di;
    while ((da & 3) != 0) {
      const b = src[si + k];
      if (b == 0) return k;
      dst[di + k] = b;
      k++;
      da++;
    }
    const sa: i32 = srcOff + si + k;
    let ws: i32 = sa >>> 2;
    let wd: i32 = da >>> 2;
    let nw: i32 = (n - k) >>> 2; // whole destination words inside the range
    const sh: i32 = (sa & 3) << 3;
    let done: i32 = 0;
    if (sh == 0) {
      while (done < nw) {
        const w = s32[ws + done];
        d32[wd + done] = w;
        if ((((w - 0x01010101) & ~w) & 0x80808080) != 0) break; // a 0x00 among these 4 bytes
        done++;
      }
    } else {
      // Word j of the output takes source words ws+j and ws+j+1; the last one may be the
      // buffer's partial last word, which the Int32Array does not cover: leave it bytewise.
      if (ws + nw >= s32.length) nw = s32.length - 1 - ws;
      const back: i32 = 32 - sh;
      let lo: i32 = s32[ws] >>> sh;
      while (done < nw) {
        const hi: i32 = s32[ws + done + 1];
        const w: i32 = lo | (hi << back);
        d32[wd + done] = w;
        if ((((w - 0x01010101) & ~w) & 0x80808080) != 0) break;
        lo = hi >>> sh;
        done++;
      }
    }
    k += done << 2;
  }
  while (k < n) {
    const b = src[si + k];
    if (b == 0) break;
    dst[di + k] = b;
    k++;
  }
  return k;
}
