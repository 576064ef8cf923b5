// The portable bootloader (docs/flash.md §4–§5): the boot decision (which slot runs after a
// reset: trial once, then confirmed or rolled back) and the boot protocol on channel 3 (INFO,
// BEGIN, CHUNK, STATUS, COMMIT, CONFIRM, RESET, ENTER_BOOT), over an abstract Flash.
// Portable subset (tsc + asc): no I/O of its own — the caller feeds request frames (header +
// payload, already deframed) and sends the answer frame this writes; no clock; no allocation
// after the constructor. The same class serves in both modes:
//   bootloader mode  every operation;
//   app mode         the resident boot service of a running app: INFO, CONFIRM, RESET,
//                    ENTER_BOOT; the rest fail BootNotInBootMode (707).
// After handle(), `action` says whether the caller must reset the device once the answer left.
import {
  Header, HEADER_BYTES, readHeader, writeHeader, KIND_REQUEST, KIND_RESPONSE, KIND_ERROR, KIND_PING,
  KIND_PONG, CHANNEL_BOOT,
} from '../../src/wire/header.ts';
import { readU32LE, writeU16LE } from '../../src/wire/bytes.ts';
import { crc32cSmall } from '../../src/framing/crc32c.ts';
import { ERROR_OFF_CODE, ERROR_OFF_MESSAGE_LEN, ERROR_HEAD_BYTES } from '../../src/wire/layouts.ts';
import {
  ERR_BOOT_BAD_REQUEST, ERR_BOOT_CHUNK_CRC, ERR_BOOT_IMAGE_TOO_LARGE, ERR_BOOT_WRONG_BOARD,
  ERR_BOOT_HASH_MISMATCH, ERR_BOOT_NO_SESSION, ERR_BOOT_INCOMPLETE, ERR_BOOT_NOT_IN_BOOT_MODE,
  ERR_BOOT_BAD_OFFSET, ERR_BOOT_NO_TRIAL, ERR_RPC_UNKNOWN_METHOD, ERR_BOOT_UNSIGNED, ERR_BOOT_BAD_SIGNATURE,
  ERR_BOOT_UNTRUSTED_KEY, ERR_BOOT_ROLLBACK,
} from '../../src/wire/errors.ts';
import {
  BOOT_KEY_HI, OP_INFO, OP_BEGIN, OP_CHUNK, OP_STATUS, OP_COMMIT, OP_CONFIRM, OP_RESET, OP_ENTER_BOOT,
  MODE_BOOTLOADER, MODE_APP, SLOT_EMPTY, SLOT_VALID, SLOT_RECEIVING, SLOT_REJECTED, NO_SLOT,
  INFO_FLAG_TRIAL_RUNNING, INFO_FLAG_SESSION_OPEN, INFO_FLAG_VERIFIED, SESSION_NONE, SESSION_RECEIVING, SESSION_COMMITTED,
  BOARD_BYTES, SHA256_BYTES, CHUNK_HEAD_BYTES, MANIFEST_BYTES, MANIFEST_SIGNED_BYTES, MANIFEST_FLAG_ALLOW_DOWNGRADE,
  BootInfo, SlotInfo, Manifest, Answer,
  decodeManifest, encodeInfo, encodeBeginRes, encodeChunkRes, encodeSlotRes, encodeStatusHead, bitmapBytes,
} from '../../src/flash/boot-wire.ts';
import { Flash, BootLayout } from './flash.ts';
import { BootState, StateStore, SlotRecord, FLAG_STAY, FLAG_TRIAL_STARTED } from './state.ts';
import { Sha256 } from './sha256.ts';
import { Verifier } from './verify.ts';

export const ACTION_NONE: i32 = 0;
/** Reset the device after sending the answer (RESET, ENTER_BOOT). */
export const ACTION_RESET: i32 = 1;

/** boot(): no slot to run — stay in the bootloader. */
export const BOOT_STAY: i32 = -1;

/** Most chunks a transfer can have (the received bitmap is fixed-size). */
export const MAX_CHUNKS: i32 = 2048;

