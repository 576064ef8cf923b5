// CRC-32C (Castagnoli; RFC 3720 §12.1 and appendix B.4): reflected polynomial 0x82F63B78,
// init 0xFFFFFFFF, xorout 0xFFFFFFFF, check value crc32c("123456789") = 0xE3069283.
//
// Two implementations with identical results:
//  - crc32c / crc32cUpdate: slice-by-16 (16 tables x 256 u32 = 16 KiB, built at module start),
//    bytewise tail. For gateways and hosts; in asc builds they take the nibble path (IN_WASM).
//  - crc32cSmall: one 16-entry nibble table (64 bytes), two table steps per byte. For firmware
//    code, and what every entry point uses in an asc build (see IN_WASM below).
//
// Range arguments: len -1 = to the end of buf. Out-of-range arguments are clamped to the buffer
// (a u32 result has no room for an error code); callers pass valid ranges.
//
// crc32cWrite: the same CRC stored little-endian into a buffer; no u32 crosses a call boundary,
// so it never allocates in V8 (crc32c's u32 result may be boxed: see crc32c).
//
// Portable core: compiled by tsc and asc; no exceptions, no I/O; allocation only for the tables.

import { ERR_FRAME_BUFFER_TOO_SMALL } from '../wire/errors.ts';
import { viewOf } from './wordcopy.ts';
import { crc32cRawWasm } from './wasmkernels.ts';

const POLY: u32 = 0x82f63b78;

function buildNibbleTable(): Uint32Array {
  const t = new Uint32Array(16);
  for (let n: u32 = 0; n < 16; n++) {
    let c: u32 = n;
    for (let k = 0; k < 4; k++) c = (c & 1) != 0 ? ((c >>> 1) ^ POLY) >>> 0 : c >>> 1;
    t[n] = c;
  }
  return t;
}

// Table k (at k*256) advances a byte that sits k bytes before the end of a 16-byte block.
function buildSlice16Table(): Uint32Array {
  const t = new Uint32Array(16 * 256);
  for (let n: u32 = 0; n < 256; n++) {
    let c: u32 = n;
    for (let k = 0; k < 8; k++) c = (c & 1) != 0 ? ((c >>> 1) ^ POLY) >>> 0 : c >>> 1;
    t[n] = c;
  }
  for (let n: i32 = 0; n < 256; n++) {
    for (let k: i32 = 1; k < 16; k++) {
      const prev: u32 = t[(k - 1) * 256 + n];
      t[k * 256 + n] = ((prev >>> 8) ^ t[prev & 0xff]) >>> 0;
    }
  }
  return t;
}

// Built once at module start. Kept as module-level constants: V8 then treats the tables as
// known objects and drops per-access base/length loads (a table held in a mutable variable or
// a closure measured 25-30% slower).
// True when compiled by asc, false under tsc: `<i32>0.5` is a conversion to 0 in AssemblyScript
// and a no-op type assertion in TypeScript. asc folds the constant, so `if (IN_WASM)` branches
// cost nothing and the dead side is never compiled.
const IN_WASM: bool = <i32>0.5 == 0;
// asc builds optimised for speed (shrinkLevel 0: the Node accelerator build/wasm/framing-accel.wasm
// and the `core` vector build) take the slice-by-16 tables with word loads (wasmkernels.ts);
// firmware builds (-Oz, shrinkLevel > 0) only the nibble table. Under tsc ASC_SHRINK_LEVEL is
// never evaluated (`IN_WASM &&`); asc folds both constants.
const WASM_FAST: bool = IN_WASM && ASC_SHRINK_LEVEL == 0;
const SMALL_ONLY: bool = IN_WASM && !WASM_FAST;

const NIBBLE: Uint32Array = buildNibbleTable();
// asc builds never build the 16 KiB tables: there every entry point takes the nibble-table path
// (firmware RAM and flash matter more than CRC speed; the slice-by-16 loop is a V8 optimisation).
const SLICE16: Uint32Array = SMALL_ONLY ? new Uint32Array(0) : buildSlice16Table();

