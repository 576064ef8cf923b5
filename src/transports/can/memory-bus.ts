// An in-process CAN bus for unit tests and benchmarks (docs/can.md §"Drivers"): every driver
// attached to a MemoryCanBus is a CanDriver (driver.ts) that sees every frame the others send,
// as on a real bus:
//   - delivery is asynchronous, in batches per tick (setImmediate; with `bitrate`, timers at the
//     time each frame leaves the wire), never inside the sender's `send`;
//   - arbitration as on the wire: of the frames waiting at the head of each driver's queue, the
//     lowest identifier goes first (per sender, frames keep their order);
//   - each driver has a bounded tx queue: `send` returns false above its high-water mark (the
//     frame is still queued) and `onDrain` follows when the queue is at half of it;
//   - `setState('bus-off')` stops a driver's (or every driver's) transmissions until the state is
//     'error-active' again: frames wait in the queue, nothing is lost;
//   - `injectErrorFrame` counts an error frame in every driver's stats and reports it to the
//     drivers with error reporting on;
//   - with `bitrate`, each frame occupies the wire for its length in bits (canFrameBits), so a
//     benchmark reads the bus utilisation from `bus.stats`.
// Frame bytes live in each driver's ring of 64-byte slots (grown by doubling, never shrunk): no
// allocation per frame once the rings have their size.
import { copyBytes } from '../link.ts';
import { CellError } from '../../wire/cell-error.ts';
import { ERR_LINK_IO } from '../../wire/errors.ts';
import {
  CAN_FLAG_BRS, CAN_FLAG_EXTENDED, CAN_FLAG_FD, CAN_FD_MAX_BYTES, CanDriverStats, canFilterPasses, checkCanSend,
  type CanBusEvent, type CanBusState, type CanDriver, type CanDriverHandlers, type CanFilter,
} from './driver.ts';

export interface MemoryCanBusOptions {
  /** The bus carries CAN FD frames (every attached driver is an FD driver). @default false */
  fd?: boolean;
  /** Pace the bus at this nominal bitrate (bit/s): each frame takes canFrameBits() on the wire. 0 = unpaced. @default 0 */
  bitrate?: number;
  /** Data-phase bitrate of FD frames with CAN_FLAG_BRS (bit/s), when paced. @default 2_000_000 */
  dataBitrate?: number;
  /** Lose every N-th frame on the wire (no driver receives it; counted in `bus.stats.lost`). 0 = never. @default 0 */
  lossEvery?: number;
}

export interface MemoryCanAttachOptions {
  /** Also receive this driver's own frames (SocketCAN's CAN_RAW_RECV_OWN_MSGS). @default false */
  loopback?: boolean;
  /** Queued frames above which `send` returns false. @default 64 */
  highWaterMark?: number;
}

/** What the bus itself counts. */
export class MemoryCanBusStats {
  /** Frames that went over the wire (lost ones included). */
  frames = 0;
  /** Bits they took on the wire (nominal-bitrate equivalent is not computed: raw bit counts). */
  bits = 0;
  /** Time the wire was busy (ms), when paced. */
  busyMs = 0;
  /** Frames lost by `lossEvery`. */
  lost = 0;
  /** Error frames injected. */
  errorFrames = 0;
}

/**
 * Bits of one frame on the wire, worst-case bit stuffing included (an approximation, enough for
 * utilisation figures): classic extended 67 + 8·len + stuffing (131 + 29 for 8 bytes), classic
 * standard 47 + 8·len + stuffing. For FD, `nominal` are the bits at the nominal bitrate and
 * `data` those of the data phase (at the data bitrate with BRS, else also nominal).
 */
export function canFrameBits(flags: number, len: number): { nominal: number; data: number } {
  return { nominal: nominalBits(flags, len), data: dataPhaseBits(flags, len) };
}

/** The bits of canFrameBits().nominal, without an object. */
function nominalBits(flags: number, len: number): number {
  const ext = (flags & CAN_FLAG_EXTENDED) !== 0;
  if ((flags & CAN_FLAG_FD) === 0) {
    // SOF..CRC is stuffed; CRC delimiter, ACK, EOF and the 3-bit intermission are not.
    const stuffed = (ext ? 54 : 34) + 8 * len;
    return stuffed + 13 + Math.floor((stuffed - 1) / 4);
  }
  // FD: arbitration (SOF, id, r1/SRR+IDE, EDL, r0, BRS) at the nominal rate, then CRC
  // delimiter, ACK, EOF and intermission at the nominal rate again.
  const arb = ext ? 36 : 17;
  return arb + Math.floor(arb / 4) + 13;
}