export class BootConfig {
  board: Uint8Array = new Uint8Array(BOARD_BYTES);
  bootloaderVersion: u16 = 1;
  /** Image bytes per CHUNK (the last one may be shorter). */
  chunkBytes: i32 = 1024;
  /** CHUNK requests the host may keep in flight (the device handles frames in order). */
  window: u8 = 4;
  /**
   * The publisher key this bootloader trusts (a build-time constant on a board). All zero: a
   * development bootloader that checks no signature (unsigned images install, as with
   * `cell flash --insecure`); otherwise only images signed by exactly this key are accepted.
   */
  trustedKey: Uint8Array = new Uint8Array(32);
  /**
   * Starts the active (confirmed) slot gets without a healthy signal from the app (healthy())
   * before boot() gives it up: the other slot if it verifies, else the bootloader. 0: no limit
   * (and no record write per boot).
   */
  maxAttempts: u8 = 3;

  /** A trusted key is set: signatures are required. */
  keyed(): bool {
    for (let i = 0; i < 32; i++) if (this.trustedKey[i] != 0) return true;
    return false;
  }
}

export class Bootloader {
  readonly flash: Flash;
  readonly layout: BootLayout;
  readonly config: BootConfig;
  readonly verifier: Verifier;
  readonly state: BootState = new BootState();
  /** MODE_BOOTLOADER or MODE_APP (set by the caller after boot()). */
  mode: u8 = MODE_BOOTLOADER;
  /** Slot the running app came from (app mode), NO_SLOT in the bootloader. */
  running: u8 = NO_SLOT;
  /** What the caller must do after sending the answer of the last handle(). */
  action: i32 = ACTION_NONE;
  /** Requests that did not decode, or failed (counted, never thrown). */
  errors: u32 = 0;

  private readonly store: StateStore;
  private readonly sha: Sha256 = new Sha256();
  private readonly page: Uint8Array;
  private readonly digest: Uint8Array = new Uint8Array(SHA256_BYTES);
  private readonly h: Header = new Header();
  private readonly oh: Header = new Header();
  private readonly info: BootInfo = new BootInfo();
  private readonly ans: Answer = new Answer();
  private readonly m: Manifest = new Manifest();
  private readonly bitmap: Uint8Array = new Uint8Array(MAX_CHUNKS / 8);

  // The transfer session (RAM only: a reset ends it; docs/flash.md §4.4).
  session: u8 = SESSION_NONE;
  private target: i32 = 0;
  private imageBytes: u32 = 0;
  private version: u32 = 0;
  private chunkCount: i32 = 0;
  private received: i32 = 0;
  private readonly sessionSha: Uint8Array = new Uint8Array(SHA256_BYTES);
  /** The session's manifest as received (checked again before COMMIT). */
  private readonly sessionManifest: Uint8Array = new Uint8Array(MANIFEST_BYTES);
  private readonly sm: Manifest = new Manifest();

  constructor(flash: Flash, layout: BootLayout, config: BootConfig, verifier: Verifier = new Verifier()) {
    this.flash = flash;
    this.layout = layout;
    this.config = config;
    this.verifier = verifier;
    this.store = new StateStore(flash);
    this.page = new Uint8Array(layout.pageBytes);
  }

  /** Largest image a slot holds. */
  maxImageBytes(): i32 {
    return this.layout.slotBytes();
  }

  // -------------------------------------------------------------------------------------------
  // Boot decision

  /** SHA-256 of slot `slot`'s first `n` bytes into `digest`. 0 or -ERR_BOOT_FLASH_IO. */
  private hashSlot(slot: i32, n: i32): i32 {
    const sha = this.sha;
    sha.init();
    const base = this.layout.slotAddr(slot);
    const pb = this.layout.pageBytes;
    for (let off = 0; off < n; off += pb) {
      const k = n - off < pb ? n - off : pb;
      const r = this.flash.read(base + off, this.page, 0, k);
      if (r < 0) return r;
      sha.update(this.page, 0, k);
    }
    sha.final(this.digest, 0);
    return 0;
  }

  /**
   * May this slot run, by its security version? At or above the device's minimum; below it only
   * as the trial of a signed downgrade (MANIFEST_FLAG_ALLOW_DOWNGRADE), which CONFIRM then makes
   * the new minimum.
   */
  securityOk(slot: i32): bool {
    const st = this.state;
    const s = st.slot(slot);
    if (s.securityVersion >= st.minSecurityVersion) return true;
    return st.trial == <u8>slot && (s.manifestFlags & MANIFEST_FLAG_ALLOW_DOWNGRADE) != 0;
  }

