// The device's end of link security (docs/security.md §3 "Sessions"): answers OPEN with ACCEPT,
// asks for a session with REQUEST, and seals and opens frames once a session is open. A device
// provisioned with a key answers nothing in plaintext but REQUEST and ACCEPT.
// Portable core: compiled by asc into the firmware (firmware/shared/rpc.ts) and by tsc for the
// Node device role (src/transports/secure-link.ts); no allocation after construction.
//
// The caller feeds every frame that passed deframing and readHeader to `receive`, and passes every
// frame it sends through `seal`. Boot counter and provisioning record come from the device's flash.
import { readU32LE, writeU32LE } from '../wire/bytes.ts';
import {
  CHANNEL_LINK, FLAG_AUTH, FLAG_ENCRYPTED, HEADER_BYTES, KIND_PING,
} from '../wire/header.ts';
import {
  ERR_SECURE_BAD_LENGTH, ERR_SECURE_PLAINTEXT_REFUSED, ERR_SECURE_UNSUPPORTED_SUITE, ERR_SECURE_NO_SESSION,
  ERR_SECURE_LOCKOUT,
} from '../wire/errors.ts';
import {
  LINK_OP_SEC_ACCEPT, LINK_OP_SEC_OPEN, LINK_OP_SEC_REQUEST, SEC_ACCEPT_BYTES, SEC_ACCEPT_OFF_BOOT_COUNTER,
  SEC_ACCEPT_OFF_DEVICE_ID, SEC_ACCEPT_OFF_FLAGS, SEC_ACCEPT_OFF_SESSION, SEC_ACCEPT_OFF_SUITE,
  SEC_DEVICE_ID_BYTES, SEC_DIR_DEVICE_TO_HOST, SEC_HOST_NONCE_BYTES, SEC_DIR_HOST_TO_DEVICE, SEC_KEY_BYTES, SEC_OPEN_BYTES,
  SEC_OPEN_FLAG_REKEY, SEC_OPEN_OFF_FLAGS, SEC_OPEN_OFF_HOST_NONCE, SEC_OPEN_OFF_SUITE, SEC_REQUEST_BYTES,
  SEC_REQUEST_OFF_DEVICE_ID, SEC_REQUEST_OFF_FLAGS, SEC_REQUEST_OFF_SUITE, SEC_SUITE_CHACHA20_POLY1305,
  SEC_TRAILER_BYTES,
} from '../wire/layouts.ts';
import { Aead, SecureSession, SessionAead } from './session.ts';
import { REPLAY_STRICT } from './replay.ts';
import { readProvision, ProvisionRecord } from './provision.ts';

/** Least time between two REQUESTs, so a flood of frames the device cannot read gets few answers. */
export const SEC_REQUEST_INTERVAL_MS: u32 = 200;

/** `receive` results ≥ 0 other than a frame length. */
export const SEC_CONSUMED: i32 = 0;

/** Write the header of a link-channel op frame (kind PING, channel 4, call id = op, key 0). */
export function writeSecOpHeader(buf: Uint8Array, off: i32, op: u32, flags: u8, payloadLen: i32): void {
  buf[off] = 0xce;
  buf[off + 1] = <u8>(0x10 | (<u32>KIND_PING));
  buf[off + 2] = flags;
  buf[off + 3] = CHANNEL_LINK;
  writeU32LE(buf, off + 4, op);
  writeU32LE(buf, off + 8, 0);
  writeU32LE(buf, off + 12, 0);
  writeU32LE(buf, off + 16, <u32>payloadLen);
}

/** The link-channel security op of a validated frame (LINK_OP_SEC_*), or 0 when it is not one. */
export function secOpOf(buf: Uint8Array, off: i32, len: i32): u32 {
  if (len < HEADER_BYTES || (buf[off + 1] & 0x0f) != KIND_PING || buf[off + 3] != CHANNEL_LINK) return 0;
  const op = readU32LE(buf, off + 4);
  return op == LINK_OP_SEC_REQUEST || op == LINK_OP_SEC_OPEN || op == LINK_OP_SEC_ACCEPT ? op : 0;
}

