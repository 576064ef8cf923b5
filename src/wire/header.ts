// The 20-byte Cell frame header (docs/wire-format.md §2 "Header").
// Portable core: compiled by tsc and asc; no allocation, no exceptions, no I/O.
//
//  off size field
//   0   1   magic 0xCE
//   1   1   version (high nibble, = 1) | kind (low nibble)
//   2   1   flags: bit0 AUTH, bit1 ENCRYPTED, bit2 MORE, bits3-5 reserved (must be 0), bits6-7 priority
//   3   1   channel: 0 app, 1 control, 2 ops, 3 boot, 4-255 free
//   4   4   call id (u32 LE)
//   8   8   method key (u64 LE, carried as two u32 halves: keyLo = bytes 8-11, keyHi = bytes 12-15)
//  16   4   payload length (u32 LE)
import { readU32LE, writeU32LE } from './bytes.ts';
import {
  ERR_WIRE_TRUNCATED, ERR_WIRE_BAD_MAGIC, ERR_WIRE_BAD_VERSION, ERR_WIRE_BAD_KIND,
  ERR_WIRE_BAD_FLAGS, ERR_WIRE_LENGTH_TOO_LARGE, ERR_WIRE_BUFFER_TOO_SMALL,
} from './errors.ts';

export const HEADER_BYTES: i32 = 20;
export const MAGIC: u8 = 0xce;
export const WIRE_VERSION: u8 = 1;

// Kinds (low nibble of byte 1). 0 and 13-15 are invalid in version 1.
export const KIND_HELLO: u8 = 1;
export const KIND_REQUEST: u8 = 2;
export const KIND_RESPONSE: u8 = 3;
export const KIND_ERROR: u8 = 4;
export const KIND_EVENT: u8 = 5;
export const KIND_STREAM_ITEM: u8 = 6;
export const KIND_STREAM_END: u8 = 7;
export const KIND_CANCEL: u8 = 8;
export const KIND_PING: u8 = 9;
export const KIND_PONG: u8 = 10;
export const KIND_CREDIT: u8 = 11;
export const KIND_GOODBYE: u8 = 12;
export const KIND_LAST: u8 = 12;

// Flags (byte 2).
export const FLAG_AUTH: u8 = 0x01;
export const FLAG_ENCRYPTED: u8 = 0x02;
export const FLAG_MORE: u8 = 0x04;
export const FLAG_RESERVED_MASK: u8 = 0x38;
export const FLAG_PRIORITY_SHIFT: u8 = 6;
export const FLAG_PRIORITY_MASK: u8 = 0xc0;

// Channels (byte 3).
export const CHANNEL_APP: u8 = 0;
export const CHANNEL_CONTROL: u8 = 1;
export const CHANNEL_OPS: u8 = 2;
export const CHANNEL_BOOT: u8 = 3;
/** Frames two links exchange (the shared-memory switch, docs/shm.md §6); never handed to rpc. */
export const CHANNEL_LINK: u8 = 4;

/** A decoded header. Reuse one instance per link: readHeader overwrites every field. */
export class Header {
  kind: u8 = 0;
  flags: u8 = 0;
  channel: u8 = 0;
  callId: u32 = 0;
  /** Method key, low 32 bits (wire bytes 8-11). */
  keyLo: u32 = 0;
  /** Method key, high 32 bits (wire bytes 12-15). */
  keyHi: u32 = 0;
  /** Payload length in bytes (not counting the header). */
  length: u32 = 0;
}

/**
 * Write `h` at `buf[off..off+20)`. Returns 20, or -ERR_WIRE_BUFFER_TOO_SMALL.
 * Writes exactly what it is given (kind and flags are not validated: the writer is trusted,
 * the reader is not). Cost: 20 byte stores.
 */
export function writeHeader(h: Header, buf: Uint8Array, off: i32): i32 {
  if (off < 0 || off + HEADER_BYTES > buf.length) return -ERR_WIRE_BUFFER_TOO_SMALL;
  buf[off] = MAGIC;
  buf[off + 1] = <u8>(((<u32>WIRE_VERSION) << 4) | ((<u32>h.kind) & 0x0f));
  buf[off + 2] = h.flags;
  buf[off + 3] = h.channel;
  writeU32LE(buf, off + 4, h.callId);
  writeU32LE(buf, off + 8, h.keyLo);
  writeU32LE(buf, off + 12, h.keyHi);
  writeU32LE(buf, off + 16, h.length);
  return HEADER_BYTES;
}

/**
 * Read and validate the header at `buf[off..off+20)`; `available` is how many bytes from `off`
 * belong to this frame (pass -1 when the payload has not arrived yet, e.g. on a stream link that
 * reads the header first). Fails, in this order, with -ERR_WIRE_TRUNCATED, -BAD_MAGIC,
 * -BAD_VERSION, -BAD_KIND, -BAD_FLAGS, -LENGTH_TOO_LARGE (length > maxPayloadBytes, or
 * header + length > available when available >= 0). Returns 20 on success; `out` is only fully
 * written on success. Cost: ~20 byte loads; no allocation.
 */
export function readHeader(buf: Uint8Array, off: i32, available: i32, maxPayloadBytes: u32, out: Header): i32 {
  const end = available < 0 ? buf.length : off + available;
  if (off < 0 || end > buf.length || end - off < HEADER_BYTES) return -ERR_WIRE_TRUNCATED;
  if (buf[off] != MAGIC) return -ERR_WIRE_BAD_MAGIC;
  const vk: u32 = <u32>buf[off + 1];
  if ((vk >>> 4) != (<u32>WIRE_VERSION)) return -ERR_WIRE_BAD_VERSION;
  const kind: u32 = vk & 0x0f;
  if (kind == 0 || kind > (<u32>KIND_LAST)) return -ERR_WIRE_BAD_KIND;
  const flags: u8 = buf[off + 2];
  if ((flags & FLAG_RESERVED_MASK) != 0) return -ERR_WIRE_BAD_FLAGS;
  const length: u32 = readU32LE(buf, off + 16);
  if (length > maxPayloadBytes) return -ERR_WIRE_LENGTH_TOO_LARGE;
  if (available >= 0 && (<u32>(available - HEADER_BYTES)) < length) return -ERR_WIRE_LENGTH_TOO_LARGE;
  out.kind = <u8>kind;
  out.flags = flags;
  out.channel = buf[off + 3];
  out.callId = readU32LE(buf, off + 4);
  out.keyLo = readU32LE(buf, off + 8);
  out.keyHi = readU32LE(buf, off + 12);
  out.length = length;
  return HEADER_BYTES;
}

/** Priority 0 (lowest) .. 3 from a flags byte. */
export function priorityOf(flags: u8): u8 {
  return <u8>(((<u32>flags) & FLAG_PRIORITY_MASK) >>> FLAG_PRIORITY_SHIFT);
}

/** The kind of the frame whose header starts at `off` (low nibble of byte 1); no checks. */
export function frameKind(buf: Uint8Array, off: i32): u8 {
  return buf[off + 1] & 0x0f;
}

/** The flags byte of the frame whose header starts at `off`; no checks. */
export function frameFlags(buf: Uint8Array, off: i32): u8 {
  return buf[off + 2];
}

/** The channel of the frame whose header starts at `off`; no checks. */
export function frameChannel(buf: Uint8Array, off: i32): u8 {
  return buf[off + 3];
}