  /** The slot record says VALID, its security version may run, and the flash holds exactly that image. */
  verifySlot(slot: i32): bool {
    const s = this.state.slot(slot);
    if (s.state != SLOT_VALID || s.imageBytes == 0 || <i32>s.imageBytes > this.maxImageBytes()) return false;
    if (!this.securityOk(slot)) return false;
    if (this.hashSlot(slot, <i32>s.imageBytes) < 0) return false;
    for (let i = 0; i < SHA256_BYTES; i++) if (this.digest[i] != s.sha256[i]) return false;
    return true;
  }

  /**
   * After a reset: decide which slot runs, writing the state record where the decision changes
   * it. Returns the slot (0/1) to hand over to, or BOOT_STAY (enter the bootloader: asked to by
   * ENTER_BOOT, or no valid image). Order: STAY flag (cleared: it holds for one boot) → a trial
   * that already started and was not confirmed is rolled back → a pending trial starts (flag
   * written before the jump, so it runs at most once) → the active slot, its start counted
   * (written before the jump) unless it already had maxAttempts starts without a healthy signal:
   * then it is rejected → the other valid slot (one start counted) → the bootloader.
   */
  boot(): i32 {
    const st = this.state;
    this.session = SESSION_NONE;
    this.mode = MODE_BOOTLOADER;
    this.running = NO_SLOT;
    if (this.store.load(st) < 0) return BOOT_STAY;
    if ((st.flags & FLAG_STAY) != 0) {
      st.flags = st.flags & ~FLAG_STAY;
      this.store.save(st);
      return BOOT_STAY;
    }
    if (st.trial != NO_SLOT) {
      const t: i32 = <i32>st.trial;
      if ((st.flags & FLAG_TRIAL_STARTED) == 0 && this.verifySlot(t)) {
        st.flags = st.flags | FLAG_TRIAL_STARTED;
        if (this.store.save(st) < 0) return BOOT_STAY;
        return t;
      }
      // Started once and never confirmed (or unreadable): roll back.
      st.slot(t).state = SLOT_REJECTED;
      st.trial = NO_SLOT;
      st.flags = st.flags & ~FLAG_TRIAL_STARTED;
      if (this.store.save(st) < 0) return BOOT_STAY;
    }
    const max: u8 = this.config.maxAttempts;
    let gaveUp = false;
    if (st.active != NO_SLOT && this.verifySlot(<i32>st.active)) {
      const a: i32 = <i32>st.active;
      if (max == 0) return a;
      if (st.attempts < max) {
        st.attempts = st.attempts + 1;
        if (this.store.save(st) < 0) return BOOT_STAY;
        return a;
      }
      // Started `max` times and never healthy (faults, hangs, resets before it gets going): give
      // it up as a failed trial is given up. Saved together with the fallback below (one write).
      st.slot(a).state = SLOT_REJECTED;
      st.active = NO_SLOT;
      st.attempts = 0;
      gaveUp = true;
    }
    for (let s = 0; s < 2; s++) {
      if (s != <i32>st.active && this.verifySlot(s)) {
        st.active = <u8>s;
        st.attempts = max == 0 ? 0 : 1;
        if (this.store.save(st) < 0) return BOOT_STAY;
        return s;
      }
    }
    if (gaveUp) this.store.save(st);
    return BOOT_STAY;
  }

  /**
   * The running app says it works (docs/flash.md §5.5: the app's main loop got going): the
   * active slot's start count goes back to 0 (one record write, none when it already is 0). A
   * trial is not affected (it needs CONFIRM). 0 or -code.
   */
  healthy(): i32 {
    const st = this.state;
    if (this.mode != MODE_APP || this.running == NO_SLOT || this.running != st.active || st.attempts == 0) return 0;
    st.attempts = 0;
    return this.store.save(st);
  }

