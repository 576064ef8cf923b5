// CAN transfers (docs/wire-format.md §8.3): one message cut into CAN frames and put back
// together. Every frame ends with a tail byte — start of transfer, end of transfer, toggle,
// 5-bit transfer id (Cyphal/CAN's scheme) —; a transfer that fits one frame has no CRC (the
// frame's own CRC covers it), a longer one ends with a CRC-16/CCITT-FALSE of its bytes. CAN FD
// frames come in fixed lengths (12, 16, … 64): a last frame longer than 8 bytes carries the
// number of padding bytes just before its tail, so the receiver knows where the data ends
// (our codec refuses trailing bytes, so padding cannot be left for the decoder to ignore).
//
// Portable core: compiled by tsc and asc; no callbacks, no exceptions; allocation only in the
// constructors. Errors are returned as -code (src/wire/errors.ts) and counted.
import {
  ERR_CAN_BAD_FRAME, ERR_CAN_REASSEMBLY_FULL, ERR_CAN_TRANSFER_CRC, ERR_CAN_TRANSFER_ORPHAN,
  ERR_CAN_TRANSFER_SEQUENCE, ERR_CAN_TRANSFER_TIMEOUT, ERR_CAN_TRANSFER_TOO_LONG, ERR_FRAME_BUFFER_TOO_SMALL,
} from '../wire/errors.ts';
import {
  CAN_ID_MASK, CAN_ID_PRIORITY_SHIFT, CAN_TAIL_EOT, CAN_TAIL_SOT, CAN_TAIL_TID_MASK, CAN_TAIL_TOGGLE,
  CAN_TRANSFER_CRC_BYTES,
} from '../wire/layouts.ts';

/** Data bytes of a classic frame and of the longest FD frame. */
export const CAN_CLASSIC_BYTES: i32 = 8;
export const CAN_FD_BYTES: i32 = 64;
/** What CanReassembler.push returns while a transfer still waits for frames (no error code is 1). */
export const CAN_PENDING: i32 = -1;

/** CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection; check "123456789" = 0x29B1), continued from `crc`. */
/** CRC-16/CCITT-FALSE of one nibble n at the top of the register, 16 entries (32 bytes). */
const CRC16_NIBBLE: Uint16Array = crc16NibbleTable();

function crc16NibbleTable(): Uint16Array {
  const t = new Uint16Array(16);
  for (let n: u32 = 0; n < 16; n++) {
    let v: u32 = n << 12;
    for (let k = 0; k < 4; k++) v = (v & 0x8000) != 0 ? ((v << 1) ^ 0x1021) & 0xffff : (v << 1) & 0xffff;
    t[n] = <u16>v;
  }
  return t;
}

/** CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection; check "123456789" = 0x29B1), continued from `crc`. */
export function canCrc16(crc: u32, buf: Uint8Array, off: i32, len: i32): u32 {
  let c: u32 = crc & 0xffff;
  for (let i = 0; i < len; i++) {
    const b: u32 = buf[off + i];
    c = ((c << 4) ^ (<u32>CRC16_NIBBLE[((c >>> 12) ^ (b >>> 4)) & 15])) & 0xffff;
    c = ((c << 4) ^ (<u32>CRC16_NIBBLE[((c >>> 12) ^ b) & 15])) & 0xffff;
  }
  return c;
}

/** The shortest valid FD data length ≥ n (n ≤ 64), or -1. */
export function canFdLength(n: i32): i32 {
  if (n <= 8) return n < 0 ? 0 : n;
  if (n <= 12) return 12;
  if (n <= 16) return 16;
  if (n <= 20) return 20;
  if (n <= 24) return 24;
  if (n <= 32) return 32;
  if (n <= 48) return 48;
  if (n <= 64) return 64;
  return -1;
}

/** Frames a transfer of `len` bytes takes (classic or FD): for tables and tests. */
export function canFrameCount(len: i32, fd: bool): i32 {
  const cap: i32 = fd ? CAN_FD_BYTES - 1 : CAN_CLASSIC_BYTES - 1;
  const lastCap: i32 = fd ? CAN_FD_BYTES - 2 : CAN_CLASSIC_BYTES - 1;
  if (len <= lastCap) return 1;
  let left = len + CAN_TRANSFER_CRC_BYTES;
  let n = 1;
  while (left > lastCap) { left -= cap; n++; }
  return n;
}

/**
 * Cuts one transfer into frames: begin() with the transfer's bytes — a short prefix (the compact
 * header, copied) followed by a payload (a view, not copied: keep it unchanged until done) —
 * then next() writes one frame after another into the caller's buffer.
 */
