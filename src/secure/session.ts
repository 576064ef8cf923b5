// One secured session between a host and a device: the session key, the two frame counters,
// replay protection and the sealing of whole Cell frames (docs/wire-format.md §7, docs/security.md).
// Portable core: compiled by tsc (the host's links) and asc (the firmware); no allocation after
// construction, errors as negative codes.
//
// A sealed frame is the frame with header flags AUTH (and ENCRYPTED when its payload is
// encrypted), the header's length grown by 12, and a trailer after the payload:
//
//   header (20, authenticated) ‖ payload (n) ‖ counter u32 LE ‖ tag (8)
//
// AEAD = ChaCha20-Poly1305 (RFC 8439 §2.8), tag cut to its first 8 bytes. AD = the 20 header bytes
// as sent, plus the payload when the frame is AUTH only (then nothing is encrypted).
// Nonce = sender direction u8 ‖ link type u8 ‖ sender node u8 ‖ receiver node u8 ‖ counter u32 LE ‖ 0 u32.
// Session key = HChaCha20(device key, host nonce[8] ‖ boot counter u32 LE ‖ session number u32 LE).
import { readU32LE, writeU32LE } from '../wire/bytes.ts';
import { FLAG_AUTH, FLAG_ENCRYPTED, HEADER_BYTES } from '../wire/header.ts';
import {
  ERR_SECURE_BAD_LENGTH, ERR_SECURE_BAD_TAG, ERR_SECURE_COUNTER_EXHAUSTED, ERR_SECURE_LOCKOUT,
  ERR_SECURE_NO_SESSION, ERR_SECURE_REPLAY,
} from '../wire/errors.ts';
import {
  SEC_TRAILER_BYTES, SEC_TAG_BYTES, SEC_KEY_BYTES, SEC_NONCE_BYTES, SEC_MAX_BAD_TAGS,
  SEC_LINK_BYTE_STREAM, SEC_HOST_NONCE_BYTES,
} from '../wire/layouts.ts';
import { aeadOpen, aeadSeal } from './aead.ts';
import { hchacha20 } from './chacha20.ts';
import { ReplayWindow, REPLAY_STRICT } from './replay.ts';

/** What a session seals with (SecureSession.aead): suite 1, any implementation giving the same bytes. */
export abstract class SessionAead {
  abstract seal(key: Uint8Array, nonce: Uint8Array, buf: Uint8Array, adOff: i32, adLen: i32, ptOff: i32, ptLen: i32, tagOff: i32, tagLen: i32): i32;
  abstract open(key: Uint8Array, nonce: Uint8Array, buf: Uint8Array, adOff: i32, adLen: i32, ctOff: i32, ctLen: i32, tagOff: i32, tagLen: i32): i32;
  /** HChaCha20 of key[keyOff, keyOff+32) and in16[0, 16) into out[0, 32): the session key (start). */
  abstract hchacha20(key: Uint8Array, keyOff: i32, in16: Uint8Array, out: Uint8Array): void;
}

/**
 * The AEAD a session seals with by default: suite 1 in the portable code (src/secure/aead.ts). The
 * host may put a subclass in `SecureSession.aead` that gives the same bytes faster for big frames
 * (Node's OpenSSL, src/transports/secure-aead.ts). The firmware passes its own SessionAead to the
 * constructor (firmware/shared/device-aead.ts): then asc compiles neither this class nor the
 * portable ChaCha20-Poly1305 behind it.
 */
export class Aead extends SessionAead {
  seal(key: Uint8Array, nonce: Uint8Array, buf: Uint8Array, adOff: i32, adLen: i32, ptOff: i32, ptLen: i32, tagOff: i32, tagLen: i32): i32 {
    return aeadSeal(key, 0, nonce, 0, buf, adOff, adLen, ptOff, ptLen, tagOff, tagLen);
  }

  open(key: Uint8Array, nonce: Uint8Array, buf: Uint8Array, adOff: i32, adLen: i32, ctOff: i32, ctLen: i32, tagOff: i32, tagLen: i32): i32 {
    return aeadOpen(key, 0, nonce, 0, buf, adOff, adLen, ctOff, ctLen, tagOff, tagLen);
  }

  hchacha20(key: Uint8Array, keyOff: i32, in16: Uint8Array, out: Uint8Array): void {
    hchacha20(key, keyOff, in16, 0, out, 0);
  }
}