export class SecureDevice {
  /** A valid provisioning record was given: the device is secure and refuses plaintext. */
  provisioned: bool = false;
  readonly record: ProvisionRecord = new ProvisionRecord();
  /** This boot's counter (persisted by the caller before the first session; never repeats). */
  bootCounter: u32 = 0;
  /** Sessions opened in this boot: the second input that makes every session key new. */
  sessionNo: u32 = 0;
  readonly session: SecureSession;
  /** Bytes of the frame `receive` wrote to `out` for the caller to send (ACCEPT, REQUEST), else 0. */
  answerLen: i32 = 0;
  /** Set by an OPEN that is not a rekey: the RPC layer must start over (send its HELLO, sealed). */
  newSession: bool = false;
  private readonly hostNonce: Uint8Array = new Uint8Array(SEC_HOST_NONCE_BYTES);
  private lastRequestMs: u32 = 0;
  private requested: bool = false;

  /** `aead`: what the session seals with (the firmware passes the board's, firmware/shared/device-aead.ts). */
  constructor(aead: SessionAead = new Aead()) {
    this.session = new SecureSession(SEC_DIR_DEVICE_TO_HOST, SEC_DIR_HOST_TO_DEVICE, REPLAY_STRICT, aead);
  }

  /** Read the 64-byte provisioning record at buf[off..]; returns 64, or -code (then not secure). */
  provision(buf: Uint8Array, off: i32, bootCounter: u32): i32 {
    const r = readProvision(buf, off, this.record);
    this.provisioned = r > 0;
    this.bootCounter = bootCounter;
    this.sessionNo = 0;
    return r;
  }

  /**
   * Write a REQUEST frame at out[outOff..] if one is due (none within SEC_REQUEST_INTERVAL_MS,
   * `force` at boot); returns its length, or 0.
   */
  request(nowMs: u32, force: bool, out: Uint8Array, outOff: i32): i32 {
    if (!this.provisioned) return 0;
    if (!force && this.requested && nowMs - this.lastRequestMs < SEC_REQUEST_INTERVAL_MS) return 0;
    if (outOff < 0 || outOff + HEADER_BYTES + SEC_REQUEST_BYTES > out.length) return 0;
    // Only answers are rate-limited: the REQUEST at boot (forced) may have gone out before anyone
    // listened, so the first frame after it still gets one.
    if (!force) {
      this.requested = true;
      this.lastRequestMs = nowMs;
    }
    writeSecOpHeader(out, outOff, LINK_OP_SEC_REQUEST, 0, SEC_REQUEST_BYTES);
    const p = outOff + HEADER_BYTES;
    out[p + SEC_REQUEST_OFF_SUITE] = SEC_SUITE_CHACHA20_POLY1305;
    out[p + SEC_REQUEST_OFF_FLAGS] = 0;
    const id = this.record.deviceId;
    for (let i = 0; i < SEC_DEVICE_ID_BYTES; i++) out[p + SEC_REQUEST_OFF_DEVICE_ID + i] = id[i];
    return HEADER_BYTES + SEC_REQUEST_BYTES;
  }

  /**
   * A frame arrived: buf[off, off+len), header validated. Returns the plain frame's length for the
   * RPC layer (> 0), SEC_CONSUMED (a security op: see `answerLen`, `newSession`), or -code when the
   * frame is refused (counted; `answerLen` may hold a REQUEST to send). An unprovisioned device
   * passes every plaintext frame through and refuses sealed ones.
   */
  receive(buf: Uint8Array, off: i32, len: i32, nowMs: u32, out: Uint8Array, outOff: i32): i32 {
    this.answerLen = 0;
    this.newSession = false;
    const flags: u32 = <u32>buf[off + 2];
    const sealed = (flags & ((<u32>FLAG_AUTH) | (<u32>FLAG_ENCRYPTED))) != 0;
    if (!this.provisioned) {
      // Nothing to check a tag with: a sealed frame is refused unread, as before link security.
      return sealed ? -ERR_SECURE_NO_SESSION : len;
    }
    if (sealed) {
      const n = this.session.unseal(buf, off, len);
      if (n == -ERR_SECURE_NO_SESSION || n == -ERR_SECURE_LOCKOUT) this.answerLen = this.request(nowMs, false, out, outOff);
      return n;
    }
    const op = secOpOf(buf, off, len);
    if (op == LINK_OP_SEC_OPEN) return this.onOpen(buf, off, len, out, outOff);
    // Plaintext on a secure device: refused unread, and the sender is told a session is needed.
    this.session.counters.plaintextRefused++;
    this.answerLen = this.request(nowMs, false, out, outOff);
    return -ERR_SECURE_PLAINTEXT_REFUSED;
  }

