// Consistent Overhead Byte Stuffing (Cheshire & Baker, IEEE/ACM ToN 7(2), 1999), the standard
// variant: code bytes 0x01..0xFF, code n = n-1 data bytes followed by an implied 0x00, except
// 0xFF = 254 data bytes with no implied zero. The last block's implied zero is not part of the
// data. Output never contains 0x00, so a 0x00 can delimit frames (see frame.ts).
// Encoding matches the Wikipedia/paper examples byte for byte: input that ends exactly on a full
// 254-byte block gets no extra trailing 0x01 code byte (01..FE -> FF 01..FE).
//
// Portable core: compiled by tsc and asc; no allocation, no exceptions, no I/O.
// Errors are returned as -code (src/wire/errors.ts).
import { ERR_FRAME_COBS, ERR_FRAME_BUFFER_TOO_SMALL } from '../wire/errors.ts';
import { copyNonZero, WORDCOPY_MIN } from './wordcopy.ts';

// True under asc, false under tsc (the trick of crc32c.ts: `<i32>0.5` converts to 0 in
// AssemblyScript and is a no-op assertion in TypeScript). asc folds it: firmware builds keep
// only the bytewise copy loop of cobsEncodeRun.
const IN_WASM: bool = <i32>0.5 == 0;
// Firmware asc builds (-Oz, shrinkLevel > 0): bytewise loops only. Speed-optimised asc builds
// (shrinkLevel 0: the Node accelerator, wasm-accel.ts) take the word-copy path like V8, where
// copyNonZero runs the wasm kernel (wasmkernels.ts). ASC_SHRINK_LEVEL is never evaluated by tsc.
const SMALL_ONLY: bool = IN_WASM && ASC_SHRINK_LEVEL != 0;

/** Worst-case COBS size of `n` bytes (no delimiter): n + floor(n/254) + 1. */
export function cobsMaxEncodedBytes(n: i32): i32 {
  return n + ((n / 254) | 0) + 1;
}

/**
 * Exact COBS size of src[srcOff..srcOff+srcLen) (no delimiter). One pass, no writes.
 * Returns -ERR_FRAME_BUFFER_TOO_SMALL when the range lies outside src.
 */
export function cobsEncodedBytes(src: Uint8Array, srcOff: i32 = 0, srcLen: i32 = -1): i32 {
  if (srcLen < 0) srcLen = src.length - srcOff;
  if (srcOff < 0 || srcLen < 0 || srcOff + srcLen > src.length) return -ERR_FRAME_BUFFER_TOO_SMALL;
  const end = srcOff + srcLen;
  let n: i32 = 1;
  let run: i32 = 0;
  for (let i = srcOff; i < end; i++) {
    n++;
    if (src[i] == 0) {
      run = 0;
    } else if (++run == 254) {
      run = 0;
      if (i + 1 < end) n++;
      else return n;
    }
  }
  return n;
}

// --- Internal incremental encoder (shared with frame.ts, which continues a block across two
// source ranges). State: `di` = next write position, `codeIdx` = position of the open block's
// code byte; the open block's code is always di - codeIdx. A run returns di and leaves codeIdx
// in this module variable (one store per run, never touched inside the loop).
let runCodeIdx: i32 = 0;

/** @internal Encode src[i..end) into an open block; caller guarantees room in dst. */
export function cobsEncodeRun(src: Uint8Array, i: i32, end: i32, dst: Uint8Array, di: i32, codeIdx: i32): i32 {
  while (i < end) {
    // Copy non-zero bytes up to the next 0x00, the end, or the byte that fills the open block
    // (254 data bytes): the inner loop has one compare per byte and no block-length check
    // (measured ~15% faster in V8 than testing the block length after every byte).
    let lim = i + (0xff - (di - codeIdx));
    if (lim > end) lim = end;
    if (SMALL_ONLY) {
      while (i < lim) {
        const b = src[i];
        if (b == 0) break;
        dst[di++] = b;
        i++;
      }
    } else {
      // V8: the first few bytes bytewise (short blocks — headers, small integers — never pay for
      // the word copy's set-up), the rest 4 bytes per step (wordcopy.ts, ~0.2-0.3 ns/B instead
      // of ~1-3 ns/B). Bytes it stores past the 0x00 land on output positions written again
      // below (from here on the output is the input with each 0x00 replaced by a code byte, at
      // the same offsets), all inside the room checked by the caller.
      let probe = i + 8;
      if (probe > lim) probe = lim;
      while (i < probe) {
        const b = src[i];
        if (b == 0) break;
        dst[di++] = b;
        i++;
      }
      if (i == probe && i < lim) {
        const c = copyNonZero(src, i, dst, di, lim - i);
        i += c;
        di += c;
      }
    }
    if (di - codeIdx == 0xff) {
      // Full block: code 0xFF, no implied zero; a new block opens (even at the end of the input:
      // cobsEncodeFinish drops it if nothing follows).
      dst[codeIdx] = 0xff;
      codeIdx = di++;
    } else if (i < end) {
      // src[i] == 0 ends the block.
      dst[codeIdx] = <u8>(di - codeIdx);
      codeIdx = di++;
      i++;
    }
  }
  runCodeIdx = codeIdx;
  return di;
}

/** @internal codeIdx left by the last cobsEncodeRun. */
export function cobsRunCodeIdx(): i32 {
  return runCodeIdx;
}

/**
 * @internal Close the open block. `lastByteNonZero`: the input was non-empty and its last byte was
 * not 0 — then an empty open block can only follow a full 0xFF block and is dropped. Returns the
 * final write position.
 */