/** Counters of one side's security events (plain numbers; the firmware copies them to its ops counters). */
export class SecureCounters {
  /** Sessions opened (ACCEPT sent or verified). */
  sessions: u32 = 0;
  /** Sealed frames whose tag did not verify (never line noise: the CRC catches that first). */
  badTags: u32 = 0;
  /** Sealed frames refused because their counter was not new. */
  replays: u32 = 0;
  /** Plaintext frames refused on a link that must be secured. */
  plaintextRefused: u32 = 0;
  /** Sealed frames that arrived while no session was open. */
  noSession: u32 = 0;
  /** Sessions dropped after SEC_MAX_BAD_TAGS bad tags. */
  lockouts: u32 = 0;
  /** Sealed frames shorter than their trailer, or with ENCRYPTED but not AUTH. */
  badLength: u32 = 0;
}

export class SecureSession {
  /** Whether a session key is in force. */
  open: bool = false;
  /** Direction byte of the frames this side seals (SEC_DIR_*); the peer's is the other one. */
  sendDir: u8 = 0;
  recvDir: u8 = 0;
  linkType: u8 = SEC_LINK_BYTE_STREAM;
  /** Node ids on links that have them (CAN); 0 on byte streams. */
  localNode: u8 = 0;
  peerNode: u8 = 0;
  /** Next counter this side seals with. */
  sendCounter: u32 = 0;
  /** The first counter this side may not use (the session must be renewed before). */
  sendLimit: u32 = 0xffffffff;
  /** Bad tags in this session (reset when a session opens). */
  badTags: u32 = 0;
  readonly window: ReplayWindow = new ReplayWindow();
  /** Who computes the AEAD (replaceable by an implementation that gives the same bytes). */
  aead: SessionAead;
  /**
   * Where this session counts. A link that renews its session hands the new one its own counters
   * (they are per link, not per session).
   */
  counters: SecureCounters = new SecureCounters();
  private readonly key: Uint8Array = new Uint8Array(SEC_KEY_BYTES);
  private readonly nonce: Uint8Array = new Uint8Array(SEC_NONCE_BYTES);
  private readonly kdfIn: Uint8Array = new Uint8Array(16);

  constructor(sendDir: u8, recvDir: u8, replaySize: i32, aead: SessionAead = new Aead()) {
    this.aead = aead;
    this.sendDir = sendDir;
    this.recvDir = recvDir;
    this.window.size = replaySize;
  }

  /**
   * Start a session: key = HChaCha20(deviceKey, hostNonce ‖ bootCounter ‖ sessionNo), both
   * counters from 0, the replay window emptied. Unique per (host nonce, boot counter, session
   * number): the device never repeats the last two, the host never repeats the first.
   */
  start(deviceKey: Uint8Array, keyOff: i32, hostNonce: Uint8Array, nonceOff: i32, bootCounter: u32, sessionNo: u32): void {
    const k = this.kdfIn;
    for (let i = 0; i < SEC_HOST_NONCE_BYTES; i++) k[i] = hostNonce[nonceOff + i];
    writeU32LE(k, 8, bootCounter);
    writeU32LE(k, 12, sessionNo);
    this.aead.hchacha20(deviceKey, keyOff, k, this.key);
    this.sendCounter = 0;
    this.badTags = 0;
    this.window.reset();
    this.open = true;
  }

  /** Forget the session key (a lockout, a peer restart, close). */
  end(): void {
    for (let i = 0; i < SEC_KEY_BYTES; i++) this.key[i] = 0;
    this.open = false;
  }

  private setNonce(dir: u8, from: u8, to: u8, counter: u32): void {
    const n = this.nonce;
    n[0] = dir;
    n[1] = this.linkType;
    n[2] = from;
    n[3] = to;
    writeU32LE(n, 4, counter);
    writeU32LE(n, 8, 0);
  }

  /**
   * Seal the frame at buf[off, off+len) in place: flags |= AUTH (| ENCRYPTED when `encrypt`),
   * length += 12, trailer written at off+len. The caller leaves 12 bytes of room after the frame.
   * Returns the sealed length (len + 12), or -ERR_SECURE_NO_SESSION, -ERR_SECURE_COUNTER_EXHAUSTED,
   * -ERR_SECURE_BAD_LENGTH (no room, shorter than a header).
   */
  seal(buf: Uint8Array, off: i32, len: i32, encrypt: bool): i32 {
    const counter = this.sendCounter;
    if (this.open && counter >= this.sendLimit) return -ERR_SECURE_COUNTER_EXHAUSTED;
    const n = this.sealAt(buf, off, len, encrypt, counter);
    if (n > 0) this.sendCounter = counter + 1;
    return n;
  }

