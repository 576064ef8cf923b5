// `cell flash` without the command line (docs/flash.md §4.5): put a checked image on a device
// over its UART, through the boot protocol on channel 3.
//
//   INFO ─(app running?)→ ENTER_BOOT, wait for the bootloader ─→ BEGIN(manifest) ─(resumed?)→ STATUS
//   ─→ CHUNK × n (window in flight, CRC each, retransmit on CRC error or timeout) ─→ COMMIT (device
//   hashes the slot) ─→ RESET ─→ wait for the new app on trial ─→ CONFIRM (it is healthy: it
//   answers on the boot channel) ─→ done.
//
// A lost link (unplugged cable, port error, no answers) is survived: the port is reopened and the
// flow starts again from INFO. The device keeps its transfer session in RAM, so BEGIN with the
// same manifest resumes and only the missing chunks are sent; after a device reset the transfer
// starts over (the old image was never touched). Every step is idempotent: a flash interrupted
// after COMMIT or RESET finds the image committed or on trial and carries on from there.
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { crc32c } from '../framing/crc32c.ts';
import { CellError } from '../wire/cell-error.ts';
import {
  ERR_BOOT_CHUNK_CRC, ERR_BOOT_IMAGE_TOO_LARGE, ERR_BOOT_INCOMPLETE, ERR_BOOT_NO_ANSWER, ERR_BOOT_NO_SESSION,
  ERR_BOOT_NO_TRIAL, ERR_BOOT_NOT_IN_BOOT_MODE, ERR_BOOT_WRONG_BOARD, ERR_LINK_IO, ERR_RPC_TIMEOUT, ERR_SECURE_PLAINTEXT_REFUSED,
} from '../wire/errors.ts';
import { writeU32LE } from '../wire/bytes.ts';
import {
  Answer, BootInfo, BOOT_PROTOCOL_OLDEST, BOOT_PROTOCOL_VERSION, CHUNK_HEAD_BYTES, INFO_FLAG_SESSION_OPEN, INFO_FLAG_TRIAL_RUNNING, INFO_FLAG_VERIFIED, MODE_APP, MODE_BOOTLOADER, NO_SLOT, OP_BEGIN, OP_CHUNK,
  OP_COMMIT, OP_CONFIRM, OP_ENTER_BOOT, OP_INFO, OP_RESET, OP_STATUS, SLOT_VALID, STATUS_HEAD_BYTES,
  decodeBeginRes, decodeChunkRes, decodeInfo, decodeSlotRes, decodeStatusHead,
} from './boot-wire.ts';
import { BootClient } from './client.ts';
import { SecureBootClient, type BootRequester } from './secure-route.ts';
import { plaintextGuard } from '../transports/secure-link.ts';
import type { KeyRing } from '../transports/secure-keys.ts';
import { boardName, decodeOrThrow, formatVersion } from './manifest.ts';
import type { Link } from '../transports/link.ts';

export interface DeviceInfo {
  mode: 'bootloader' | 'app';
  board: string;
  bootloaderVersion: number;
  maxImageBytes: number;
  chunkBytes: number;
  window: number;
  runningSlot: number | null;
  activeSlot: number | null;
  trialSlot: number | null;
  trialRunning: boolean;
  sessionOpen: boolean;
  /** The boot protocol the device speaks (docs/flash.md §2.2). */
  protocol: number;
  /**
   * The bootloader holds a trusted key and verifies every image itself (§5.4); false: a
   * development bootloader. null: the device speaks protocol 1, which does not say.
   */
  verifiedBoot: boolean | null;
  /** The lowest security version the device still boots (§5.4); null under protocol 1. */
  minSecurityVersion: number | null;
  slots: { state: 'empty' | 'valid' | 'receiving' | 'rejected'; version: string; imageBytes: number; shaPrefix: string; securityVersion: number | null }[];
}

export type FlashEvent =
  | { type: 'state'; state: string; detail?: Record<string, unknown> }
  | { type: 'progress'; bytesDone: number; bytesTotal: number; rateBytesPerS: number; etaMs: number }
  | { type: 'resume'; reason: string; attempt: number };