export class CanTxTransfer {
  private readonly prefix: Uint8Array = new Uint8Array(16);
  private readonly crcBytes: Uint8Array = new Uint8Array(2);
  private prefixLen: i32 = 0;
  private payload: Uint8Array = new Uint8Array(0);
  private payloadOff: i32 = 0;
  private payloadLen: i32 = 0;
  /** Bytes of the transfer, CRC included when multi-frame. */
  private total: i32 = 0;
  private pos: i32 = 0;
  private tid: u8 = 0;
  private toggle: bool = true;
  private first: bool = true;
  private ended: bool = true;
  private fd: bool = false;
  private multi: bool = false;
  /** begin() was given a range outside its buffers: next() refuses (JS would read zeros, wasm trap). */
  private bad: bool = false;

  /**
   * Start a transfer of prefix[0..prefixLen) ++ payload[off..off+len) with transfer id `tid` (0–31).
   * A prefix longer than 16 bytes is cut to 16; a range outside its buffer makes next() return
   * -ERR_CAN_BAD_FRAME (done is then true: the transfer is not sent).
   */
  begin(prefix: Uint8Array, prefixLen: i32, payload: Uint8Array, off: i32, len: i32, fd: bool, tid: i32): void {
    if (prefixLen > 16) prefixLen = 16;
    this.bad = prefixLen < 0 || prefixLen > prefix.length || off < 0 || len < 0 || len > payload.length - off;
    if (this.bad) {
      this.ended = true; // no loop on `done` can spin; next() reports the refusal
      this.prefixLen = 0;
      this.payloadLen = 0;
      return;
    }
    for (let i = 0; i < prefixLen; i++) this.prefix[i] = prefix[i];
    this.prefixLen = prefixLen;
    this.payload = payload;
    this.payloadOff = off;
    this.payloadLen = len;
    this.fd = fd;
    this.tid = <u8>(tid & CAN_TAIL_TID_MASK);
    this.toggle = true;
    this.first = true;
    this.ended = false;
    this.pos = 0;
    const n = prefixLen + len;
    const lastCap: i32 = fd ? CAN_FD_BYTES - 2 : CAN_CLASSIC_BYTES - 1;
    this.multi = n > lastCap;
    this.total = this.multi ? n + CAN_TRANSFER_CRC_BYTES : n;
    if (this.multi) {
      let crc: u32 = canCrc16(0xffff, this.prefix, 0, prefixLen);
      crc = canCrc16(crc, payload, off, len);
      this.crcBytes[0] = <u8>(crc & 0xff);
      this.crcBytes[1] = <u8>(crc >>> 8);
    }
  }

  /** True when every frame has been written (the end frame included). */
  get done(): bool {
    return this.ended;
  }

  /** Byte i of the transfer (prefix, payload, then CRC). */
  private byteAt(i: i32): u8 {
    if (i < this.prefixLen) return this.prefix[i];
    const j = i - this.prefixLen;
    if (j < this.payloadLen) return this.payload[this.payloadOff + j];
    return this.crcBytes[j - this.payloadLen];
  }

  /**
   * Write the next frame into out[outOff..) and return its data length (a valid CAN length),
   * 0 when the transfer is complete, -ERR_FRAME_BUFFER_TOO_SMALL, or -ERR_CAN_BAD_FRAME after a
   * begin() with a range outside its buffers.
   */
  next(out: Uint8Array, outOff: i32): i32 {
    if (this.bad) return -ERR_CAN_BAD_FRAME;
    if (this.done) return 0;
    const cap: i32 = this.fd ? CAN_FD_BYTES - 1 : CAN_CLASSIC_BYTES - 1;
    const lastCap: i32 = this.fd ? CAN_FD_BYTES - 2 : CAN_CLASSIC_BYTES - 1;
    const left = this.total - this.pos;
    const last = left <= lastCap;
    const data: i32 = last ? left : cap;
    let frameLen: i32 = data + 1;
    let pad: i32 = 0;
    if (last && frameLen > CAN_CLASSIC_BYTES) {
      frameLen = canFdLength(data + 2);
      pad = frameLen - data - 2;
    }
    if (outOff < 0 || frameLen > out.length - outOff) return -ERR_FRAME_BUFFER_TOO_SMALL; // no i32 overflow in wasm
    for (let i = 0; i < data; i++) out[outOff + i] = this.byteAt(this.pos + i);
    let o = outOff + data;
    if (frameLen > data + 1) {
      for (let i = 0; i < pad; i++) out[o++] = 0;
      out[o++] = <u8>pad;
    }
    let tail: u8 = this.tid;
    if (this.first) tail |= CAN_TAIL_SOT;
    if (last) tail |= CAN_TAIL_EOT;
    if (this.toggle) tail |= CAN_TAIL_TOGGLE;
    out[o] = tail;
    this.pos += data;
    this.toggle = !this.toggle;
    this.first = false;
    if (last) this.ended = true;
    return frameLen;
  }
}