  private onOpen(buf: Uint8Array, off: i32, len: i32, out: Uint8Array, outOff: i32): i32 {
    if (len != HEADER_BYTES + SEC_OPEN_BYTES) {
      this.session.counters.badLength++;
      return -ERR_SECURE_BAD_LENGTH;
    }
    const p = off + HEADER_BYTES;
    if (buf[p + SEC_OPEN_OFF_SUITE] != SEC_SUITE_CHACHA20_POLY1305) return -ERR_SECURE_UNSUPPORTED_SUITE;
    const openFlags: u8 = buf[p + SEC_OPEN_OFF_FLAGS] & SEC_OPEN_FLAG_REKEY;
    const n = HEADER_BYTES + SEC_ACCEPT_BYTES + SEC_TRAILER_BYTES;
    if (outOff < 0 || outOff + n > out.length) return -ERR_SECURE_BAD_LENGTH;
    if (this.sessionNo == 0xffffffff) return -ERR_SECURE_NO_SESSION; // 2^32 sessions in one boot: reset first
    // The host repeats an OPEN until it gets an ACCEPT: the same nonce again is a repeat, not a
    // new session. Answer it with the same ACCEPT (identical bytes) and keep the session.
    let repeat = this.session.open;
    for (let i = 0; i < SEC_HOST_NONCE_BYTES; i++) {
      if (this.hostNonce[i] != buf[p + SEC_OPEN_OFF_HOST_NONCE + i]) repeat = false;
    }
    const rekey = openFlags != 0 && this.session.open;
    if (!repeat) {
      this.sessionNo++;
      for (let i = 0; i < SEC_HOST_NONCE_BYTES; i++) this.hostNonce[i] = buf[p + SEC_OPEN_OFF_HOST_NONCE + i];
      this.session.start(this.record.key, 0, buf, p + SEC_OPEN_OFF_HOST_NONCE, this.bootCounter, this.sessionNo);
      this.session.counters.sessions++;
    }
    // ACCEPT, authenticated with the new key (its counter 0): proves the device holds the key.
    writeSecOpHeader(out, outOff, LINK_OP_SEC_ACCEPT, 0, SEC_ACCEPT_BYTES);
    const q = outOff + HEADER_BYTES;
    out[q + SEC_ACCEPT_OFF_SUITE] = SEC_SUITE_CHACHA20_POLY1305;
    out[q + SEC_ACCEPT_OFF_FLAGS] = openFlags;
    const id = this.record.deviceId;
    for (let i = 0; i < SEC_DEVICE_ID_BYTES; i++) out[q + SEC_ACCEPT_OFF_DEVICE_ID + i] = id[i];
    writeU32LE(out, q + SEC_ACCEPT_OFF_BOOT_COUNTER, this.bootCounter);
    writeU32LE(out, q + SEC_ACCEPT_OFF_SESSION, this.sessionNo);
    const m = repeat ? this.session.sealAt(out, outOff, HEADER_BYTES + SEC_ACCEPT_BYTES, false, 0)
      : this.session.seal(out, outOff, HEADER_BYTES + SEC_ACCEPT_BYTES, false);
    if (m < 0) return m;
    this.answerLen = m;
    this.newSession = !rekey && !repeat;
    return SEC_CONSUMED;
  }

  /** Seal an outgoing frame in place (12 bytes of room after it); returns its new length or -code. */
  seal(buf: Uint8Array, off: i32, len: i32): i32 {
    return this.session.seal(buf, off, len, true);
  }
}

// Keep the key length visible to readers of this file: the record's key is SEC_KEY_BYTES long.
export const SECURE_DEVICE_KEY_BYTES: i32 = SEC_KEY_BYTES;