// Register update without pre/post inversion, bytewise with the nibble table.
function smallRaw(c: u32, buf: Uint8Array, i: i32, end: i32): u32 {
  const t = NIBBLE;
  for (; i < end; i++) {
    c = c ^ (<u32>buf[i]);
    c = (c >>> 4) ^ t[c & 15];
    c = (c >>> 4) ^ t[c & 15];
  }
  return c;
}

// Result slot of crc32cRun. The frame encoder and the deframer call crc32cRun and read the slot
// (crc32cWriteLE / crc32cMatchesLE) instead of taking a u32 return value: in V8 a u32 at or above
// 2^30 returned from a call that is not inlined is boxed as a heap number — one allocation per
// frame. Values stay in int32 registers this way. (asc: a plain u32 load.)
const RESULT: Uint32Array = new Uint32Array(1);

/**
 * @internal Slice-by-16 CRC-32C of buf[off..off+len), continuing the finalized value `crc`; the
 * result goes to an internal slot (read it with crc32cResult). Ranges are clamped to buf.
 * `| 0` makes the int32 ranges explicit for V8 (measured ~10% faster at 4 KiB; no-op in asc).
 * Table k (at k*256) advances a byte k+1 positions before the end of a 16-byte block.
 */
export function crc32cRun(crc: u32, buf: Uint8Array, off: i32, len: i32): void {
  const n: i32 = buf.length | 0;
  let i: i32 = 0;
  let end: i32 = n;
  if (off != 0 || len >= 0) {
    // Not the whole buffer (the fast path above is worth ~10% at 64 B in V8).
    if (off < 0) off = 0;
    if (off > n) off = n;
    if (len < 0 || len > n - off) len = n - off;
    i = off | 0;
    end = (off + len) | 0;
  }
  if (SMALL_ONLY) {
    // Firmware: the frame encoder and the deframer use the 64-byte nibble table, so a wasm build
    // never contains (nor builds at start-up) the 16 KiB slice-by-16 tables unless it calls
    // crc32c/crc32cUpdate itself. Same result, ~4x slower per byte — far above UART speed.
    RESULT[0] = ~smallRaw(~crc, buf, i, end);
    return;
  }
  if (WASM_FAST) {
    // Speed-optimised asc build: the same tables, word loads (wasmkernels.ts).
    RESULT[0] = ~crc32cRawWasm(~crc, buf, i, end, SLICE16);
    return;
  }
  const t = SLICE16;
  let c: u32 = ~crc; // stays a signed int32 in JS: a u32 above 2^31 would start the loop as a double
  const end16: i32 = end - 15;
  if (end - i >= 64) {
    // Long runs: four little-endian 32-bit loads per 16 bytes through a cached DataView
    // (wordcopy.ts viewOf; TurboFan inlines them as plain loads) instead of 16 byte loads.
    // Same tables, same result; measured ~25% faster per byte at 4 KiB in V8.
    const v = viewOf(buf);
    for (; i < end16; i += 16) {
      const w0: u32 = c ^ <u32>v.getInt32(i, true);
      const w1: u32 = <u32>v.getInt32(i + 4, true);
      const w2: u32 = <u32>v.getInt32(i + 8, true);
      const w3: u32 = <u32>v.getInt32(i + 12, true);
      c = t[0xf00 + (w0 & 0xff)] ^ t[0xe00 + ((w0 >>> 8) & 0xff)] ^ t[0xd00 + ((w0 >>> 16) & 0xff)] ^ t[0xc00 + (w0 >>> 24)] ^
        t[0xb00 + (w1 & 0xff)] ^ t[0xa00 + ((w1 >>> 8) & 0xff)] ^ t[0x900 + ((w1 >>> 16) & 0xff)] ^ t[0x800 + (w1 >>> 24)] ^
        t[0x700 + (w2 & 0xff)] ^ t[0x600 + ((w2 >>> 8) & 0xff)] ^ t[0x500 + ((w2 >>> 16) & 0xff)] ^ t[0x400 + (w2 >>> 24)] ^
        t[0x300 + (w3 & 0xff)] ^ t[0x200 + ((w3 >>> 8) & 0xff)] ^ t[0x100 + ((w3 >>> 16) & 0xff)] ^ t[w3 >>> 24];
    }
  }
  for (; i < end16; i += 16) {
    c = c ^ ((<u32>buf[i]) | ((<u32>buf[i + 1]) << 8) | ((<u32>buf[i + 2]) << 16) | ((<u32>buf[i + 3]) << 24));
    c = t[0xf00 + (c & 0xff)] ^ t[0xe00 + ((c >>> 8) & 0xff)] ^ t[0xd00 + ((c >>> 16) & 0xff)] ^ t[0xc00 + (c >>> 24)] ^
      t[0xb00 + (<i32>buf[i + 4])] ^ t[0xa00 + (<i32>buf[i + 5])] ^ t[0x900 + (<i32>buf[i + 6])] ^ t[0x800 + (<i32>buf[i + 7])] ^
      t[0x700 + (<i32>buf[i + 8])] ^ t[0x600 + (<i32>buf[i + 9])] ^ t[0x500 + (<i32>buf[i + 10])] ^ t[0x400 + (<i32>buf[i + 11])] ^
      t[0x300 + (<i32>buf[i + 12])] ^ t[0x200 + (<i32>buf[i + 13])] ^ t[0x100 + (<i32>buf[i + 14])] ^ t[<i32>buf[i + 15]];
  }
  for (; i < end; i++) c = (c >>> 8) ^ t[(c ^ (<u32>buf[i])) & 0xff];
  RESULT[0] = ~c;
}

