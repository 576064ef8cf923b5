// The boot protocol's bytes (docs/flash.md §2–§4): method keys of channel 3, the image manifest
// and every boot message, as fixed layouts, little-endian.
// Portable core: compiled by tsc (host, simulator) and asc (the bootloader, firmware/boot/).
// Decoders check lengths first and return -ERR_BOOT_BAD_REQUEST / -ERR_BOOT_BAD_MANIFEST;
// encoders write into the caller's buffer and return the byte count (or -ERR_BOOT_BAD_REQUEST
// when it does not fit). No allocation after the constructors.
//
// Why fixed keys instead of schema fingerprints: the boot protocol must work whatever schema the
// application speaks (or when it speaks none), so its keys are constants of this document, not
// derived from any cell. keyHi = "BOOT" (42 4f 4f 54), keyLo = the operation.
import { readU16LE, readU32LE, writeU16LE, writeU32LE } from '../wire/bytes.ts';
import { ERR_BOOT_BAD_MANIFEST, ERR_BOOT_BAD_REQUEST } from '../wire/errors.ts';

/** High 32 bits of every boot method key: the bytes "BOOT" (wire bytes 12–15). */
export const BOOT_KEY_HI: u32 = 0x544f4f42;
/**
 * The boot protocol this side speaks. 2 added to INFO what version 1 left zero: whether the
 * bootloader verifies signatures, its minimum security version and each slot's (docs/flash.md
 * §2.2). A host reads both versions; a version-1 host refuses a version-2 device ("update one
 * side"), since version 1 hosts check those bytes are zero.
 */
export const BOOT_PROTOCOL_VERSION: u8 = 2;
/** The oldest boot protocol a host still reads. */
export const BOOT_PROTOCOL_OLDEST: u8 = 1;

// Operations (key low 32 bits).
export const OP_INFO: u32 = 1;
export const OP_BEGIN: u32 = 2;
export const OP_CHUNK: u32 = 3;
export const OP_STATUS: u32 = 4;
export const OP_COMMIT: u32 = 5;
export const OP_CONFIRM: u32 = 6;
export const OP_RESET: u32 = 7;
export const OP_ENTER_BOOT: u32 = 8;

// INFO modes.
export const MODE_BOOTLOADER: u8 = 1;
export const MODE_APP: u8 = 2;

// Slot states (INFO, and the boot-state record of firmware/boot/state.ts).
export const SLOT_EMPTY: u8 = 0;
export const SLOT_VALID: u8 = 1;
export const SLOT_RECEIVING: u8 = 2;
export const SLOT_REJECTED: u8 = 3;
/** "No slot" in a slot field. */
export const NO_SLOT: u8 = 0xff;

// INFO flags.
export const INFO_FLAG_TRIAL_RUNNING: u8 = 1;
export const INFO_FLAG_SESSION_OPEN: u8 = 2;
/** Protocol 2: the bootloader holds a trusted publisher key and verifies every image (docs/flash.md §5.4). */
export const INFO_FLAG_VERIFIED: u8 = 4;

// Transfer session states (STATUS).
export const SESSION_NONE: u8 = 0;
export const SESSION_RECEIVING: u8 = 1;
export const SESSION_COMMITTED: u8 = 2;

export const BOARD_BYTES: i32 = 16;
export const SHA256_BYTES: i32 = 32;

// ---------------------------------------------------------------------------------------------
// Manifest (160 bytes; the signature covers bytes 0..63)

export const MANIFEST_BYTES: i32 = 160;
export const MANIFEST_SIGNED_BYTES: i32 = 64;
export const MANIFEST_MAGIC: u32 = 0x474d4943; // "CIMG"
export const MANIFEST_FORMAT: u8 = 1;
/** Byte 5: manifest flags (signed). Bit 0: the image may replace one of a higher security version. */
export const M_FLAGS: i32 = 5;
/** Byte 7: the image's security version (signed; anti-rollback, docs/flash.md §2.1). Byte 6 stays reserved. */
export const M_SECURITY_VERSION: i32 = 7;
export const MANIFEST_FLAG_ALLOW_DOWNGRADE: u8 = 1;
export const M_SIZE: i32 = 8;
export const M_VERSION: i32 = 12;
export const M_BOARD: i32 = 16;
export const M_SHA256: i32 = 32;
export const M_KEY: i32 = 64;
export const M_SIGNATURE: i32 = 96;

