// Shared-memory segments (docs/shm.md §2 "Layout", §3 "Segments"): a SharedArrayBuffer between
// threads, or a /dev/shm file mapped by our addon between processes. A process segment is named
// /cell-<uid>-<pid>-<epoch>, created 0600 and exclusively by the side that offers it, opened by
// the peer after checking owner and mode, and unlinked as soon as both have mapped it; a segment
// left by a process that died before that is removed by the next `reclaimStaleSegments`.
import { readdirSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { CellError } from '../../wire/cell-error.ts';
import { ERR_LINK_SHM_UNAVAILABLE } from '../../wire/errors.ts';
import {
  isValidRingBytes, segmentBytes, SEG_OFF_CREATOR_PID, SEG_OFF_EPOCH, SEG_OFF_MAGIC, SEG_OFF_OPENER_PID, SEG_OFF_RING_BYTES,
  SEG_OFF_VERSION, SHM_MAGIC, SHM_VERSION,
} from './layout.ts';
import { loadShmAddon, shmAddonStatus, type ShmAddon } from './native.ts';

/** Ring capacity (each direction) when none is given: frames up to half of it, 512 KiB. */
export const DEFAULT_RING_BYTES = 1 << 20;

export interface ShmSegment {
  readonly buffer: ArrayBufferLike;
  readonly ringBytes: number;
  /** The /dev/shm name of a process segment (with its leading '/'); null between threads. */
  readonly name: string | null;
  readonly epoch: number;
  /** Let go of the mapping (a process segment is unmapped: its views then read as empty). Idempotent. */
  release(): void;
}

export interface SegmentOptions {
  /** Capacity of each ring in bytes: a power of two, 4 KiB to 256 MiB. @default 1 MiB */
  ringBytes?: number;
}

function ringBytesOf(opts: SegmentOptions): number {
  const n = opts.ringBytes ?? DEFAULT_RING_BYTES;
  if (!isValidRingBytes(n)) throw new RangeError(`ringBytes must be a power of two from 4096 to 268435456, got ${n}`);
  return n;
}

function writeSegmentHeader(buffer: ArrayBufferLike, ringBytes: number, epoch: number): void {
  const u32 = new Uint32Array(buffer, 0, 64);
  u32[SEG_OFF_VERSION >> 2] = SHM_VERSION;
  u32[SEG_OFF_RING_BYTES >> 2] = ringBytes;
  u32[SEG_OFF_CREATOR_PID >> 2] = process.pid;
  u32[SEG_OFF_EPOCH >> 2] = epoch;
  Atomics.store(new Int32Array(buffer, 0, 64), SEG_OFF_MAGIC >> 2, SHM_MAGIC | 0); // last: the header is complete
}

/** Check a segment's header; returns its ring capacity or throws LinkShmUnavailable saying what is wrong. */
function checkSegmentHeader(buffer: ArrayBufferLike, bytes: number, epoch: number | null): number {
  if (bytes < segmentBytes(4096)) throw unavailable(`segment of ${bytes} bytes is too small`);
  const u32 = new Uint32Array(buffer, 0, 64);
  if ((Atomics.load(new Int32Array(buffer, 0, 64), SEG_OFF_MAGIC >> 2) >>> 0) !== SHM_MAGIC) throw unavailable('segment has no Cell header (bad magic)');
  if (u32[SEG_OFF_VERSION >> 2] !== SHM_VERSION) throw unavailable(`segment layout version ${u32[SEG_OFF_VERSION >> 2]}, this side speaks ${SHM_VERSION}`);
  const ringBytes = u32[SEG_OFF_RING_BYTES >> 2]!;
  if (!isValidRingBytes(ringBytes) || segmentBytes(ringBytes) !== bytes) throw unavailable(`segment header says rings of ${ringBytes} bytes, which does not match its ${bytes} bytes`);
  if (epoch !== null && u32[SEG_OFF_EPOCH >> 2] !== epoch) throw unavailable('segment epoch does not match the offer (a stale or foreign segment)');
  return ringBytes;
}

function unavailable(msg: string, detail?: Record<string, unknown>): CellError {
  return new CellError(ERR_LINK_SHM_UNAVAILABLE, msg, detail);
}

// ---- between threads -------------------------------------------------------------------------

/** A segment for two threads: post `segment.buffer` (a SharedArrayBuffer) to the worker. */
export function createThreadSegment(opts: SegmentOptions = {}): ShmSegment {
  const ringBytes = ringBytesOf(opts);
  const buffer = new SharedArrayBuffer(segmentBytes(ringBytes));
  const epoch = randomInt(1, 0x7fffffff);
  writeSegmentHeader(buffer, ringBytes, epoch);
  return { buffer, ringBytes, name: null, epoch, release() {} };
}

/** The other thread's view of a segment made by createThreadSegment. */
export function attachThreadSegment(buffer: SharedArrayBuffer): ShmSegment {
  const ringBytes = checkSegmentHeader(buffer, buffer.byteLength, null);
  const epoch = new Uint32Array(buffer, 0, 64)[SEG_OFF_EPOCH >> 2]!;
  return { buffer, ringBytes, name: null, epoch, release() {} };
}

// ---- between processes -----------------------------------------------------------------------

function addonOrThrow(): ShmAddon {
  const addon = loadShmAddon();
  if (addon === null) throw unavailable(`shared memory between processes needs the addon: ${shmAddonStatus().reason}`);
  return addon;
}

function uid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

const NAME_RE = /^\/cell-(\d+)-(\d+)-([0-9a-f]{8})$/;

function processSegment(addon: ShmAddon, buffer: ArrayBuffer, name: string, ringBytes: number, epoch: number): ShmSegment {
  let mapped = true;
  return {
    buffer, ringBytes, name, epoch,
    release() { if (mapped) { mapped = false; addon.unmap(buffer); } },
  };
}

/**
 * Create and map a segment for a peer process (0600, exclusive). Stale segments of dead
 * processes of this user are removed first. Throws LinkShmUnavailable (503) when the addon is
 * missing or the segment cannot be made.
 */
export function createProcessSegment(opts: SegmentOptions = {}): ShmSegment {
  const addon = addonOrThrow();
  const ringBytes = ringBytesOf(opts);
  reclaimStaleSegments();
  const epoch = randomInt(1, 0x7fffffff);
  const name = `/cell-${uid()}-${process.pid}-${epoch.toString(16).padStart(8, '0')}`;
  let buffer: ArrayBuffer;
  try {
    buffer = addon.create(name, segmentBytes(ringBytes));
  } catch (e) {
    throw unavailable(`cannot create shared memory ${name}: ${(e as Error).message}`, { errno: (e as { code?: string }).code });
  }
  writeSegmentHeader(buffer, ringBytes, epoch);
  return processSegment(addon, buffer, name, ringBytes, epoch);
}

/**
 * Map a segment a peer process offered (`name`, `ringBytes` and `epoch` from its offer). The
 * addon refuses a segment not owned by this user or not 0600. Writes this pid into the header.
 */
export function openProcessSegment(name: string, ringBytes: number, epoch: number): ShmSegment {
  const addon = addonOrThrow();
  const m = NAME_RE.exec(name);
  if (m === null || Number(m[1]) !== uid()) throw unavailable(`segment name ${JSON.stringify(name)} is not one of this user's Cell segments`);
  if (!isValidRingBytes(ringBytes)) throw unavailable(`offered ring size ${ringBytes} is not a power of two from 4096 to 268435456`);
  let buffer: ArrayBuffer;
  try {
    buffer = addon.open(name, segmentBytes(ringBytes));
  } catch (e) {
    throw unavailable(`cannot open shared memory ${name}: ${(e as Error).message}`, { errno: (e as { code?: string }).code });
  }
  try {
    checkSegmentHeader(buffer, buffer.byteLength, epoch);
  } catch (e) {
    addon.unmap(buffer);
    throw e;
  }
  new Uint32Array(buffer, 0, 64)[SEG_OFF_OPENER_PID >> 2] = process.pid;
  return processSegment(addon, buffer, name, ringBytes, epoch);
}

/** Remove a segment's name (both sides keep their mappings). False when it was already gone. */
export function unlinkSegment(name: string): boolean {
  return addonOrThrow().unlink(name);
}

/**
 * Remove this user's segments whose creator process is gone (a crash between create and the
 * peer's open). Returns how many were removed. Quietly does nothing without /dev/shm or the addon.
 */
export function reclaimStaleSegments(dir = '/dev/shm'): number {
  const addon = loadShmAddon();
  if (addon === null) return 0;
  let names: string[];
  try { names = readdirSync(dir); } catch { return 0; }
  const prefix = `cell-${uid()}-`;
  let removed = 0;
  for (const f of names) {
    if (!f.startsWith(prefix)) continue;
    const m = NAME_RE.exec('/' + f);
    if (m === null) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || processAlive(pid)) continue;
    try { if (addon.unlink('/' + f)) removed++; } catch { /* raced with its owner or another reclaimer */ }
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as { code?: string }).code === 'EPERM'; }
}
