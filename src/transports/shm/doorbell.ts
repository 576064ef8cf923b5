// Doorbells: how a shared-memory link wakes a parked peer (docs/shm.md §5 "Wake-ups"). A link
// rings only when the peer said it sleeps (its flag in the ring), so under load nothing rings.
// Between threads the bell is a word of the segment (Atomics.notify, Atomics.waitAsync); between
// processes it is any Link to the peer (a Unix socket), which also tells when the peer is gone:
// Atomics.wait/notify do not cross processes (V8 emulates them per process).
import { CellError } from '../../wire/cell-error.ts';
import { ERR_LINK_CLOSED } from '../../wire/errors.ts';
import { CHANNEL_LINK, Header, HEADER_BYTES, KIND_PING, writeHeader } from '../../wire/header.ts';
import type { Link } from '../link.ts';
import { SEG_BELL_STRIDE, SEG_OFF_BELL } from './layout.ts';

export interface ShmDoorbell {
  /**
   * Start: `onRing` when the peer rings (spurious rings are allowed), `onGone` once when the
   * peer is gone (its process or its end of the bell closed).
   */
  start(onRing: () => void, onGone: (err: CellError) => void): void;
  /** Wake the peer. */
  ring(): void;
  /** Stop listening and let go of the bell; a process peer sees its bell close. Idempotent. */
  close(): void;
}

type WaitAsync = (ta: Int32Array, index: number, value: number) => { async: boolean; value: Promise<string> | string };

/** Between threads: side s waits on its own word of the segment header; the peer adds and notifies. */
export class ThreadDoorbell implements ShmDoorbell {
  private readonly myIdx: number;
  private readonly peerIdx: number;
  private seen = 0;
  private stopped = false;
  private onRing: (() => void) | null = null;
  /**
   * A pending Atomics.waitAsync does not keep the event loop alive: without a handle, a thread
   * whose only work is serving a parked link would exit. An open socket is such a handle too.
   */
  private keepAlive: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly i32: Int32Array, side: 0 | 1) {
    if (!(i32.buffer instanceof SharedArrayBuffer)) throw new TypeError('a thread doorbell needs a SharedArrayBuffer');
    this.myIdx = (SEG_OFF_BELL + side * SEG_BELL_STRIDE) >> 2;
    this.peerIdx = (SEG_OFF_BELL + (1 - side) * SEG_BELL_STRIDE) >> 2;
  }

  start(onRing: () => void): void {
    this.onRing = onRing;
    this.seen = Atomics.load(this.i32, this.myIdx);
    this.keepAlive = setInterval(() => {}, 0x7fffffff);
    this.arm();
  }

  ring(): void {
    Atomics.add(this.i32, this.peerIdx, 1);
    Atomics.notify(this.i32, this.peerIdx, 1);
  }

  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.keepAlive !== null) { clearInterval(this.keepAlive); this.keepAlive = null; }
    // Settle our own pending waitAsync so that nothing waits on a closed link.
    Atomics.add(this.i32, this.myIdx, 1);
    Atomics.notify(this.i32, this.myIdx);
  }

  private arm(): void {
    const r = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync(this.i32, this.myIdx, this.seen);
    if (r.async) (r.value as Promise<string>).then(this.fired);
    else queueMicrotask(this.fired);
  }

  private readonly fired = (): void => {
    if (this.stopped) return;
    this.seen = Atomics.load(this.i32, this.myIdx);
    this.onRing!();
    if (!this.stopped) this.arm();
  };
}

/** The frame a link doorbell sends: a bare PING on the link channel (docs/shm.md §5). Its content is never read. */
const RING_FRAME = ((): Uint8Array => {
  const f = new Uint8Array(HEADER_BYTES);
  const h = new Header();
  h.kind = KIND_PING;
  h.channel = CHANNEL_LINK;
  writeHeader(h, f, 0);
  return f;
})();

/**
 * Between processes: every frame on `bell` (a Unix socket link) is a ring; its close is the
 * peer's death or departure. The link is started here.
 */
export class LinkDoorbell implements ShmDoorbell {
  constructor(private readonly bell: Link) {}

  start(onRing: () => void, onGone: (err: CellError) => void): void {
    this.bell.start({ onFrame: onRing, onClose: (err) => onGone(err ?? new CellError(ERR_LINK_CLOSED, 'doorbell closed')) });
  }

  ring(): void {
    this.bell.send(RING_FRAME);
  }

  close(): void {
    this.bell.close();
  }
}

/** @internal The bytes of one ring, for doorbells built into another link (the socket upgrade). */
export function ringFrame(): Uint8Array {
  return RING_FRAME;
}