export interface FlashOptions {
  /** Serial port path. */
  port: string;
  /** @default 115200 */
  baudRate?: number;
  /** Write no faster than this line rate (a pty ignores the baud rate). @default 0 (no pacing) */
  paceBaud?: number;
  image: Uint8Array;
  /** The image's 160-byte manifest, already checked (checkImage) by the caller. */
  manifest: Uint8Array;
  /** Send CONFIRM once the new app answers (else it stays on trial and the next reset rolls back). @default true */
  confirm?: boolean;
  /** Deadline of one request (chunks get this plus their line time). @default 1000 */
  requestTimeoutMs?: number;
  /** Attempts per request before the link is taken for lost. @default 6 */
  retries?: number;
  /** Reconnect-and-resume rounds after a lost link before giving up. @default 10 */
  maxResumes?: number;
  /** How long to wait for the port to exist again, and for a device to come back after a reset. @default 10000 */
  reconnectMs?: number;
  onEvent?: (e: FlashEvent) => void;
  /**
   * A secured device's keys (fleet or device key files, src/transports/secure-keys.ts): its app
   * then gets INFO, ENTER_BOOT, RESET and CONFIRM sealed; its bootloader plaintext
   * (src/flash/secure-route.ts). Without keys, a secured app is reported as such (804).
   */
  keys?: KeyRing;
  /** Open the link (tests inject their own). @default openUart from src/transports/uart.ts */
  open?: (o: { path: string; baudRate: number; paceBaud: number }) => Promise<Link>;
}

export interface FlashResult {
  slot: number;
  version: string;
  imageBytes: number;
  /** Wall time of the whole flash, and of the chunk transfer alone. */
  totalMs: number;
  transferMs: number;
  chunksSent: number;
  retransmits: number;
  resumes: number;
  confirmed: boolean;
  /** The device already ran this image: nothing was written. */
  alreadyInstalled: boolean;
}

/** BEGIN refusals that leave the slots untouched (the device's own manifest checks). */
const REFUSED_AT_BEGIN = [702, 703, 711, 712, 713, 714, 717];
const STATES = ['empty', 'valid', 'receiving', 'rejected'] as const;
const slotOrNull = (s: number): number | null => (s === NO_SLOT ? null : s);
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

export function decodeDeviceInfo(payload: Uint8Array): DeviceInfo {
  const v = new BootInfo();
  if (decodeInfo(payload, 0, payload.length, v) < 0) throw new CellError(700, 'the device sent an INFO answer that does not decode');
  if (v.protocol < BOOT_PROTOCOL_OLDEST || v.protocol > BOOT_PROTOCOL_VERSION) {
    throw new CellError(700, `the bootloader speaks boot protocol ${v.protocol}, this host ${BOOT_PROTOCOL_OLDEST}–${BOOT_PROTOCOL_VERSION}: update one side`);
  }
  const v2 = v.protocol >= 2;
  const slot = (s: typeof v.slot0) => ({
    state: STATES[s.state]!, version: formatVersion(s.version), imageBytes: s.imageBytes,
    shaPrefix: hex(Uint8Array.of(s.shaPrefix & 0xff, (s.shaPrefix >>> 8) & 0xff, (s.shaPrefix >>> 16) & 0xff, s.shaPrefix >>> 24)),
    securityVersion: v2 ? s.securityVersion : null,
  });
  return {
    mode: v.mode === MODE_APP ? 'app' : 'bootloader', board: boardName(v.board), bootloaderVersion: v.bootloaderVersion,
    maxImageBytes: v.maxImageBytes, chunkBytes: v.chunkBytes, window: v.window,
    runningSlot: slotOrNull(v.runningSlot), activeSlot: slotOrNull(v.activeSlot), trialSlot: slotOrNull(v.trialSlot),
    trialRunning: (v.flags & INFO_FLAG_TRIAL_RUNNING) !== 0, sessionOpen: (v.flags & INFO_FLAG_SESSION_OPEN) !== 0,
    protocol: v.protocol, verifiedBoot: v2 ? (v.flags & INFO_FLAG_VERIFIED) !== 0 : null,
    minSecurityVersion: v2 ? v.minSecurityVersion : null,
    slots: [slot(v.slot0), slot(v.slot1)],
  };
}