  /**
   * Seal with a given counter, leaving the session's own alone. Only for resending a frame whose
   * bytes are fully determined by (key, counter) — the device's ACCEPT (counter 0) when a host
   * repeats its OPEN: the same nonce then seals the same plaintext, which reveals nothing new.
   */
  sealAt(buf: Uint8Array, off: i32, len: i32, encrypt: bool, counter: u32): i32 {
    if (!this.open) return -ERR_SECURE_NO_SESSION;
    if (off < 0 || len < HEADER_BYTES || off + len + SEC_TRAILER_BYTES > buf.length) return -ERR_SECURE_BAD_LENGTH;
    buf[off + 2] = <u8>((<u32>buf[off + 2]) | (<u32>FLAG_AUTH) | (encrypt ? <u32>FLAG_ENCRYPTED : 0));
    writeU32LE(buf, off + 16, <u32>(len - HEADER_BYTES + SEC_TRAILER_BYTES));
    const end = off + len;
    writeU32LE(buf, end, counter);
    this.setNonce(this.sendDir, this.localNode, this.peerNode, counter);
    const adLen = encrypt ? HEADER_BYTES : len;
    const ptLen = encrypt ? len - HEADER_BYTES : 0;
    const r = this.aead.seal(this.key, this.nonce, buf, off, adLen, off + adLen, ptLen, end + 4, SEC_TAG_BYTES);
    if (r < 0) return r;
    return len + SEC_TRAILER_BYTES;
  }

  /**
   * Verify and open the sealed frame at buf[off, off+len) (its header already validated by
   * readHeader, flags AUTH set) in place: on success the payload is plaintext, flags AUTH and
   * ENCRYPTED are cleared, length -= 12; returns the plain frame length (len - 12). Refusals,
   * each counted: -ERR_SECURE_NO_SESSION, -ERR_SECURE_BAD_LENGTH, -ERR_SECURE_REPLAY,
   * -ERR_SECURE_BAD_TAG, and -ERR_SECURE_LOCKOUT for the bad tag that ends the session.
   * A refused frame's bytes may be left as they were; never read them as plaintext.
   */
  unseal(buf: Uint8Array, off: i32, len: i32): i32 {
    const c = this.counters;
    if (!this.open) {
      c.noSession++;
      return -ERR_SECURE_NO_SESSION;
    }
    const flags: u32 = <u32>buf[off + 2];
    if (off < 0 || len < HEADER_BYTES + SEC_TRAILER_BYTES || off + len > buf.length || (flags & (<u32>FLAG_AUTH)) == 0) {
      c.badLength++;
      return -ERR_SECURE_BAD_LENGTH;
    }
    const end = off + len - SEC_TRAILER_BYTES;
    const counter = readU32LE(buf, end);
    if (!this.window.check(counter)) {
      c.replays++;
      return -ERR_SECURE_REPLAY;
    }
    this.setNonce(this.recvDir, this.peerNode, this.localNode, counter);
    const encrypted = (flags & (<u32>FLAG_ENCRYPTED)) != 0;
    const adLen = encrypted ? HEADER_BYTES : end - off;
    const r = this.aead.open(this.key, this.nonce, buf, off, adLen, off + adLen, end - off - adLen, end + 4, SEC_TAG_BYTES);
    if (r < 0) {
      c.badTags++;
      this.badTags++;
      if (this.badTags >= SEC_MAX_BAD_TAGS) {
        c.lockouts++;
        this.end();
        return -ERR_SECURE_LOCKOUT;
      }
      return -ERR_SECURE_BAD_TAG;
    }
    this.window.mark(counter);
    buf[off + 2] = <u8>(flags & ~((<u32>FLAG_AUTH) | (<u32>FLAG_ENCRYPTED)) & 0xff);
    writeU32LE(buf, off + 16, <u32>(end - off - HEADER_BYTES));
    return len - SEC_TRAILER_BYTES;
  }
}

/** A session with the default replay rule of a byte stream (strict). */
export function byteStreamSession(sendDir: u8, recvDir: u8): SecureSession {
  return new SecureSession(sendDir, recvDir, REPLAY_STRICT);
}
