// The boot-state record (docs/flash.md §5.2): which slot is active (confirmed), which one is on
// trial, and what each slot holds. Two copies, on flash pages 0 and 1, each with a sequence
// number and a CRC-32C; the newer valid copy wins. A new state is written to the *other* page
// (erase, then program), so a power cut at any point leaves the previous copy intact: a torn
// write fails its CRC and is ignored. Portable subset (tsc + asc).
//
// Record (128 bytes, little-endian):
//   0  4  magic "CBST"           8  1  format (1)      9  1  active slot (0xFF none)
//   4  4  sequence u32           10 1  trial slot (0xFF none)
//   11 1  flags: bit0 STAY (next boot stays in the bootloader, once), bit1 TRIAL_STARTED
//   12 48 slot 0: state u8, 3 zero, version u32, size u32, sha256[32], security version u8,
//         manifest flags u8 (bit 0 ALLOW_DOWNGRADE), 2 zero
//   60 48 slot 1 (same)
//   108 1 minimum security version (anti-rollback: raised when an image above it is confirmed)
//   109 1 boot attempts: starts of the active slot since its last healthy signal (loader.ts)
//   110 14 zero                    124 4  CRC-32C of bytes 0..123
// Records written before the security fields existed have zeros there: minimum 0, every slot
// at security version 0, no attempt counted — they load unchanged.
import { readU32LE, writeU32LE } from '../../src/wire/bytes.ts';
import { crc32cSmall } from '../../src/framing/crc32c.ts';
import { NO_SLOT, SLOT_EMPTY, SLOT_REJECTED, SHA256_BYTES } from '../../src/flash/boot-wire.ts';
import { Flash } from './flash.ts';

export const RECORD_BYTES: i32 = 128;
export const RECORD_MAGIC: u32 = 0x54534243; // "CBST"
export const RECORD_FORMAT: u8 = 1;
export const FLAG_STAY: u8 = 1;
export const FLAG_TRIAL_STARTED: u8 = 2;
const SLOT_REC_BYTES: i32 = 48;
const MIN_SEC_OFF: i32 = 108;
const ATTEMPTS_OFF: i32 = 109;
const CRC_OFF: i32 = 124;

export class SlotRecord {
  state: u8 = SLOT_EMPTY;
  version: u32 = 0;
  imageBytes: u32 = 0;
  sha256: Uint8Array = new Uint8Array(SHA256_BYTES);
  /** The signed manifest's security version and flags (boot-wire.ts MANIFEST_FLAG_*). */
  securityVersion: u8 = 0;
  manifestFlags: u8 = 0;
}

export class BootState {
  seq: u32 = 0;
  active: u8 = NO_SLOT;
  trial: u8 = NO_SLOT;
  flags: u8 = 0;
  /** Lowest security version the device boots (monotonic but for a signed, allowed downgrade). */
  minSecurityVersion: u8 = 0;
  /** Starts of the active slot not yet followed by a healthy signal from the app (0 = healthy). */
  attempts: u8 = 0;
  s0: SlotRecord = new SlotRecord();
  s1: SlotRecord = new SlotRecord();
  /** Page (0 or 1) the current copy was read from; -1 when neither copy was valid. */
  page: i32 = -1;

  slot(i: i32): SlotRecord {
    return i == 0 ? this.s0 : this.s1;
  }
}

function writeSlotRec(s: SlotRecord, buf: Uint8Array, off: i32): void {
  buf[off] = s.state;
  buf[off + 1] = 0; buf[off + 2] = 0; buf[off + 3] = 0;
  writeU32LE(buf, off + 4, s.version);
  writeU32LE(buf, off + 8, s.imageBytes);
  for (let i = 0; i < SHA256_BYTES; i++) buf[off + 12 + i] = s.sha256[i];
  buf[off + 44] = s.securityVersion;
  buf[off + 45] = s.manifestFlags;
  buf[off + 46] = 0; buf[off + 47] = 0;
}

function readSlotRec(buf: Uint8Array, off: i32, s: SlotRecord): void {
  s.state = buf[off];
  s.version = readU32LE(buf, off + 4);
  s.imageBytes = readU32LE(buf, off + 8);
  for (let i = 0; i < SHA256_BYTES; i++) s.sha256[i] = buf[off + 12 + i];
  s.securityVersion = buf[off + 44];
  s.manifestFlags = buf[off + 45];
}