  /**
   * Before the recovery window (docs/flash.md §5.6): load the record, so a frame in the window is
   * answered from it, and roll back a trial that started and was never confirmed (what boot()
   * would do first), so INFO shows what the device would boot. 0 or -code.
   */
  prepare(): i32 {
    const st = this.state;
    this.session = SESSION_NONE;
    this.mode = MODE_BOOTLOADER;
    this.running = NO_SLOT;
    const r = this.store.load(st);
    if (r < 0) return r;
    if (st.trial != NO_SLOT && (st.flags & FLAG_TRIAL_STARTED) != 0) {
      st.slot(<i32>st.trial).state = SLOT_REJECTED;
      st.trial = NO_SLOT;
      st.flags = st.flags & ~FLAG_TRIAL_STARTED;
      return this.store.save(st);
    }
    return 0;
  }

  /**
   * A frame arrived in the recovery window: the device stays in the bootloader (boot() is not
   * called). A pending STAY flag is spent now (it would otherwise hold the next boot too). 0 or -code.
   */
  hold(): i32 {
    const st = this.state;
    if ((st.flags & FLAG_STAY) == 0) return 0;
    st.flags = st.flags & ~FLAG_STAY;
    return this.store.save(st);
  }

  /** The caller handed over to `slot` (app mode from now on, until the next boot()). */
  enterApp(slot: i32): void {
    this.mode = MODE_APP;
    this.running = <u8>slot;
  }

  /**
   * The running app is healthy: a trial becomes the active slot, and the minimum security version
   * follows it — raised to the trial's, or lowered to it for a signed downgrade. 0 or -code.
   */
  confirm(): i32 {
    const st = this.state;
    if (this.mode != MODE_APP || st.trial == NO_SLOT || st.trial != this.running || (st.flags & FLAG_TRIAL_STARTED) == 0) {
      return -ERR_BOOT_NO_TRIAL;
    }
    const t: i32 = <i32>st.trial;
    if (!this.securityOk(t)) return -ERR_BOOT_ROLLBACK;
    const s = st.slot(t);
    if (s.securityVersion > st.minSecurityVersion || (s.manifestFlags & MANIFEST_FLAG_ALLOW_DOWNGRADE) != 0) {
      st.minSecurityVersion = s.securityVersion;
    }
    st.active = st.trial;
    st.trial = NO_SLOT;
    st.flags = st.flags & ~FLAG_TRIAL_STARTED;
    st.attempts = 0;
    return this.store.save(st);
  }

  // -------------------------------------------------------------------------------------------
  // Protocol

  /**
   * Handle one frame (header + payload at req[0..len)). Writes the answer frame into `out` and
   * returns its length, or 0 when nothing is to be sent (not a boot request). Sets `action`.
   */
  handle(req: Uint8Array, len: i32, out: Uint8Array): i32 {
    this.action = ACTION_NONE;
    const h = this.h;
    if (readHeader(req, 0, len, <u32>(out.length - HEADER_BYTES), h) < 0) { this.errors++; return 0; }
    if (h.channel != CHANNEL_BOOT) return 0;
    if (h.kind == KIND_PING) return this.answer(KIND_PONG, 0, out);
    if (h.kind != KIND_REQUEST) return 0;
    if (h.keyHi != BOOT_KEY_HI) return this.fail(ERR_RPC_UNKNOWN_METHOD, out);
    const p = HEADER_BYTES;
    const end = len;
    const op = h.keyLo;
    let n: i32 = -ERR_RPC_UNKNOWN_METHOD;
    if (op == OP_INFO) n = end == p ? this.opInfo(out) : -ERR_BOOT_BAD_REQUEST;
    else if (op == OP_CONFIRM) n = end == p ? this.opConfirm(out) : -ERR_BOOT_BAD_REQUEST;
    else if (op == OP_RESET) {
      if (end != p) n = -ERR_BOOT_BAD_REQUEST;
      else { n = 0; this.action = ACTION_RESET; }
    } else if (op == OP_ENTER_BOOT) n = end == p ? this.opEnterBoot() : -ERR_BOOT_BAD_REQUEST;
    else if (op == OP_BEGIN || op == OP_CHUNK || op == OP_STATUS || op == OP_COMMIT) {
      if (this.mode != MODE_BOOTLOADER) n = -ERR_BOOT_NOT_IN_BOOT_MODE;
      else if (op == OP_BEGIN) n = this.opBegin(req, p, end, out);
      else if (op == OP_CHUNK) n = this.opChunk(req, p, end, out);
      else if (op == OP_STATUS) n = end == p ? this.opStatus(out) : -ERR_BOOT_BAD_REQUEST;
      else n = end == p ? this.opCommit(out) : -ERR_BOOT_BAD_REQUEST;
    }
    if (n < 0) return this.fail(-n, out);
    return this.answer(KIND_RESPONSE, n, out);
  }