export class Manifest {
  imageBytes: u32 = 0;
  /** major << 24 | minor << 16 | patch. */
  version: u32 = 0;
  /** MANIFEST_FLAG_* (only ALLOW_DOWNGRADE is defined). */
  flags: u8 = 0;
  /** Security version 0..255: a device refuses an image below the minimum it has confirmed. */
  securityVersion: u8 = 0;
  board: Uint8Array = new Uint8Array(BOARD_BYTES);
  sha256: Uint8Array = new Uint8Array(SHA256_BYTES);
  /** Ed25519 public key of the signer; all zero when unsigned. */
  key: Uint8Array = new Uint8Array(32);
  /** Ed25519 signature over bytes 0..63; all zero when unsigned. */
  signature: Uint8Array = new Uint8Array(64);
}

function copyBytes(src: Uint8Array, srcOff: i32, dst: Uint8Array, dstOff: i32, n: i32): void {
  for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i];
}

function allZero(buf: Uint8Array, off: i32, n: i32): bool {
  for (let i = 0; i < n; i++) if (buf[off + i] != 0) return false;
  return true;
}

/** A board name field: printable ASCII, then only zeros. */
function boardOk(buf: Uint8Array, off: i32): bool {
  let ended = false;
  for (let i = 0; i < BOARD_BYTES; i++) {
    const c: u32 = <u32>buf[off + i];
    if (c == 0) { ended = true; continue; }
    if (ended || c < 0x21 || c > 0x7e) return false;
  }
  return buf[off] != 0;
}

/** Write `m` as 160 bytes at buf[off..). Returns 160 or -ERR_BOOT_BAD_MANIFEST (no room). */
export function encodeManifest(m: Manifest, buf: Uint8Array, off: i32): i32 {
  if (off < 0 || off + MANIFEST_BYTES > buf.length) return -ERR_BOOT_BAD_MANIFEST;
  writeU32LE(buf, off, MANIFEST_MAGIC);
  buf[off + 4] = MANIFEST_FORMAT;
  buf[off + M_FLAGS] = m.flags;
  buf[off + 6] = 0;
  buf[off + M_SECURITY_VERSION] = m.securityVersion;
  writeU32LE(buf, off + M_SIZE, m.imageBytes);
  writeU32LE(buf, off + M_VERSION, m.version);
  copyBytes(m.board, 0, buf, off + M_BOARD, BOARD_BYTES);
  copyBytes(m.sha256, 0, buf, off + M_SHA256, SHA256_BYTES);
  copyBytes(m.key, 0, buf, off + M_KEY, 32);
  copyBytes(m.signature, 0, buf, off + M_SIGNATURE, 64);
  return MANIFEST_BYTES;
}

/**
 * Read a manifest from buf[off..end). Exactly 160 bytes; magic "CIMG", format 1, no flag but
 * ALLOW_DOWNGRADE, reserved byte 6 zero, size ≥ 1, a board name (printable ASCII, zero padded).
 * Returns 160 or -ERR_BOOT_BAD_MANIFEST. The signature is not checked here (the host checks it
 * with Ed25519, and a bootloader built with a trusted key checks it again: firmware/boot/loader.ts).
 */
export function decodeManifest(buf: Uint8Array, off: i32, end: i32, out: Manifest): i32 {
  if (off < 0 || end > buf.length || end - off != MANIFEST_BYTES) return -ERR_BOOT_BAD_MANIFEST;
  if (readU32LE(buf, off) != MANIFEST_MAGIC) return -ERR_BOOT_BAD_MANIFEST;
  if (buf[off + 4] != MANIFEST_FORMAT || (buf[off + M_FLAGS] & ~MANIFEST_FLAG_ALLOW_DOWNGRADE) != 0 || buf[off + 6] != 0) return -ERR_BOOT_BAD_MANIFEST;
  const size = readU32LE(buf, off + M_SIZE);
  if (size == 0) return -ERR_BOOT_BAD_MANIFEST;
  if (!boardOk(buf, off + M_BOARD)) return -ERR_BOOT_BAD_MANIFEST;
  out.imageBytes = size;
  out.version = readU32LE(buf, off + M_VERSION);
  out.flags = buf[off + M_FLAGS];
  out.securityVersion = buf[off + M_SECURITY_VERSION];
  copyBytes(buf, off + M_BOARD, out.board, 0, BOARD_BYTES);
  copyBytes(buf, off + M_SHA256, out.sha256, 0, SHA256_BYTES);
  copyBytes(buf, off + M_KEY, out.key, 0, 32);
  copyBytes(buf, off + M_SIGNATURE, out.signature, 0, 64);
  return MANIFEST_BYTES;
}