/**
 * @internal CRC-32C of buf[off..off+len) written little-endian at dst[dstOff..dstOff+4) (the
 * caller checks that range). No u32 crosses a call boundary (see RESULT).
 */
export function crc32cWriteLE(buf: Uint8Array, off: i32, len: i32, dst: Uint8Array, dstOff: i32): void {
  crc32cRun(0, buf, off, len);
  const r = RESULT;
  dst[dstOff] = <u8>(r[0] & 0xff);
  dst[dstOff + 1] = <u8>((r[0] >>> 8) & 0xff);
  dst[dstOff + 2] = <u8>((r[0] >>> 16) & 0xff);
  dst[dstOff + 3] = <u8>(r[0] >>> 24);
}

/**
 * @internal Does the CRC-32C of buf[off..off+len) equal the 4 bytes little-endian at
 * buf[off+len..off+len+4)? False when those 4 bytes are not inside buf.
 */
export function crc32cMatchesLE(buf: Uint8Array, off: i32, len: i32): bool {
  const at = off + len;
  if (off < 0 || len < 0 || at + 4 > buf.length) return false;
  crc32cRun(0, buf, off, len);
  const v = RESULT[0];
  return buf[at] == <u8>(v & 0xff) && buf[at + 1] == <u8>((v >>> 8) & 0xff) &&
    buf[at + 2] == <u8>((v >>> 16) & 0xff) && buf[at + 3] == <u8>(v >>> 24);
}

/**
 * CRC-32C of buf[off..off+len) (len -1 = to the end; the source range is clamped to buf, as in
 * crc32c) written as 4 bytes little-endian (the frame trailer's byte order) at
 * dst[dstOff..dstOff+4). Returns 4, or -ERR_FRAME_BUFFER_TOO_SMALL when those 4 bytes are not
 * inside dst (nothing written). Never allocates: use it instead of crc32c on hot paths in V8
 * (see crc32c on boxing). dst may be buf (e.g. appending the CRC after the bytes).
 */
export function crc32cWrite(buf: Uint8Array, off: i32, len: i32, dst: Uint8Array, dstOff: i32): i32 {
  if (dstOff < 0 || dstOff > dst.length - 4) return -ERR_FRAME_BUFFER_TOO_SMALL;
  crc32cWriteLE(buf, off, len, dst, dstOff);
  return 4;
}

/**
 * Continue a CRC-32C: `crc` is a FINALIZED value (what crc32c returned for the bytes before; 0 for
 * none), so crc32cUpdate(crc32c(a), b) == crc32c(a ++ b) and crc32cUpdate(0, b) == crc32c(b)
 * (the zlib convention). Cost: slice-by-16, ~0.75 ns/byte in V8 on the reference machine.
 * Allocation: as for crc32c, a result >= 2^31 may come back boxed (16 B) in V8.
 */