  /** Header for an answer to the request in `h` with `n` payload bytes already at out[20..). */
  private answer(kind: u8, n: i32, out: Uint8Array): i32 {
    const oh = this.oh;
    const h = this.h;
    oh.kind = kind;
    oh.flags = 0;
    oh.channel = CHANNEL_BOOT;
    oh.callId = h.callId;
    oh.keyLo = kind == KIND_PONG ? 0 : h.keyLo;
    oh.keyHi = kind == KIND_PONG ? 0 : h.keyHi;
    oh.length = <u32>n;
    writeHeader(oh, out, 0);
    return HEADER_BYTES + n;
  }

  /** ERROR with payload `code u16, message length u16 = 0` (docs/rpc.md §4). */
  private fail(code: i32, out: Uint8Array): i32 {
    this.errors++;
    this.action = ACTION_NONE;
    writeU16LE(out, HEADER_BYTES + ERROR_OFF_CODE, <u32>code);
    writeU16LE(out, HEADER_BYTES + ERROR_OFF_MESSAGE_LEN, 0);
    return this.answer(KIND_ERROR, ERROR_HEAD_BYTES, out);
  }

  private fillSlot(s: SlotRecord, d: SlotInfo): void {
    d.state = s.state;
    d.version = s.version;
    d.imageBytes = s.imageBytes;
    d.shaPrefix = readU32LE(s.sha256, 0);
    d.securityVersion = s.securityVersion;
  }

  private opInfo(out: Uint8Array): i32 {
    const v = this.info;
    const st = this.state;
    v.mode = this.mode;
    v.bootloaderVersion = this.config.bootloaderVersion;
    for (let i = 0; i < BOARD_BYTES; i++) v.board[i] = this.config.board[i];
    v.maxImageBytes = <u32>this.maxImageBytes();
    v.chunkBytes = <u16>this.config.chunkBytes;
    v.window = this.config.window;
    v.runningSlot = this.running;
    v.activeSlot = st.active;
    v.trialSlot = st.trial;
    let flags: u8 = 0;
    if (this.running != NO_SLOT && st.trial == this.running && (st.flags & FLAG_TRIAL_STARTED) != 0) flags = flags | INFO_FLAG_TRIAL_RUNNING;
    if (this.session != SESSION_NONE) flags = flags | INFO_FLAG_SESSION_OPEN;
    if (this.config.keyed()) flags = flags | INFO_FLAG_VERIFIED;
    v.flags = flags;
    v.minSecurityVersion = st.minSecurityVersion;
    this.fillSlot(st.s0, v.slot0);
    this.fillSlot(st.s1, v.slot1);
    return encodeInfo(v, out, HEADER_BYTES);
  }

  private opConfirm(out: Uint8Array): i32 {
    if (this.mode != MODE_APP) return -ERR_BOOT_NO_TRIAL;
    const slot = this.running;
    const r = this.confirm();
    if (r < 0) return r;
    this.ans.slot = slot;
    this.ans.version = this.state.slot(<i32>slot).version;
    return encodeSlotRes(this.ans, out, HEADER_BYTES);
  }

  private opEnterBoot(): i32 {
    if (this.mode == MODE_BOOTLOADER) return 0; // already there
    const st = this.state;
    st.flags = st.flags | FLAG_STAY;
    const r = this.store.save(st);
    if (r < 0) return r;
    this.action = ACTION_RESET;
    return 0;
  }

  /** The same signed bytes (size, version, board, hash, security version, flags) as the open session's. */
  private sameSession(req: Uint8Array, p: i32): bool {
    if (this.session == SESSION_NONE) return false;
    for (let i = 0; i < MANIFEST_SIGNED_BYTES; i++) if (req[p + i] != this.sessionManifest[i]) return false;
    return true;
  }