/** The bits of canFrameBits().data: ESI, DLC, data, stuff count and CRC-17/21 with its fixed stuff bits (FD only). */
function dataPhaseBits(flags: number, len: number): number {
  if ((flags & CAN_FLAG_FD) === 0) return 0;
  const crc = len > 16 ? 21 : 17;
  const dataStuffed = 5 + 8 * len;
  return dataStuffed + Math.floor((dataStuffed - 1) / 4) + 4 + crc + Math.ceil((crc + 4) / 4);
}

function nowUs(): number {
  return (performance.timeOrigin + performance.now()) * 1000;
}

function stateEventClass(state: CanBusState, prev: CanBusState): number {
  if (state === 'bus-off') return 0x40; // CAN_ERR_BUSOFF
  if (prev === 'bus-off') return 0x100; // CAN_ERR_RESTARTED
  return 0x4; // CAN_ERR_CRTL
}

/** One driver attached to a MemoryCanBus. */
export class MemoryCanDriver implements CanDriver {
  readonly name: string;
  readonly fd: boolean;
  readonly stats = new CanDriverStats();
  /** @internal */ ownState: CanBusState = 'error-active';
  /** @internal */ handlers: CanDriverHandlers | null = null;
  /** @internal */ filters: readonly CanFilter[] = [];
  /** @internal */ errorReporting = false;
  /** @internal */ readonly loopback: boolean;
  /** @internal */ readonly hwm: number;
  private closedFlag = false;
  /** @internal True once onClose was called (detached from the bus). */
  finished = false;
  /** @internal */ needDrain = false;
  // The tx ring: frame i is at slot (head + i) % cap.
  /** @internal */ ids: Uint32Array;
  /** @internal */ flagsOf: Uint8Array;
  /** @internal */ lens: Uint8Array;
  /** @internal */ slots: Uint8Array;
  /** @internal */ head = 0;
  /** @internal */ count = 0;

  /** @internal Use MemoryCanBus.attach(). */
  constructor(private readonly bus: MemoryCanBus, name: string, fd: boolean, opts: MemoryCanAttachOptions) {
    this.name = name;
    this.fd = fd;
    this.loopback = opts.loopback ?? false;
    this.hwm = Math.max(1, opts.highWaterMark ?? 64);
    const cap = 16;
    this.ids = new Uint32Array(cap);
    this.flagsOf = new Uint8Array(cap);
    this.lens = new Uint8Array(cap);
    this.slots = new Uint8Array(cap * CAN_FD_MAX_BYTES);
  }

  get state(): CanBusState {
    return this.ownState;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Frames waiting in this driver's tx queue. */
  get queued(): number {
    return this.count;
  }

  start(handlers: CanDriverHandlers): void {
    if (this.handlers !== null) throw new Error(`${this.name}: start() called twice`);
    this.handlers = handlers;
  }

  send(id: number, flags: number, data: Uint8Array, off: number, len: number): boolean {
    if (this.closedFlag) { this.stats.dropped++; return false; }
    checkCanSend(this.name, this.fd, id, flags, len);
    if (this.count === this.ids.length) this.grow();
    const cap = this.ids.length;
    const at = (this.head + this.count) % cap;
    this.ids[at] = id;
    this.flagsOf[at] = (flags & CAN_FLAG_FD) !== 0 ? flags & 0xf : flags & CAN_FLAG_EXTENDED;
    this.lens[at] = len;
    copyBytes(data, off, this.slots, at * CAN_FD_MAX_BYTES, len); // no view per frame
    this.count++;
    this.bus.kick();
    if (this.count > this.hwm) { this.needDrain = true; return false; }
    return true;
  }

  private grow(): void {
    const cap = this.ids.length;
    const n = cap * 2;
    const ids = new Uint32Array(n);
    const fl = new Uint8Array(n);
    const lens = new Uint8Array(n);
    const slots = new Uint8Array(n * CAN_FD_MAX_BYTES);
    for (let i = 0; i < this.count; i++) {
      const s = (this.head + i) % cap;
      ids[i] = this.ids[s]!;
      fl[i] = this.flagsOf[s]!;
      lens[i] = this.lens[s]!;
      slots.set(this.slots.subarray(s * CAN_FD_MAX_BYTES, s * CAN_FD_MAX_BYTES + this.lens[s]!), i * CAN_FD_MAX_BYTES);
    }
    this.ids = ids; this.flagsOf = fl; this.lens = lens; this.slots = slots; this.head = 0;
  }

  setFilters(filters: readonly CanFilter[]): void {
    this.filters = filters.slice();
  }

  setErrorReporting(on: boolean): void {
    this.errorReporting = on;
  }

  /** @internal Does a frame pass this driver's filters? */
  passes(id: number, flags: number): boolean {
    return canFilterPasses(this.filters, id, flags);
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.bus.kick(); // the bus flushes the queue, then finishes the close
  }

  /** @internal Detach and report the close once. */
  finish(err: CellError | null): void {
    if (this.finished) return;
    this.finished = true;
    this.closedFlag = true;
    this.stats.dropped += this.count;
    this.count = 0;
    this.needDrain = false;
    this.bus.detach(this);
    this.handlers?.onClose(err);
  }
}

/** An in-process CAN bus; see the file comment. */
export class MemoryCanBus {
  readonly fd: boolean;
  readonly bitrate: number;
  readonly dataBitrate: number;
  readonly lossEvery: number;
  readonly stats = new MemoryCanBusStats();
  private readonly drivers: MemoryCanDriver[] = [];
  private seq = 0;
  private scheduled = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Paced: when the wire is free again (performance.now() ms). */
  private wireFreeAt = 0;
  private tickUs = 0;
  private events: Array<{ driver: MemoryCanDriver | null; ev: CanBusEvent }> = [];