async function defaultOpen(o: { path: string; baudRate: number; paceBaud: number }): Promise<Link> {
  const { openUart } = await import('../transports/uart.ts');
  return openUart({ path: o.path, baudRate: o.baudRate, paceBaud: o.paceBaud, watchMs: 100, maxFrameBytes: 4096 });
}

/** A fix for "the device is not in boot mode", shown by the CLI. */
export const BOOT_MODE_FIX = 'reset the device while holding its boot button (or power-cycle it: a device without a valid image stays in the bootloader), then run `cell flash` again; an app built with Cell answers ENTER_BOOT by itself';

class Lost extends Error {
  constructor(readonly reason: string) { super(reason); }
}

/** A closed link is a lost one (reopen, resume), unless it closed because the device is secured. */
function lostOr(closedWith: CellError, reason: string): Error {
  return closedWith.code === ERR_SECURE_PLAINTEXT_REFUSED ? closedWith : new Lost(reason);
}

/**
 * The boot client for a port: with keys, one that seals what goes to a secured app; without, a
 * plain one whose link closes with 804 (naming the device) when a secured app answers.
 */
function bootClientFor(link: Link, port: string, keys: KeyRing | undefined): BootRequester {
  return keys !== undefined ? new SecureBootClient(link, keys) : new BootClient(plaintextGuard(link, port));
}

/** Is this error a lost link (reopen and resume) rather than a refusal by the device? */
function isLinkLoss(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  // NoSession / NotInBootMode in the middle of a transfer: the device was reset (it lost its
  // session, or came back in its app). Start again from INFO.
  return e instanceof Lost || code === ERR_LINK_IO || code === 500 || code === ERR_RPC_TIMEOUT || code === ERR_BOOT_NO_SESSION
    || code === ERR_BOOT_NOT_IN_BOOT_MODE;
}