  /**
   * The checks a manifest (already decoded into `m` from buf[p..p+160)) must pass before its image
   * may be written or committed: board (703), size (702), then — a bootloader with a trusted key —
   * signed (712), by that key (714), a valid Ed25519 signature over bytes 0..63 (713), and last
   * the security version against the device's minimum (717; a signed ALLOW_DOWNGRADE passes).
   */
  private checkManifest(m: Manifest, buf: Uint8Array, p: i32): i32 {
    for (let i = 0; i < BOARD_BYTES; i++) if (m.board[i] != this.config.board[i]) return -ERR_BOOT_WRONG_BOARD;
    const chunk = this.config.chunkBytes;
    const count: i32 = <i32>(((m.imageBytes + <u32>chunk - 1) / <u32>chunk) | 0);
    if (m.imageBytes > <u32>this.maxImageBytes() || count > MAX_CHUNKS) return -ERR_BOOT_IMAGE_TOO_LARGE;
    const cfg = this.config;
    if (cfg.keyed()) {
      let sig = false;
      for (let i = 0; i < 64; i++) if (m.signature[i] != 0) { sig = true; break; }
      if (!sig) return -ERR_BOOT_UNSIGNED;
      for (let i = 0; i < 32; i++) if (m.key[i] != cfg.trustedKey[i]) return -ERR_BOOT_UNTRUSTED_KEY;
      if (!this.verifier.verify(m.signature, buf, p, MANIFEST_SIGNED_BYTES, cfg.trustedKey)) return -ERR_BOOT_BAD_SIGNATURE;
    }
    if (m.securityVersion < this.state.minSecurityVersion && (m.flags & MANIFEST_FLAG_ALLOW_DOWNGRADE) == 0) return -ERR_BOOT_ROLLBACK;
    return 0;
  }

  private opBegin(req: Uint8Array, p: i32, end: i32, out: Uint8Array): i32 {
    const m = this.m;
    let r = decodeManifest(req, p, end, m);
    if (r < 0) return r;
    r = this.checkManifest(m, req, p);
    if (r < 0) return r;
    const chunk = this.config.chunkBytes;
    const count: i32 = <i32>(((m.imageBytes + <u32>chunk - 1) / <u32>chunk) | 0);
    const a = this.ans;
    if (this.sameSession(req, p)) {
      a.resumed = 1;
    } else {
      // A new transfer into the slot that is not active. Invalidate it in the record *before*
      // erasing, so no record ever points at a half-erased image.
      const st = this.state;
      const t: i32 = st.active == 1 ? 0 : 1;
      if (st.trial == <u8>t) {
        st.trial = NO_SLOT;
        st.flags = st.flags & ~FLAG_TRIAL_STARTED;
      }
      const s = st.slot(t);
      s.state = SLOT_RECEIVING;
      s.version = m.version;
      s.imageBytes = m.imageBytes;
      for (let i = 0; i < SHA256_BYTES; i++) s.sha256[i] = m.sha256[i];
      s.securityVersion = m.securityVersion;
      s.manifestFlags = m.flags;
      this.session = SESSION_NONE;
      let e = this.store.save(st);
      if (e < 0) return e;
      const first = this.layout.slotFirstPage(t);
      const pages: i32 = <i32>(((m.imageBytes + <u32>this.layout.pageBytes - 1) / <u32>this.layout.pageBytes) | 0);
      for (let i = 0; i < pages; i++) {
        e = this.flash.erase(first + i);
        if (e < 0) return e;
      }
      for (let i = 0; i < MAX_CHUNKS / 8; i++) this.bitmap[i] = 0;
      this.target = t;
      this.imageBytes = m.imageBytes;
      this.version = m.version;
      for (let i = 0; i < SHA256_BYTES; i++) this.sessionSha[i] = m.sha256[i];
      this.chunkCount = count;
      this.received = 0;
      for (let i = 0; i < MANIFEST_BYTES; i++) this.sessionManifest[i] = req[p + i];
      this.session = SESSION_RECEIVING;
      a.resumed = 0;
    }
    a.slot = <u8>this.target;
    a.chunkBytes = <u16>chunk;
    a.chunkCount = <u16>this.chunkCount;
    a.chunksReceived = <u16>this.received;
    return encodeBeginRes(a, out, HEADER_BYTES);
  }