  constructor(opts: MemoryCanBusOptions = {}) {
    this.fd = opts.fd ?? false;
    this.bitrate = opts.bitrate ?? 0;
    this.dataBitrate = opts.dataBitrate ?? 2_000_000;
    this.lossEvery = opts.lossEvery ?? 0;
  }

  /** A new driver on this bus (name defaults to 'memory:<n>'). */
  attach(name?: string, opts: MemoryCanAttachOptions = {}): MemoryCanDriver {
    const d = new MemoryCanDriver(this, name ?? `memory:${this.seq++}`, this.fd, opts);
    this.drivers.push(d);
    return d;
  }

  /** The drivers attached now. */
  get attached(): readonly MemoryCanDriver[] {
    return this.drivers;
  }

  /** An error frame on the bus: counted by every driver, reported to those with error reporting on. */
  injectErrorFrame(errorClass: number, data?: Uint8Array): void {
    this.stats.errorFrames++;
    const bytes = new Uint8Array(8);
    if (data !== undefined) bytes.set(data.subarray(0, 8));
    for (const d of this.drivers) {
      d.stats.errorFrames++;
      this.events.push({ driver: d, ev: { type: 'error', state: d.ownState, errorClass, data: bytes } });
    }
    this.kick();
  }

  /**
   * Set the error state of one driver's controller, or of every driver (no `driver`). A driver
   * that is 'bus-off' sends and receives nothing; its queued frames wait (send returns false
   * above the high-water mark) until it is 'error-active' (or warning/passive) again.
   */
  setState(state: CanBusState, driver?: MemoryCanDriver): void {
    for (const d of driver === undefined ? this.drivers : [driver]) {
      const prev = d.ownState;
      if (prev === state) continue;
      d.ownState = state;
      this.events.push({ driver: d, ev: { type: 'state', state, errorClass: stateEventClass(state, prev) } });
    }
    this.kick();
  }

  /** The driver's adapter goes away: its queue is dropped, onClose(LinkIo). */
  unplug(driver: MemoryCanDriver): void {
    driver.finish(new CellError(ERR_LINK_IO, `${driver.name}: unplugged`, { name: driver.name }));
  }

  /** @internal */
  detach(d: MemoryCanDriver): void {
    const i = this.drivers.indexOf(d);
    if (i >= 0) this.drivers.splice(i, 1);
  }

  /** @internal Something to do: make sure a tick runs. */
  kick(): void {
    if (this.scheduled || this.timer !== null) return;
    this.scheduled = true;
    setImmediate(this.tick);
  }