export function crc32cUpdate(crc: u32, buf: Uint8Array, off: i32 = 0, len: i32 = -1): u32 {
  crc32cRun(crc, buf, off, len);
  return RESULT[0];
}

/**
 * CRC-32C of buf[off..off+len) (len -1 = to the end).
 * Measured ~55-65 ns at 64 B, ~0.75 ns/byte at 4 KiB (on par with npm crc-32's crc32c.buf).
 *
 * Allocation (V8): the result is a u32, and a call that is not inlined returns a tagged value:
 * a small integer up to 2^31 - 1 (2^30 - 1 in builds with pointer compression), above that a new
 * 16-byte HeapNumber. So half of all CRCs cost an allocation, ~8 B per call on average: young-
 * generation GCs in a loop that is otherwise allocation-free (`npm run bench -- --only alloc`
 * shows it; returning `| 0` would not help, the same range limit applies to int32). Whether V8
 * inlines the call depends on the caller, so it cannot be relied on. On hot paths write the CRC
 * into a buffer with crc32cWrite (or use frameEncode / frameDecode / Deframer, which never box).
 * In wasm (asc) a u32 is a plain i32 and nothing is allocated.
 */
export function crc32c(buf: Uint8Array, off: i32 = 0, len: i32 = -1): u32 {
  if (IN_WASM) return crc32cSmall(buf, off, len);
  // The loop of crc32cRun, written out again: one call layer less is ~10% at 64 B in V8.
  const crc: u32 = 0;
  const n: i32 = buf.length | 0;
  let i: i32 = 0;
  let end: i32 = n;
  if (off != 0 || len >= 0) {
    // Not the whole buffer (the fast path above is worth ~10% at 64 B in V8).
    if (off < 0) off = 0;
    if (off > n) off = n;
    if (len < 0 || len > n - off) len = n - off;
    i = off | 0;
    end = (off + len) | 0;
  }
  const t = SLICE16;
  let c: u32 = ~crc; // stays a signed int32 in JS: a u32 above 2^31 would start the loop as a double
  const end16: i32 = end - 15;
  for (; i < end16; i += 16) {
    c = c ^ ((<u32>buf[i]) | ((<u32>buf[i + 1]) << 8) | ((<u32>buf[i + 2]) << 16) | ((<u32>buf[i + 3]) << 24));
    c = t[0xf00 + (c & 0xff)] ^ t[0xe00 + ((c >>> 8) & 0xff)] ^ t[0xd00 + ((c >>> 16) & 0xff)] ^ t[0xc00 + (c >>> 24)] ^
      t[0xb00 + (<i32>buf[i + 4])] ^ t[0xa00 + (<i32>buf[i + 5])] ^ t[0x900 + (<i32>buf[i + 6])] ^ t[0x800 + (<i32>buf[i + 7])] ^
      t[0x700 + (<i32>buf[i + 8])] ^ t[0x600 + (<i32>buf[i + 9])] ^ t[0x500 + (<i32>buf[i + 10])] ^ t[0x400 + (<i32>buf[i + 11])] ^
      t[0x300 + (<i32>buf[i + 12])] ^ t[0x200 + (<i32>buf[i + 13])] ^ t[0x100 + (<i32>buf[i + 14])] ^ t[<i32>buf[i + 15]];
  }
  for (; i < end; i++) c = (c >>> 8) ^ t[(c ^ (<u32>buf[i])) & 0xff];
  return (~c) >>> 0;
}

/**
 * CRC-32C of buf[off..off+len) with the 64-byte nibble table (same result as crc32c, ~4x slower).
 * `crc` continues a previous finalized value, as in crc32cUpdate.
 */
export function crc32cSmall(buf: Uint8Array, off: i32 = 0, len: i32 = -1, crc: u32 = 0): u32 {
  const n = buf.length;
  if (off < 0) off = 0;
  if (off > n) off = n;
  if (len < 0 || len > n - off) len = n - off;
  return (~smallRaw(~crc, buf, off, off + len)) >>> 0;
}