export async function flashImage(o: FlashOptions): Promise<FlashResult> {
  const t0 = performance.now();
  const emit = o.onEvent ?? (() => {});
  const m = decodeOrThrow(o.manifest);
  const shaPrefix = hex(m.sha256.subarray(0, 4));
  const open = o.open ?? defaultOpen;
  const baudRate = o.baudRate ?? 115200;
  const paceBaud = o.paceBaud ?? 0;
  const timeoutMs = o.requestTimeoutMs ?? 1000;
  const retries = o.retries ?? 6;
  const reconnectMs = o.reconnectMs ?? 10_000;
  const wantConfirm = o.confirm ?? true;
  const stats = { chunksSent: 0, retransmits: 0, resumes: 0, transferMs: 0, committedSlot: -1 };
  const lineRate = paceBaud > 0 ? paceBaud : 0;
  /** Line time of n bytes at the paced rate (10 bits per byte), ms. */
  const lineMs = (n: number): number => (lineRate > 0 ? (n * 10 * 1000) / lineRate : 0);

  let client: BootRequester | null = null;
  const connect = async (first: boolean): Promise<BootRequester> => {
    // The first open fails at once on a port that is not there (a typo); after a lost link the
    // port may be coming back (a replugged adapter), so wait for it.
    const deadline = Date.now() + (first ? 0 : reconnectMs);
    for (;;) {
      if (existsSync(o.port) || o.open !== undefined) {
        try {
          return bootClientFor(await open({ path: o.port, baudRate, paceBaud }), o.port, o.keys);
        } catch (e) {
          if (Date.now() > deadline) throw e;
        }
      } else if (Date.now() > deadline) {
        throw new CellError(ERR_LINK_IO, `no such serial port: ${o.port}`, { port: o.port });
      }
      await sleep(50);
    }
  };

  /** A request retried on Timeout/CRC; a closed link or exhausted retries → Lost. */
  const req = async (c: BootRequester, op: number, payload: Uint8Array | null, ms = timeoutMs, tries = retries): Promise<Uint8Array> => {
    for (let i = 0; ; i++) {
      try {
        return await c.request(op, payload, ms);
      } catch (e) {
        const code = (e as { code?: number }).code;
        if (c.closedWith !== null) throw lostOr(c.closedWith, `link closed: ${c.closedWith.message}`);
        if ((code === ERR_RPC_TIMEOUT || code === ERR_BOOT_CHUNK_CRC) && i + 1 < tries) { stats.retransmits++; continue; }
        if (code === ERR_RPC_TIMEOUT) throw new Lost('the device stopped answering');
        throw e;
      }
    }
  };

  const info = async (c: BootRequester, tries = retries): Promise<DeviceInfo> => decodeDeviceInfo(await req(c, OP_INFO, null, Math.min(timeoutMs, 500), tries));

  /**
   * Poll INFO until `pred` holds (the device is rebooting: silence is expected for a while, so an
   * unanswered INFO is polled again — not taken for a lost link, which is what req() makes of it).
   */
  const waitFor = async (c: BootRequester, what: string, pred: (d: DeviceInfo) => boolean): Promise<DeviceInfo> => {
    const deadline = Date.now() + reconnectMs;
    let last: DeviceInfo | null = null;
    while (Date.now() < deadline) {
      try {
        last = decodeDeviceInfo(await c.request(OP_INFO, null, Math.min(timeoutMs, 500)));
        if (pred(last)) return last;
      } catch (e) {
        if (c.closedWith !== null) throw lostOr(c.closedWith, `link closed while waiting for ${what}`);
        if ((e as { code?: number }).code !== ERR_RPC_TIMEOUT) throw e;
      }
      await sleep(100);
    }
    if (last === null) throw new Lost(`no answer while waiting for ${what}`);
    return last;
  };

  const ours = (s: DeviceInfo['slots'][number]): boolean =>
    s.shaPrefix === shaPrefix && s.imageBytes === m.imageBytes && s.version === formatVersion(m.version);
  const runsOurs = (d: DeviceInfo): boolean => d.mode === 'app' && d.runningSlot !== null && ours(d.slots[d.runningSlot]!);
  /** Slot this run sent RESET for (the image committed there on trial), -1 before that. */
  let resetInto = -1;
  /** The new image did not start: the device rejected it and runs something else (710). */
  const rolledBack = (d: DeviceInfo): CellError => new CellError(ERR_BOOT_NO_TRIAL,
    `the new image did not start: the device ${d.mode === 'app' ? `rolled back to slot ${d.runningSlot} (version ${d.slots[d.runningSlot ?? 0]!.version})` : 'stayed in the bootloader'}`,
    { device: d });

  /** One attempt from INFO to done; throws Lost when the link goes away. */
  const attempt = async (c: BootRequester, round: number): Promise<FlashResult> => {
    let d: DeviceInfo;
    try {
      d = await info(c, 3);
    } catch (e) {
      // On the first try silence means "no bootloader here"; after a lost link, a device still rebooting.
      if (isLinkLoss(e) && round === 0) {
        throw new CellError(ERR_BOOT_NO_ANSWER, `no answer on the boot channel of ${o.port}`, { port: o.port, fix: BOOT_MODE_FIX });
      }
      throw e;
    }
    emit({ type: 'state', state: 'connected', detail: { mode: d.mode, board: d.board, runningSlot: d.runningSlot } });
    const done = async (slot: number, already: boolean): Promise<FlashResult> => ({
      slot, version: formatVersion(m.version), imageBytes: m.imageBytes, totalMs: performance.now() - t0,
      transferMs: stats.transferMs, chunksSent: stats.chunksSent, retransmits: stats.retransmits, resumes: stats.resumes,
      confirmed: true, alreadyInstalled: already,
    });
    // Already running this image (a resumed flash that got as far as RESET, or a repeat).
    if (runsOurs(d)) {
      if (d.trialRunning) {
        if (!wantConfirm) return { ...(await done(d.runningSlot!, false)), confirmed: false };
        emit({ type: 'state', state: 'confirming' });
        const a = new Answer();
        decodeSlotRes(await req(c, OP_CONFIRM, null), 0, 8, a);
        return done(a.slot, stats.chunksSent === 0);
      }
      if (d.activeSlot === d.runningSlot) return done(d.runningSlot!, stats.chunksSent === 0);
    }
    // This run already reset the device into the image and it came back rejected (the link was
    // lost while it rebooted): it did not start. Flashing it again would only repeat that.
    if (resetInto >= 0 && ours(d.slots[resetInto]!) && d.slots[resetInto]!.state === 'rejected') throw rolledBack(d);
    // Board and size from INFO, before anything changes on the device (the app's boot service
    // reports them too, so a wrong image does not even send the device to its bootloader).
    const board = boardName(m.board);
    if (d.board !== board) {
      throw new CellError(ERR_BOOT_WRONG_BOARD, `the image is for board "${board}", the device is a "${d.board}"`, { imageBoard: board, deviceBoard: d.board });
    }
    if (m.imageBytes > d.maxImageBytes) {
      throw new CellError(ERR_BOOT_IMAGE_TOO_LARGE, `the image has ${m.imageBytes} bytes, a slot of this device holds ${d.maxImageBytes}`, { imageBytes: m.imageBytes, maxImageBytes: d.maxImageBytes });
    }
    let entered = false;
    if (d.mode === 'app') {
      entered = true;
      emit({ type: 'state', state: 'entering-bootloader' });
      await req(c, OP_ENTER_BOOT, null);
      d = await waitFor(c, 'the bootloader', (x) => x.mode === 'bootloader');
      if (d.mode !== 'bootloader') {
        throw new CellError(ERR_BOOT_NOT_IN_BOOT_MODE, 'the device still runs its app after ENTER_BOOT', { fix: BOOT_MODE_FIX });
      }
    }
    // BEGIN erases the target slot's pages: give it time.
    const b = new Answer();
    let begin: Uint8Array;
    try {
      begin = await req(c, OP_BEGIN, o.manifest, timeoutMs * 5, 2);
    } catch (e) {
      // Refused before anything was written (a bootloader with a trusted key checks signature and
      // security version itself: 712/713/714/717): put the app we stopped back to work.
      const code = (e as { code?: number }).code;
      if (entered && typeof code === 'number' && REFUSED_AT_BEGIN.includes(code)) await req(c, OP_RESET, null).catch(() => {});
      throw e;
    }
    decodeBeginRes(begin, 0, 8, b);
    emit({ type: 'state', state: b.resumed === 1 ? 'resuming' : 'writing', detail: { slot: b.slot, chunks: b.chunkCount, received: b.chunksReceived } });
    const chunkBytes = b.chunkBytes;
    const count = b.chunkCount;
    const have = new Uint8Array(count);
    if (b.chunksReceived > 0) {
      const st = await req(c, OP_STATUS, null);
      const a = new Answer();
      if (decodeStatusHead(st, 0, st.length, a) < 0 || a.chunkCount !== count) throw new CellError(700, 'the STATUS answer does not match the transfer');
      for (let i = 0; i < count; i++) have[i] = (st[STATUS_HEAD_BYTES + (i >>> 3)]! >>> (i & 7)) & 1;
    }
    await sendChunks(c, d, chunkBytes, count, have);
    emit({ type: 'state', state: 'verifying' });
    let commit: Uint8Array;
    try {
      // The device hashes the whole slot: allow for a slow MCU.
      commit = await req(c, OP_COMMIT, null, timeoutMs * 10, 2);
    } catch (e) {
      if ((e as { code?: number }).code === ERR_BOOT_INCOMPLETE) throw new Lost('the device misses chunks');
      throw e;
    }
    const ca = new Answer();
    decodeSlotRes(commit, 0, commit.length, ca);
    stats.committedSlot = ca.slot;
    emit({ type: 'state', state: 'rebooting', detail: { slot: ca.slot } });
    resetInto = ca.slot;
    await req(c, OP_RESET, null);
    d = await waitFor(c, 'the new image', (x) => x.mode === 'app' || (x.mode === 'bootloader' && !x.sessionOpen));
    if (!runsOurs(d)) throw rolledBack(d);
    if (!wantConfirm) return { ...(await done(d.runningSlot!, false)), confirmed: false };
    emit({ type: 'state', state: 'confirming' });
    const a = new Answer();
    decodeSlotRes(await req(c, OP_CONFIRM, null), 0, 8, a);
    return done(a.slot, false);
  };

  /** CHUNK every missing chunk with up to `window` in flight. */
  const sendChunks = async (c: BootRequester, d: DeviceInfo, chunkBytes: number, count: number, have: Uint8Array): Promise<void> => {
    const total = m.imageBytes;
    let done = 0;
    for (let i = 0; i < count; i++) if (have[i] === 1) done += Math.min(chunkBytes, total - i * chunkBytes);
    const tStart = performance.now();
    const doneAtStart = done;
    const todo: number[] = [];
    for (let i = 0; i < count; i++) if (have[i] !== 1) todo.push(i);
    const window = Math.max(1, d.window);
    // A chunk may wait behind `window` others on a paced line before it even leaves.
    const chunkMs = timeoutMs + lineMs((chunkBytes + 40) * (window + 1)) * 2;
    let lastEmit = 0;
    const progress = (force: boolean): void => {
      const now = performance.now();
      if (!force && now - lastEmit < 100) return;
      lastEmit = now;
      const rate = ((done - doneAtStart) * 1000) / Math.max(1, now - tStart);
      emit({ type: 'progress', bytesDone: done, bytesTotal: total, rateBytesPerS: rate, etaMs: rate > 0 ? ((total - done) * 1000) / rate : 0 });
    };
    progress(true);
    let next = 0;
    let failure: unknown = null;
    const one = async (i: number): Promise<void> => {
      const off = i * chunkBytes;
      const n = Math.min(chunkBytes, total - off);
      const p = new Uint8Array(CHUNK_HEAD_BYTES + n);
      writeU32LE(p, 0, off);
      writeU32LE(p, 4, crc32c(o.image, off, n));
      p.set(o.image.subarray(off, off + n), CHUNK_HEAD_BYTES);
      stats.chunksSent++;
      const res = await req(c, OP_CHUNK, p, chunkMs);
      const a = new Answer();
      if (decodeChunkRes(res, 0, res.length, a) < 0 || a.offset !== off) throw new CellError(700, 'a CHUNK answer does not match its chunk');
      done += n;
      progress(false);
    };
    const worker = async (): Promise<void> => {
      while (failure === null && next < todo.length) {
        const i = todo[next++]!;
        try { await one(i); } catch (e) { failure ??= e; }
      }
    };
    await Promise.all(Array.from({ length: Math.min(window, todo.length) }, worker));
    stats.transferMs += performance.now() - tStart;
    if (failure !== null) throw failure;
    progress(true);
  };

  try {
    for (let round = 0; ; round++) {
      try {
        client = await connect(round === 0);
        return await attempt(client, round);
      } catch (e) {
        if (!isLinkLoss(e) || round >= (o.maxResumes ?? 10)) throw e instanceof Lost ? new CellError(ERR_LINK_IO, `the link to ${o.port} was lost: ${e.reason}`) : e;
        stats.resumes++;
        emit({ type: 'resume', reason: e instanceof Error ? e.message : String(e), attempt: stats.resumes });
        await client?.close();
        client = null;
        await sleep(100);
      }
    }
  } finally {
    await client?.close();
  }
}

/** INFO of the device on `port` (for `cell flash --info` and tests). */
export async function deviceInfo(o: { port: string; baudRate?: number; timeoutMs?: number; open?: FlashOptions['open']; keys?: KeyRing }): Promise<DeviceInfo> {
  const link = await (o.open ?? defaultOpen)({ path: o.port, baudRate: o.baudRate ?? 115200, paceBaud: 0 });
  const c = bootClientFor(link, o.port, o.keys);
  try {
    for (let i = 0; ; i++) {
      try {
        return decodeDeviceInfo(await c.request(OP_INFO, null, o.timeoutMs ?? 500));
      } catch (e) {
        if (i >= 3 || (e as { code?: number }).code !== ERR_RPC_TIMEOUT) {
          if ((e as { code?: number }).code === ERR_RPC_TIMEOUT) throw new CellError(ERR_BOOT_NO_ANSWER, `no answer on the boot channel of ${o.port}`, { port: o.port });
          throw e;
        }
      }
    }
  } finally {
    await c.close();
  }
}

export { MODE_BOOTLOADER, SLOT_VALID };