// ---------------------------------------------------------------------------------------------
// INFO response (64 bytes)

export const INFO_BYTES: i32 = 64;
export const SLOT_INFO_BYTES: i32 = 16;

export class SlotInfo {
  state: u8 = SLOT_EMPTY;
  version: u32 = 0;
  imageBytes: u32 = 0;
  /** First 4 bytes of the image's SHA-256, as u32 LE. */
  shaPrefix: u32 = 0;
  /** Protocol 2: the image's security version (0 under protocol 1). */
  securityVersion: u8 = 0;
}

export class BootInfo {
  protocol: u8 = BOOT_PROTOCOL_VERSION;
  mode: u8 = MODE_BOOTLOADER;
  bootloaderVersion: u16 = 0;
  board: Uint8Array = new Uint8Array(BOARD_BYTES);
  maxImageBytes: u32 = 0;
  chunkBytes: u16 = 0;
  /** CHUNK requests the host may have in flight. */
  window: u8 = 1;
  runningSlot: u8 = NO_SLOT;
  activeSlot: u8 = NO_SLOT;
  trialSlot: u8 = NO_SLOT;
  flags: u8 = 0;
  /** Protocol 2: the lowest security version the device still boots (0 under protocol 1). */
  minSecurityVersion: u8 = 0;
  slot0: SlotInfo = new SlotInfo();
  slot1: SlotInfo = new SlotInfo();
}

function writeSlot(s: SlotInfo, buf: Uint8Array, off: i32, protocol: u8): void {
  buf[off] = s.state;
  buf[off + 1] = protocol >= 2 ? s.securityVersion : 0;
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  writeU32LE(buf, off + 4, s.version);
  writeU32LE(buf, off + 8, s.imageBytes);
  writeU32LE(buf, off + 12, s.shaPrefix);
}

function readSlot(buf: Uint8Array, off: i32, s: SlotInfo, protocol: u8): bool {
  const st = buf[off];
  if (st > SLOT_REJECTED) return false;
  if (protocol < 2 ? !allZero(buf, off + 1, 3) : !allZero(buf, off + 2, 2)) return false;
  s.state = st;
  s.securityVersion = protocol < 2 ? 0 : buf[off + 1];
  s.version = readU32LE(buf, off + 4);
  s.imageBytes = readU32LE(buf, off + 8);
  s.shaPrefix = readU32LE(buf, off + 12);
  return true;
}

export function encodeInfo(v: BootInfo, buf: Uint8Array, off: i32): i32 {
  if (off < 0 || off + INFO_BYTES > buf.length) return -ERR_BOOT_BAD_REQUEST;
  buf[off] = v.protocol;
  buf[off + 1] = v.mode;
  writeU16LE(buf, off + 2, v.bootloaderVersion);
  copyBytes(v.board, 0, buf, off + 4, BOARD_BYTES);
  writeU32LE(buf, off + 20, v.maxImageBytes);
  writeU16LE(buf, off + 24, v.chunkBytes);
  buf[off + 26] = v.window;
  buf[off + 27] = v.runningSlot;
  buf[off + 28] = v.activeSlot;
  buf[off + 29] = v.trialSlot;
  buf[off + 30] = v.flags;
  buf[off + 31] = v.protocol >= 2 ? v.minSecurityVersion : 0;
  writeSlot(v.slot0, buf, off + 32, v.protocol);
  writeSlot(v.slot1, buf, off + 32 + SLOT_INFO_BYTES, v.protocol);
  return INFO_BYTES;
}

/** A slot field: 0, 1 or NO_SLOT. */
function slotFieldOk(s: u8): bool {
  return s == 0 || s == 1 || s == NO_SLOT;
}