export function cobsEncodeFinish(dst: Uint8Array, di: i32, codeIdx: i32, lastByteNonZero: bool): i32 {
  // The comparison comes first so that it is evaluated (and gets V8 type feedback) on every call:
  // behind `lastByteNonZero &&` it ran only for some callers, and frameEncode then deoptimised
  // this function the first time it got there (a recompile inside the allocation benchmark).
  const code = di - codeIdx;
  if (code == 1 && lastByteNonZero) return di - 1;
  dst[codeIdx] = <u8>code;
  return di;
}

/**
 * COBS-encode src[srcOff..srcOff+srcLen) into dst at dstOff (srcLen -1 = to the end of src).
 * Returns the bytes written (no trailing 0x00 delimiter), or -ERR_FRAME_BUFFER_TOO_SMALL when the
 * output does not fit (nothing is written then) or the source range lies outside src.
 * A dst with cobsMaxEncodedBytes(srcLen) bytes free always fits; a smaller one is checked with an
 * exact counting pass first. Cost: one pass, ~1 load + 1 store per byte. src and dst must not
 * overlap.
 */
export function cobsEncode(src: Uint8Array, dst: Uint8Array, srcOff: i32 = 0, srcLen: i32 = -1, dstOff: i32 = 0): i32 {
  if (srcLen < 0) srcLen = src.length - srcOff;
  if (srcOff < 0 || srcLen < 0 || srcOff + srcLen > src.length) return -ERR_FRAME_BUFFER_TOO_SMALL;
  if (dstOff < 0 || dstOff > dst.length) return -ERR_FRAME_BUFFER_TOO_SMALL;
  if (dst.length - dstOff < cobsMaxEncodedBytes(srcLen)) {
    if (dst.length - dstOff < cobsEncodedBytes(src, srcOff, srcLen)) return -ERR_FRAME_BUFFER_TOO_SMALL;
  }
  const end = srcOff + srcLen;
  let di = cobsEncodeRun(src, srcOff, end, dst, dstOff + 1, dstOff);
  di = cobsEncodeFinish(dst, di, runCodeIdx, srcLen > 0 && src[end - 1] != 0);
  return di - dstOff;
}

/**
 * COBS-decode src[srcOff..srcOff+srcLen) (no delimiter) into dst at dstOff (srcLen -1 = to the end
 * of src). Returns the bytes written, or
 *  -ERR_FRAME_COBS: a 0x00 byte in the input, or a block whose code runs past the end;
 *  -ERR_FRAME_BUFFER_TOO_SMALL: dst too small (dst may hold a partial result), or the source
 *   range lies outside src.
 * Empty input decodes to 0 bytes. The decoded size is at most srcLen - 1. In-place safe:
 * dst === src with dstOff <= srcOff (every write lands at or before a byte already read).
 * On an error dst may hold part of the output. Cost: one pass, ~1 load + 1 compare + 1 store
 * per byte.
 */
export function cobsDecode(src: Uint8Array, dst: Uint8Array, srcOff: i32 = 0, srcLen: i32 = -1, dstOff: i32 = 0): i32 {
  if (srcLen < 0) srcLen = src.length - srcOff;
  if (srcOff < 0 || srcLen < 0 || srcOff + srcLen > src.length) return -ERR_FRAME_BUFFER_TOO_SMALL;
  if (dstOff < 0 || dstOff > dst.length) return -ERR_FRAME_BUFFER_TOO_SMALL;
  const end = srcOff + srcLen;
  const dstEnd = dst.length;
  // The decoded size is at most srcLen - 1: with that much room, skip the per-block dst checks.
  if (dstEnd - dstOff < srcLen - 1) return cobsDecodeChecked(src, dst, srcOff, end, dstOff);
  let si = srcOff;
  let di = dstOff;
  while (si < end) {
    const code: i32 = <i32>src[si++];
    const blockEnd = si + code - 1;
    if (code == 0 || blockEnd > end) return -ERR_FRAME_COBS;
    // A 0x00 ends decoding at once: a predictable branch, measured ~10% faster in V8 than a
    // branch-free `bad |= b - 1` accumulator (and 4-byte unrolling gained too little to be
    // worth its size in firmware).
    while (si < blockEnd) {
      const b = src[si++];
      if (b == 0) return -ERR_FRAME_COBS;
      dst[di++] = b;
    }
    if (code != 0xff && si < end) dst[di++] = 0;
  }
  return di - dstOff;
}

// cobsDecode for a dst smaller than srcLen - 1 bytes: checks room before every block.
function cobsDecodeChecked(src: Uint8Array, dst: Uint8Array, srcOff: i32, end: i32, dstOff: i32): i32 {
  const dstEnd = dst.length;
  let si = srcOff;
  let di = dstOff;
  while (si < end) {
    const code: i32 = <i32>src[si++];
    const blockEnd = si + code - 1;
    if (code == 0 || blockEnd > end) return -ERR_FRAME_COBS;
    if (di + (code - 1) > dstEnd) return -ERR_FRAME_BUFFER_TOO_SMALL;
    while (si < blockEnd) {
      const b = src[si++];
      if (b == 0) return -ERR_FRAME_COBS;
      dst[di++] = b;
    }
    if (code != 0xff && si < end) {
      if (di >= dstEnd) return -ERR_FRAME_BUFFER_TOO_SMALL;
      dst[di++] = 0;
    }
  }
  return di - dstOff;
}