/**
 * Puts transfers back together, from any number of senders at once. A transfer is keyed by its
 * CAN id (priority bits ignored: the sender's node id is part of it, so transfers of different
 * nodes never mix); a start frame opens a slot, frames must follow with alternating toggles and
 * the same transfer id, the end frame checks the CRC. Memory is fixed: `slots` buffers of
 * `maxBytes` (the largest transfer accepted, CRC included), at most `perSource` of them held by
 * one source node (a flooding node cannot starve the others), and a slot older than `timeoutMs`
 * is freed when its space is wanted or at sweep().
 *
 *   const r = new CanReassembler(8, 514, 2, 1000);
 *   const n = r.push(id, data, off, len, nowMs);  // ≥ 0: a transfer of n bytes at r.buf[r.off ..]
 */
export class CanReassembler {
  readonly slots: i32;
  readonly maxBytes: i32;
  readonly perSource: i32;
  readonly timeoutMs: f64;

  /** Where the last completed transfer is: buf[off .. off + n) (a slot, or the pushed frame itself). */
  buf: Uint8Array;
  off: i32 = 0;
  /** The transfer id of the last completed transfer. */
  tid: i32 = 0;

  // Counters (each refused frame or transfer counts once, by its code).
  transfers: u32 = 0;
  errCrc: u32 = 0;
  errSequence: u32 = 0;
  errOrphan: u32 = 0;
  errTooLong: u32 = 0;
  errFull: u32 = 0;
  errTimeout: u32 = 0;
  errBadFrame: u32 = 0;
  /** Positive code of the last error, 0 if none yet. */
  lastError: i32 = 0;

  private readonly data: Uint8Array;
  private readonly key: Uint32Array; // CAN id without priority; valid when used[i]
  private readonly used: Uint8Array;
  private readonly len: Int32Array;
  private readonly slotTid: Uint8Array;
  private readonly nextToggle: Uint8Array;
  private readonly started: Float64Array;
  /** Slots in use: push() skips the slot search while it is 0 (every one-frame transfer). */
  private openSlots: i32 = 0;

  /** slots ≥ 1, maxBytes ≥ 8, perSource 1..slots, timeoutMs > 0. Allocates slots × maxBytes once. */
  constructor(slots: i32, maxBytes: i32, perSource: i32, timeoutMs: f64) {
    if (slots < 1) slots = 1;
    if (maxBytes < 8) maxBytes = 8;
    if (perSource < 1 || perSource > slots) perSource = slots;
    this.slots = slots;
    this.maxBytes = maxBytes;
    this.perSource = perSource;
    this.timeoutMs = timeoutMs;
    const data = new Uint8Array(slots * maxBytes);
    this.data = data;
    this.buf = data; // before any read of `this` (asc: TS2564)
    this.key = new Uint32Array(slots);
    this.used = new Uint8Array(slots);
    this.len = new Int32Array(slots);
    this.slotTid = new Uint8Array(slots);
    this.nextToggle = new Uint8Array(slots);
    this.started = new Float64Array(slots);
  }

  /** Transfers in progress. */
  get open(): i32 {
    return this.openSlots;
  }

  private release(i: i32): void {
    if (this.used[i] != 0) { this.used[i] = 0; this.openSlots--; }
  }

  /** Free every slot older than timeoutMs (each counted as a timeout). */
  sweep(nowMs: f64): void {
    for (let i = 0; i < this.slots; i++) {
      if (this.used[i] != 0 && this.expired(i, nowMs)) {
        this.release(i);
        this.fail(ERR_CAN_TRANSFER_TIMEOUT);
      }
    }
  }

  /** Slot i is older than timeoutMs, or the caller's clock went back (a wrapped counter). */
  private expired(i: i32, nowMs: f64): bool {
    const age = nowMs - this.started[i];
    return age > this.timeoutMs || age < 0;
  }

  /** Drop every transfer in progress (a bus restart), uncounted. */
  reset(): void {
    for (let i = 0; i < this.slots; i++) this.used[i] = 0;
    this.openSlots = 0;
  }

  private fail(code: i32): i32 {
    this.lastError = code;
    if (code == ERR_CAN_TRANSFER_CRC) this.errCrc++;
    else if (code == ERR_CAN_TRANSFER_SEQUENCE) this.errSequence++;
    else if (code == ERR_CAN_TRANSFER_ORPHAN) this.errOrphan++;
    else if (code == ERR_CAN_TRANSFER_TOO_LONG) this.errTooLong++;
    else if (code == ERR_CAN_REASSEMBLY_FULL) this.errFull++;
    else if (code == ERR_CAN_TRANSFER_TIMEOUT) this.errTimeout++;
    else this.errBadFrame++;
    return -code;
  }

  private find(key: u32): i32 {
    if (this.openSlots == 0) return -1;
    for (let i = 0; i < this.slots; i++) if (this.used[i] != 0 && this.key[i] == key) return i;
    return -1;
  }