export function decodeInfo(buf: Uint8Array, off: i32, end: i32, v: BootInfo): i32 {
  if (off < 0 || end > buf.length || end - off != INFO_BYTES) return -ERR_BOOT_BAD_REQUEST;
  const mode = buf[off + 1];
  if (mode != MODE_BOOTLOADER && mode != MODE_APP) return -ERR_BOOT_BAD_REQUEST;
  if (!slotFieldOk(buf[off + 27]) || !slotFieldOk(buf[off + 28]) || !slotFieldOk(buf[off + 29])) return -ERR_BOOT_BAD_REQUEST;
  // Protocol 1 left flag bits 2–7 and byte 31 zero; 2 uses bit 2 and byte 31. A later protocol is
  // read by version 2's rules, so that the host can say which version the device speaks.
  const protocol = buf[off];
  if (protocol < 2 ? (buf[off + 30] & 0xfc) != 0 || buf[off + 31] != 0 : (buf[off + 30] & 0xf8) != 0) return -ERR_BOOT_BAD_REQUEST;
  if (buf[off + 26] == 0) return -ERR_BOOT_BAD_REQUEST;
  if (!boardOk(buf, off + 4)) return -ERR_BOOT_BAD_REQUEST;
  if (!readSlot(buf, off + 32, v.slot0, protocol) || !readSlot(buf, off + 32 + SLOT_INFO_BYTES, v.slot1, protocol)) return -ERR_BOOT_BAD_REQUEST;
  v.protocol = protocol;
  v.mode = mode;
  v.bootloaderVersion = <u16>readU16LE(buf, off + 2);
  copyBytes(buf, off + 4, v.board, 0, BOARD_BYTES);
  v.maxImageBytes = readU32LE(buf, off + 20);
  v.chunkBytes = <u16>readU16LE(buf, off + 24);
  v.window = buf[off + 26];
  v.runningSlot = buf[off + 27];
  v.activeSlot = buf[off + 28];
  v.trialSlot = buf[off + 29];
  v.flags = buf[off + 30];
  v.minSecurityVersion = protocol < 2 ? 0 : buf[off + 31];
  return INFO_BYTES;
}

// ---------------------------------------------------------------------------------------------
// Small fixed answers (8 bytes each) and the CHUNK request header

/** BEGIN response: slot u8, resumed u8 (0/1), chunkBytes u16, chunkCount u16, chunksReceived u16. */
export const BEGIN_RES_BYTES: i32 = 8;
/** CHUNK request: offset u32, crc32c u32 of the data, then the data (1..chunkBytes bytes). */
export const CHUNK_HEAD_BYTES: i32 = 8;
/** CHUNK response: offset u32, chunksReceived u16, chunkCount u16. */
export const CHUNK_RES_BYTES: i32 = 8;
/** COMMIT and CONFIRM responses: slot u8, 3 reserved zero bytes, version u32. */
export const SLOT_RES_BYTES: i32 = 8;
/** STATUS response head: state u8, slot u8, chunkBytes u16, imageBytes u32, chunkCount u16,
 *  chunksReceived u16; then the received bitmap (bit i of byte i/8 = chunk i), ceil(count/8) bytes. */
export const STATUS_HEAD_BYTES: i32 = 12;

export class Answer {
  slot: u8 = 0;
  resumed: u8 = 0;
  state: u8 = 0;
  chunkBytes: u16 = 0;
  chunkCount: u16 = 0;
  chunksReceived: u16 = 0;
  offset: u32 = 0;
  imageBytes: u32 = 0;
  version: u32 = 0;
}

export function encodeBeginRes(a: Answer, buf: Uint8Array, off: i32): i32 {
  if (off < 0 || off + BEGIN_RES_BYTES > buf.length) return -ERR_BOOT_BAD_REQUEST;
  buf[off] = a.slot;
  buf[off + 1] = a.resumed;
  writeU16LE(buf, off + 2, a.chunkBytes);
  writeU16LE(buf, off + 4, a.chunkCount);
  writeU16LE(buf, off + 6, a.chunksReceived);
  return BEGIN_RES_BYTES;
}

export function decodeBeginRes(buf: Uint8Array, off: i32, end: i32, a: Answer): i32 {
  if (off < 0 || end > buf.length || end - off != BEGIN_RES_BYTES) return -ERR_BOOT_BAD_REQUEST;
  if (buf[off] > 1 || buf[off + 1] > 1) return -ERR_BOOT_BAD_REQUEST;
  a.slot = buf[off];
  a.resumed = buf[off + 1];
  a.chunkBytes = <u16>readU16LE(buf, off + 2);
  a.chunkCount = <u16>readU16LE(buf, off + 4);
  a.chunksReceived = <u16>readU16LE(buf, off + 6);
  if (a.chunkBytes == 0 || a.chunksReceived > a.chunkCount) return -ERR_BOOT_BAD_REQUEST;
  return BEGIN_RES_BYTES;
}