  private opChunk(req: Uint8Array, p: i32, end: i32, out: Uint8Array): i32 {
    if (end - p < CHUNK_HEAD_BYTES + 1) return -ERR_BOOT_BAD_REQUEST;
    if (this.session == SESSION_NONE) return -ERR_BOOT_NO_SESSION;
    const offset = readU32LE(req, p);
    const crc = readU32LE(req, p + 4);
    const d = p + CHUNK_HEAD_BYTES;
    const n = end - d;
    const chunk = <u32>this.config.chunkBytes;
    if (offset >= this.imageBytes || offset % chunk != 0) return -ERR_BOOT_BAD_OFFSET;
    const left: u32 = this.imageBytes - offset;
    if (<u32>n != (left < chunk ? left : chunk)) return -ERR_BOOT_BAD_OFFSET;
    if (crc32cSmall(req, d, n) != crc) return -ERR_BOOT_CHUNK_CRC;
    const idx: i32 = <i32>((offset / chunk) | 0);
    const bit: u8 = <u8>((<u32>1 << <u32>(idx & 7)) & 0xff);
    if ((this.bitmap[idx >>> 3] & bit) == 0) {
      if (this.session != SESSION_RECEIVING) return -ERR_BOOT_NO_SESSION;
      const r = this.flash.write(this.layout.slotAddr(this.target) + <i32>offset, req, d, n);
      if (r < 0) return r;
      this.bitmap[idx >>> 3] = this.bitmap[idx >>> 3] | bit;
      this.received++;
    }
    const a = this.ans;
    a.offset = offset;
    a.chunksReceived = <u16>this.received;
    a.chunkCount = <u16>this.chunkCount;
    return encodeChunkRes(a, out, HEADER_BYTES);
  }

  private opStatus(out: Uint8Array): i32 {
    const a = this.ans;
    a.state = this.session;
    a.slot = this.session == SESSION_NONE ? NO_SLOT : <u8>this.target;
    a.chunkBytes = <u16>this.config.chunkBytes;
    a.imageBytes = this.session == SESSION_NONE ? 0 : this.imageBytes;
    const count = this.session == SESSION_NONE ? 0 : this.chunkCount;
    a.chunkCount = <u16>count;
    a.chunksReceived = <u16>(this.session == SESSION_NONE ? 0 : this.received);
    const nb = bitmapBytes(count);
    if (HEADER_BYTES + 12 + nb > out.length) return -ERR_BOOT_BAD_REQUEST;
    const k = encodeStatusHead(a, out, HEADER_BYTES);
    for (let i = 0; i < nb; i++) out[HEADER_BYTES + k + i] = this.bitmap[i];
    return k + nb;
  }

  private opCommit(out: Uint8Array): i32 {
    if (this.session == SESSION_NONE) return -ERR_BOOT_NO_SESSION;
    const a = this.ans;
    a.slot = <u8>this.target;
    a.version = this.version;
    if (this.session == SESSION_COMMITTED) return encodeSlotRes(a, out, HEADER_BYTES); // a retried COMMIT
    if (this.received != this.chunkCount) return -ERR_BOOT_INCOMPLETE;
    const st = this.state;
    const t = this.target;
    // The manifest again, from the session's copy, before the slot can become bootable.
    let r = decodeManifest(this.sessionManifest, 0, MANIFEST_BYTES, this.sm);
    if (r >= 0) r = this.checkManifest(this.sm, this.sessionManifest, 0);
    if (r < 0) {
      st.slot(t).state = SLOT_EMPTY;
      this.session = SESSION_NONE;
      this.store.save(st);
      return r;
    }
    r = this.hashSlot(t, <i32>this.imageBytes);
    if (r < 0) return r;
    for (let i = 0; i < SHA256_BYTES; i++) {
      if (this.digest[i] != this.sessionSha[i]) {
        // Every chunk passed its CRC and still the image differs: start over from BEGIN.
        st.slot(t).state = SLOT_EMPTY;
        this.session = SESSION_NONE;
        this.store.save(st);
        return -ERR_BOOT_HASH_MISMATCH;
      }
    }
    st.slot(t).state = SLOT_VALID;
    st.trial = <u8>t;
    st.flags = st.flags & ~FLAG_TRIAL_STARTED;
    r = this.store.save(st);
    if (r < 0) return r;
    this.session = SESSION_COMMITTED;
    return encodeSlotRes(a, out, HEADER_BYTES);
  }
}