  /** A free slot for a new transfer of node `src`, or -1 (expired slots are reclaimed first). */
  private claim(src: u32, nowMs: f64): i32 {
    let free = -1;
    let mine = 0;
    for (let i = 0; i < this.slots; i++) {
      if (this.used[i] != 0 && this.expired(i, nowMs)) {
        this.release(i);
        this.fail(ERR_CAN_TRANSFER_TIMEOUT);
      }
      if (this.used[i] == 0) { if (free < 0) free = i; } else if ((this.key[i] & 0x7f) == src) mine++;
    }
    if (mine >= this.perSource) return -1;
    return free;
  }

  /**
   * One received frame: CAN id (29 bits) and its data `frame[off .. off+len)`. Returns n ≥ 0 when
   * it completes a transfer of n bytes (at buf[this.off ..), valid until the next push; PING and
   * its kin are transfers of 0 bytes), CAN_PENDING (-1) when more frames are due, or -code when
   * the frame (or the transfer it ended) is refused, counted.
   */
  push(id: u32, frame: Uint8Array, off: i32, len: i32, nowMs: f64): i32 {
    if (len < 1 || off < 0 || len > frame.length - off) return this.fail(ERR_CAN_BAD_FRAME); // no i32 overflow in wasm
    const tail: u8 = frame[off + len - 1];
    const sot = (tail & CAN_TAIL_SOT) != 0;
    const eot = (tail & CAN_TAIL_EOT) != 0;
    const toggle: u8 = (tail & CAN_TAIL_TOGGLE) != 0 ? 1 : 0;
    const tid: u8 = tail & CAN_TAIL_TID_MASK;
    // Data bytes: all but the tail; an end frame longer than 8 bytes also has its padding count.
    let data = len - 1;
    const key: u32 = (id & CAN_ID_MASK) & ~(<u32>7 << CAN_ID_PRIORITY_SHIFT);
    let slot = this.find(key);
    if (eot && len > CAN_CLASSIC_BYTES) {
      const pad: i32 = frame[off + len - 2];
      let badPad = pad > len - 2;
      if (!badPad) {
        data = len - 2 - pad;
        for (let i = data; i < len - 2; i++) if (frame[off + i] != 0) badPad = true;
      }
      if (badPad) {
        if (slot >= 0 && !sot) this.release(slot); // the transfer it would have ended is lost with it
        return this.fail(ERR_CAN_BAD_FRAME);
      }
    }
    if (sot) {
      if (toggle != 1) return this.fail(ERR_CAN_TRANSFER_SEQUENCE);
      if (slot >= 0) { this.release(slot); this.fail(ERR_CAN_TRANSFER_SEQUENCE); } // the previous one never ended
      if (eot) { // single frame: handed over in place, no copy
        this.buf = frame;
        this.off = off;
        this.tid = tid;
        this.transfers++;
        return data;
      }
      if (data > this.maxBytes) return this.fail(ERR_CAN_TRANSFER_TOO_LONG);
      slot = this.claim(key & 0x7f, nowMs);
      if (slot < 0) return this.fail(ERR_CAN_REASSEMBLY_FULL);
      this.used[slot] = 1;
      this.openSlots++;
      this.key[slot] = key;
      this.len[slot] = 0;
      this.slotTid[slot] = tid;
      this.started[slot] = nowMs;
    } else {
      if (slot < 0) return this.fail(ERR_CAN_TRANSFER_ORPHAN);
      if (this.slotTid[slot] != tid || this.nextToggle[slot] != toggle) {
        this.release(slot);
        return this.fail(ERR_CAN_TRANSFER_SEQUENCE);
      }
    }
    const have = this.len[slot];
    if (have + data > this.maxBytes) {
      this.release(slot);
      return this.fail(ERR_CAN_TRANSFER_TOO_LONG);
    }
    const base = slot * this.maxBytes;
    for (let i = 0; i < data; i++) this.data[base + have + i] = frame[off + i];
    this.len[slot] = have + data;
    this.nextToggle[slot] = toggle ^ 1;
    if (!eot) return CAN_PENDING;
    this.release(slot);
    const total = have + data;
    if (total < CAN_TRANSFER_CRC_BYTES) return this.fail(ERR_CAN_TRANSFER_CRC);
    const n = total - CAN_TRANSFER_CRC_BYTES;
    const crc: u32 = canCrc16(0xffff, this.data, base, n);
    const got: u32 = (<u32>this.data[base + n]) | ((<u32>this.data[base + n + 1]) << 8);
    if (crc != got) return this.fail(ERR_CAN_TRANSFER_CRC);
    this.buf = this.data;
    this.off = base;
    this.tid = tid;
    this.transfers++;
    return n;
  }
}