export function encodeChunkRes(a: Answer, buf: Uint8Array, off: i32): i32 {
  if (off < 0 || off + CHUNK_RES_BYTES > buf.length) return -ERR_BOOT_BAD_REQUEST;
  writeU32LE(buf, off, a.offset);
  writeU16LE(buf, off + 4, a.chunksReceived);
  writeU16LE(buf, off + 6, a.chunkCount);
  return CHUNK_RES_BYTES;
}

export function decodeChunkRes(buf: Uint8Array, off: i32, end: i32, a: Answer): i32 {
  if (off < 0 || end > buf.length || end - off != CHUNK_RES_BYTES) return -ERR_BOOT_BAD_REQUEST;
  a.offset = readU32LE(buf, off);
  a.chunksReceived = <u16>readU16LE(buf, off + 4);
  a.chunkCount = <u16>readU16LE(buf, off + 6);
  if (a.chunksReceived > a.chunkCount) return -ERR_BOOT_BAD_REQUEST;
  return CHUNK_RES_BYTES;
}

export function encodeSlotRes(a: Answer, buf: Uint8Array, off: i32): i32 {
  if (off < 0 || off + SLOT_RES_BYTES > buf.length) return -ERR_BOOT_BAD_REQUEST;
  buf[off] = a.slot;
  buf[off + 1] = 0;
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  writeU32LE(buf, off + 4, a.version);
  return SLOT_RES_BYTES;
}

export function decodeSlotRes(buf: Uint8Array, off: i32, end: i32, a: Answer): i32 {
  if (off < 0 || end > buf.length || end - off != SLOT_RES_BYTES) return -ERR_BOOT_BAD_REQUEST;
  if (buf[off] > 1 || !allZero(buf, off + 1, 3)) return -ERR_BOOT_BAD_REQUEST;
  a.slot = buf[off];
  a.version = readU32LE(buf, off + 4);
  return SLOT_RES_BYTES;
}

/** Bytes of a received-chunks bitmap for `count` chunks. */
export function bitmapBytes(count: i32): i32 {
  return (count + 7) >>> 3;
}

/** STATUS head; the caller writes the bitmap after it (bitmapBytes(chunkCount) bytes). */
export function encodeStatusHead(a: Answer, buf: Uint8Array, off: i32): i32 {
  if (off < 0 || off + STATUS_HEAD_BYTES > buf.length) return -ERR_BOOT_BAD_REQUEST;
  buf[off] = a.state;
  buf[off + 1] = a.slot;
  writeU16LE(buf, off + 2, a.chunkBytes);
  writeU32LE(buf, off + 4, a.imageBytes);
  writeU16LE(buf, off + 8, a.chunkCount);
  writeU16LE(buf, off + 10, a.chunksReceived);
  return STATUS_HEAD_BYTES;
}

/** STATUS: the head, and checks that exactly the bitmap follows. Returns the head's 12 bytes. */
export function decodeStatusHead(buf: Uint8Array, off: i32, end: i32, a: Answer): i32 {
  if (off < 0 || end > buf.length || end - off < STATUS_HEAD_BYTES) return -ERR_BOOT_BAD_REQUEST;
  const state = buf[off];
  if (state > SESSION_COMMITTED || !slotFieldOk(buf[off + 1])) return -ERR_BOOT_BAD_REQUEST;
  const count: i32 = <i32>readU16LE(buf, off + 8);
  if (end - off != STATUS_HEAD_BYTES + bitmapBytes(count)) return -ERR_BOOT_BAD_REQUEST;
  a.state = state;
  a.slot = buf[off + 1];
  a.chunkBytes = <u16>readU16LE(buf, off + 2);
  a.imageBytes = readU32LE(buf, off + 4);
  a.chunkCount = <u16>count;
  a.chunksReceived = <u16>readU16LE(buf, off + 10);
  if (a.chunksReceived > a.chunkCount) return -ERR_BOOT_BAD_REQUEST;
  return STATUS_HEAD_BYTES;
}