/** Serialise `st` (with its current seq) into buf[0..128). */
export function encodeRecord(st: BootState, buf: Uint8Array): void {
  writeU32LE(buf, 0, RECORD_MAGIC);
  writeU32LE(buf, 4, st.seq);
  buf[8] = RECORD_FORMAT;
  buf[9] = st.active;
  buf[10] = st.trial;
  buf[11] = st.flags;
  writeSlotRec(st.s0, buf, 12);
  writeSlotRec(st.s1, buf, 12 + SLOT_REC_BYTES);
  buf[MIN_SEC_OFF] = st.minSecurityVersion;
  buf[ATTEMPTS_OFF] = st.attempts;
  for (let i = ATTEMPTS_OFF + 1; i < CRC_OFF; i++) buf[i] = 0;
  writeU32LE(buf, CRC_OFF, crc32cSmall(buf, 0, CRC_OFF));
}

/** Check a record in buf[0..128): magic, format, CRC, slot fields in range. */
export function recordValid(buf: Uint8Array): bool {
  if (readU32LE(buf, 0) != RECORD_MAGIC || buf[8] != RECORD_FORMAT) return false;
  if (readU32LE(buf, CRC_OFF) != crc32cSmall(buf, 0, CRC_OFF)) return false;
  const a = buf[9];
  const t = buf[10];
  if ((a > 1 && a != NO_SLOT) || (t > 1 && t != NO_SLOT)) return false;
  if (buf[12] > SLOT_REJECTED || buf[12 + SLOT_REC_BYTES] > SLOT_REJECTED) return false;
  return true;
}

/** Reads and writes the record through a Flash; owns one 128-byte buffer. */
export class StateStore {
  private readonly flash: Flash;
  private readonly buf: Uint8Array = new Uint8Array(RECORD_BYTES);
  private readonly other: Uint8Array = new Uint8Array(RECORD_BYTES);

  constructor(flash: Flash) {
    this.flash = flash;
  }

  /**
   * Load the newer valid copy into `st`. Neither valid (a blank device): an empty state, seq 0,
   * page -1. Returns 0, or -ERR_BOOT_FLASH_IO when flash cannot be read.
   */
  load(st: BootState): i32 {
    const pb = this.flash.pageBytes;
    let r = this.flash.read(0, this.buf, 0, RECORD_BYTES);
    if (r < 0) return r;
    r = this.flash.read(pb, this.other, 0, RECORD_BYTES);
    if (r < 0) return r;
    const okA = recordValid(this.buf);
    const okB = recordValid(this.other);
    let use: i32 = -1;
    if (okA && okB) {
      // Serial-number arithmetic: the copy written later wins even across a u32 wrap.
      const d: i32 = <i32>((readU32LE(this.other, 4) - readU32LE(this.buf, 4)) | 0);
      use = d > 0 ? 1 : 0;
    } else if (okA) use = 0;
    else if (okB) use = 1;
    if (use < 0) {
      st.seq = 0; st.active = NO_SLOT; st.trial = NO_SLOT; st.flags = 0; st.page = -1; st.minSecurityVersion = 0; st.attempts = 0;
      st.s0.state = SLOT_EMPTY; st.s0.version = 0; st.s0.imageBytes = 0; st.s0.securityVersion = 0; st.s0.manifestFlags = 0;
      st.s1.state = SLOT_EMPTY; st.s1.version = 0; st.s1.imageBytes = 0; st.s1.securityVersion = 0; st.s1.manifestFlags = 0;
      for (let i = 0; i < SHA256_BYTES; i++) { st.s0.sha256[i] = 0; st.s1.sha256[i] = 0; }
      return 0;
    }
    const src = use == 0 ? this.buf : this.other;
    st.seq = readU32LE(src, 4);
    st.active = src[9];
    st.trial = src[10];
    st.flags = src[11];
    st.minSecurityVersion = src[MIN_SEC_OFF];
    st.attempts = src[ATTEMPTS_OFF];
    readSlotRec(src, 12, st.s0);
    readSlotRec(src, 12 + SLOT_REC_BYTES, st.s1);
    st.page = use;
    return 0;
  }

  /**
   * Write `st` as the next copy: seq + 1, on the page not holding the current copy. The previous
   * copy is untouched until this one is complete, so a power cut keeps either the old or the new
   * state. Returns 0 or -ERR_BOOT_FLASH_IO.
   */
  save(st: BootState): i32 {
    const target: i32 = st.page == 0 ? 1 : 0;
    st.seq = (st.seq + 1) >>> 0;
    encodeRecord(st, this.buf);
    let r = this.flash.erase(target);
    if (r < 0) return r;
    r = this.flash.write(target * this.flash.pageBytes, this.buf, 0, RECORD_BYTES);
    if (r < 0) return r;
    st.page = target;
    return 0;
  }
}
