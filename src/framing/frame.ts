// Byte-stream frames (docs/wire-format.md "Framing"): a frame is
//   COBS(bytes ++ CRC-32C(bytes) as 4 bytes little-endian) ++ 0x00
// where `bytes` is header + payload (at least 1 byte). The 0x00 delimiter never occurs inside
// the COBS part, so a receiver resynchronises at the next 0x00 after any error (deframer.ts).
//
// Portable core: compiled by tsc and asc; no allocation (one 4-byte scratch at start-up), no
// exceptions, no I/O. Errors are returned as -code (src/wire/errors.ts).
import { ERR_FRAME_BUFFER_TOO_SMALL, ERR_FRAME_CRC, ERR_FRAME_TOO_SHORT } from '../wire/errors.ts';
import { crc32cWriteLE, crc32cMatchesLE } from './crc32c.ts';
import {
  cobsMaxEncodedBytes, cobsEncodeRun, cobsRunCodeIdx, cobsEncodeFinish, cobsDecode,
} from './cobs.ts';

/** Bytes of CRC-32C appended to every frame before COBS. */
export const FRAME_CRC_BYTES: i32 = 4;
/** The frame delimiter. */
export const FRAME_DELIMITER: u8 = 0x00;

// The 4 CRC bytes, COBS-encoded as a continuation of the source (never a copy of the source).
const crcScratch = new Uint8Array(4);

/** Worst-case encoded size of a frame carrying `n` bytes: COBS(n + 4) + the 0x00 delimiter. */
export function frameMaxEncodedBytes(n: i32): i32 {
  return cobsMaxEncodedBytes(n + FRAME_CRC_BYTES) + 1;
}

/**
 * Encode src[srcOff..srcOff+srcLen) (srcLen -1 = to the end) as one frame at dst[dstOff..].
 * Returns the bytes written including the final 0x00, or
 *  -ERR_FRAME_BUFFER_TOO_SMALL: dst has no room (nothing written) or the source range lies
 *   outside src;
 *  -ERR_FRAME_TOO_SHORT: srcLen is 0 (a frame carries at least one byte).
 * A dst with frameMaxEncodedBytes(srcLen) bytes free always fits; a smaller one is checked with an
 * exact counting pass first. Cost: one CRC pass + one COBS pass over src (~170 ns for 64 B in
 * V8 on the reference machine); src and dst must not overlap.
 */
export function frameEncode(src: Uint8Array, srcOff: i32, srcLen: i32, dst: Uint8Array, dstOff: i32): i32 {
  if (srcLen < 0) srcLen = src.length - srcOff;
  if (srcOff < 0 || srcLen < 0 || srcOff + srcLen > src.length) return -ERR_FRAME_BUFFER_TOO_SMALL;
  if (srcLen == 0) return -ERR_FRAME_TOO_SHORT;
  if (dstOff < 0 || dstOff > dst.length) return -ERR_FRAME_BUFFER_TOO_SMALL;
  const scratch = crcScratch;
  crc32cWriteLE(src, srcOff, srcLen, scratch, 0);
  const room = dst.length - dstOff;
  if (room < frameMaxEncodedBytes(srcLen)) {
    // Exact size: the COBS blocks of src ++ crc. Count src, then continue the run count over the
    // 4 CRC bytes (cheap: the slow path only runs for tight buffers).
    if (room < exactFrameBytes(src, srcOff, srcLen, scratch)) return -ERR_FRAME_BUFFER_TOO_SMALL;
  }
  const end = srcOff + srcLen;
  let di = cobsEncodeRun(src, srcOff, end, dst, dstOff + 1, dstOff);
  di = cobsEncodeRun(scratch, 0, 4, dst, di, cobsRunCodeIdx());
  di = cobsEncodeFinish(dst, di, cobsRunCodeIdx(), scratch[3] != 0);
  dst[di++] = FRAME_DELIMITER;
  return di - dstOff;
}

// Exact encoded size (with delimiter) of src[off..off+len) ++ crc[0..4).
function exactFrameBytes(src: Uint8Array, off: i32, len: i32, crc: Uint8Array): i32 {
  let n: i32 = 1;
  let run: i32 = 0;
  const total = len + 4;
  for (let k: i32 = 0; k < total; k++) {
    const b: u8 = k < len ? src[off + k] : crc[k - len];
    n++;
    if (b == 0) {
      run = 0;
    } else if (++run == 254) {
      run = 0;
      if (k + 1 < total) n++;
    }
  }
  return n + 1;
}

/**
 * Decode one complete frame src[srcOff..srcOff+srcLen) (srcLen -1 = to the end; one trailing 0x00
 * delimiter is allowed and ignored) into dst at dstOff and check its CRC. Returns the number of
 * bytes (CRC stripped), or -ERR_FRAME_COBS, -ERR_FRAME_TOO_SHORT (fewer than 1 + 4 bytes),
 * -ERR_FRAME_CRC, -ERR_FRAME_BUFFER_TOO_SMALL. dst needs room for the bytes PLUS the 4 CRC bytes
 * (they are decoded there, then checked); srcLen - 1 bytes are always enough. In-place safe
 * (dst === src, dstOff <= srcOff). For streams use Deframer, which needs no whole-frame input.
 */
export function frameDecode(src: Uint8Array, srcOff: i32, srcLen: i32, dst: Uint8Array, dstOff: i32): i32 {
  if (srcLen < 0) srcLen = src.length - srcOff;
  if (srcOff < 0 || srcLen < 0 || srcOff + srcLen > src.length) return -ERR_FRAME_BUFFER_TOO_SMALL;
  if (srcLen > 0 && src[srcOff + srcLen - 1] == FRAME_DELIMITER) srcLen--;
  const n = cobsDecode(src, dst, srcOff, srcLen, dstOff);
  if (n < 0) return n;
  if (n < FRAME_CRC_BYTES + 1) return -ERR_FRAME_TOO_SHORT;
  const len = n - FRAME_CRC_BYTES;
  if (!crc32cMatchesLE(dst, dstOff, len)) return -ERR_FRAME_CRC;
  return len;
}