  private readonly tick = (): void => {
    this.scheduled = false;
    this.timer = null;
    this.deliverEvents();
    const paced = this.bitrate > 0;
    const now = paced ? performance.now() : 0;
    if (paced && this.wireFreeAt < now - 2) this.wireFreeAt = now; // an idle wire earns no credit
    // Unpaced: a bounded batch per tick, so timers and I/O still run under a flood.
    let budget = paced ? Infinity : 1024;
    this.tickUs = nowUs(); // one receive time per batch, as a driver reading a batch has
    for (;;) {
      const d = this.arbitrate();
      if (d === null) break;
      if (paced) {
        const fl = d.flagsOf[d.head]!;
        const nominal = nominalBits(fl, d.lens[d.head]!);
        const data = dataPhaseBits(fl, d.lens[d.head]!);
        const brs = (fl & CAN_FLAG_BRS) !== 0;
        const ms = ((nominal + (brs ? 0 : data)) / this.bitrate + (brs ? data / this.dataBitrate : 0)) * 1000;
        if (this.wireFreeAt + ms > now) {
          // The frame has not left the wire yet: come back when it has.
          this.timer = setTimeout(this.tick, Math.max(1, Math.ceil(this.wireFreeAt + ms - now)));
          this.finishClosers();
          return;
        }
        this.wireFreeAt += ms;
        this.stats.busyMs += ms;
      }
      this.transmit(d);
      if (--budget === 0) break;
    }
    this.finishClosers();
    if (this.arbitrate() !== null || this.events.length > 0) this.kick();
  };

  /** The driver whose head-of-queue frame wins arbitration now, or null. */
  private arbitrate(): MemoryCanDriver | null {
    let best: MemoryCanDriver | null = null;
    let bestId = Infinity;
    for (let i = 0; i < this.drivers.length; i++) {
      const d = this.drivers[i]!;
      if (d.count === 0 || d.ownState === 'bus-off' || d.finished) continue;
      // Arbitration compares the 11 base bits first; an extended id loses to a standard one
      // with the same base. Approximated by comparing (base << 19 | ext << 18 | rest).
      const id = d.ids[d.head]!;
      const ext = (d.flagsOf[d.head]! & CAN_FLAG_EXTENDED) !== 0;
      const key = ext ? (id >>> 18) * 2 ** 19 + 2 ** 18 + (id & 0x3ffff) : id * 2 ** 19;
      if (key < bestId) { bestId = key; best = d; }
    }
    return best;
  }

  /** Put the head frame of `d` on the wire: every other driver (filters, loopback) receives it. */
  private transmit(d: MemoryCanDriver): void {
    const at = d.head;
    const id = d.ids[at]!;
    const flags = d.flagsOf[at]!;
    const len = d.lens[at]!;
    const off = at * CAN_FD_MAX_BYTES;
    const slots = d.slots;
    d.head = (at + 1) % d.ids.length;
    d.count--;
    d.stats.framesOut++;
    d.stats.bytesOut += len;
    this.stats.frames++;
    this.stats.bits += nominalBits(flags, len) + dataPhaseBits(flags, len);
    const lost = this.lossEvery > 0 && this.stats.frames % this.lossEvery === 0;
    if (lost) this.stats.lost++;
    else {
      const ts = this.tickUs;
      // Index loop over a list that a handler may change (close → detach): copy-free, tolerant.
      const list = this.drivers;
      for (let i = 0; i < list.length; i++) {
        const r = list[i]!;
        if (r === d && !r.loopback) continue;
        if (r.handlers === null || r.finished || r.ownState === 'bus-off' || !r.passes(id, flags)) continue;
        r.stats.framesIn++;
        r.stats.bytesIn += len;
        r.handlers.onFrame(id, flags, slots, off, len, ts);
        if (list[i] !== r) i--; // r detached itself
      }
    }
    if (d.needDrain && d.count <= d.hwm >> 1 && !d.closed) {
      d.needDrain = false;
      d.handlers?.onDrain?.();
    }
  }

  private deliverEvents(): void {
    if (this.events.length === 0) return;
    const evs = this.events;
    this.events = [];
    for (const { driver, ev } of evs) {
      if (driver === null || driver.finished || !driver.errorReporting) continue;
      driver.handlers?.onBusEvent?.(ev);
    }
  }

  /** Closed drivers whose queue is empty (or can never drain: bus-off) finish now. */
  private finishClosers(): void {
    for (let i = 0; i < this.drivers.length; i++) {
      const d = this.drivers[i]!;
      if (!d.closed || d.finished) continue;
      if (d.count === 0 || d.ownState === 'bus-off') {
        d.finish(null);
        i--;
      }
    }
  }
}
