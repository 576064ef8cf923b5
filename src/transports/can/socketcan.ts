// The SocketCAN driver (docs/can.md §"Drivers"): a raw CAN socket (classic or FD) through our
// own addon, native/can/cell_can.c (loader: ./native.ts). Implements the CanDriver contract of
// ./driver.ts:
// - Receive: the addon reads with recvmmsg in batches into one ArrayBuffer made once per socket
//   and calls `onBatch(count)`; this file walks the batch and calls `onFrame` with views into
//   that buffer — no object, no Buffer per frame. Kernel receive timestamps (SO_TIMESTAMP) and
//   the kernel's drop counter (SO_RXQ_OVFL → stats.rxOverflows) come with each batch (the kernel
//   stamps the count on frames queued after a drop, so it shows with the next frame received).
// - Send: frames are copied into a ring of 80-byte slots (the addon's transmit layout) and
//   written with sendmmsg from a microtask, so a burst of `send` calls in one tick is one system
//   call per 64 frames. A full kernel queue (ENOBUFS from the qdisc, EAGAIN from the socket
//   buffer) keeps the frames queued and retries after 1 ms, doubling up to 20 ms: nothing is
//   dropped. `send` returns false at the high-water mark (the ring grows, the frame is queued);
//   `onDrain` follows when the queue is back at half of it.
// - Error frames (CAN_RAW_ERR_FILTER) only when error reporting is on: counted, reported through
//   `onBusEvent`, and the controller state derived from them (CAN_ERR_CRTL warning/passive/active,
//   CAN_ERR_BUSOFF, CAN_ERR_RESTARTED).
//
// Loopback: CAN_RAW_LOOPBACK stays on by default (the kernel default) — other sockets of this
// host see our frames as other nodes on a real bus would, and on a vcan it is the only way frames
// reach anyone. CAN_RAW_RECV_OWN_MSGS (this socket hearing its own frames) is off by default.
import { constants as osConstants } from 'node:os';
import { CellError } from '../../wire/cell-error.ts';
import { ERR_CAN_NO_INTERFACE, ERR_CAN_UNAVAILABLE, ERR_LINK_IO } from '../../wire/errors.ts';
import {
  CAN_FLAG_BRS, CAN_FLAG_ESI, CAN_FLAG_EXTENDED, CAN_FLAG_FD, CanDriverStats, isValidCanLength,
  type CanBusEvent, type CanBusState, type CanDriver, type CanDriverHandlers, type CanFilter,
} from './driver.ts';
import { CAN_SLOT_BYTES, canAddonStatus, loadCanAddon, type CanAddon, type CanAddonHandle } from './native.ts';

export interface SocketCanOptions {
  /** Send and receive CAN FD frames (the interface MTU must be 72). Default false. */
  readonly fd?: boolean;
  /** Report error frames and state changes through onBusEvent (CAN_RAW_ERR_FILTER). Default false. */
  readonly errorReporting?: boolean;
  /** Kernel filters (CAN_RAW_FILTER, at most 512); empty or absent = every frame. */
  readonly filters?: readonly CanFilter[];
  /** Frames queued in this driver before `send` returns false. Default 64. */
  readonly highWaterFrames?: number;
  /** CAN_RAW_LOOPBACK: other sockets of this host receive our frames. Default true (the kernel's). */
  readonly loopback?: boolean;
  /** CAN_RAW_RECV_OWN_MSGS: this socket receives its own frames. Default false. */
  readonly receiveOwn?: boolean;
  /** recvmmsg batch size, 1–256. Default 64. */
  readonly rxBatch?: number;
  /**
   * The socket's receive buffer in bytes (SO_RCVBUF; SO_RCVBUFFORCE with CAP_NET_ADMIN, else
   * capped at net.core.rmem_max). A CAN bus has no flow control: frames that arrive while this
   * process is busy wait here, and past it the kernel drops them (stats.rxOverflows). Each frame
   * costs ~1 KiB of it (skb overhead), so the default (~200 KiB) holds ~280 frames, ~70 ms of a
   * saturated 500 kbit/s bus. Default: the kernel's.
   */
  readonly receiveBufferBytes?: number;
}

// linux/can.h
const CAN_EFF_FLAG = 0x80000000;
const CAN_RTR_FLAG = 0x40000000;
const CAN_ERR_FLAG = 0x20000000;
const CAN_EFF_MASK = 0x1fffffff;
const CAN_SFF_MASK = 0x7ff;
const CAN_ERR_MASK = 0x1fffffff;
const CANFD_BRS = 0x01;
const CANFD_ESI = 0x02;
// linux/can/error.h
const CAN_ERR_CRTL = 0x4;
const CAN_ERR_BUSOFF = 0x40;
const CAN_ERR_RESTARTED = 0x100;
const CAN_ERR_CRTL_RX_WARNING = 0x04;
const CAN_ERR_CRTL_TX_WARNING = 0x08;
const CAN_ERR_CRTL_RX_PASSIVE = 0x10;
const CAN_ERR_CRTL_TX_PASSIVE = 0x20;
const CAN_ERR_CRTL_ACTIVE = 0x40;
const CAN_RAW_FILTER_MAX = 512;

const E = osConstants.errno;
const BACKOFF_FIRST_MS = 1;
const BACKOFF_MAX_MS = 20;
const TX_BATCH = 64;
const SLOT = CAN_SLOT_BYTES;

/** The CAN_RAW_FILTER pairs for `filters` ([0, 0] = everything). */
export function canFilterPairs(filters: readonly CanFilter[] | undefined): Uint32Array {
  if (filters === undefined || filters.length === 0) return new Uint32Array([0, 0]);
  if (filters.length > CAN_RAW_FILTER_MAX) throw new RangeError(`at most ${CAN_RAW_FILTER_MAX} CAN filters (CAN_RAW_FILTER_MAX), got ${filters.length}`);
  const out = new Uint32Array(filters.length * 2);
  filters.forEach((f, i) => {
    const ext = f.extended !== false;
    const m = ext ? CAN_EFF_MASK : CAN_SFF_MASK;
    out[2 * i] = ((f.id & m) | (ext ? CAN_EFF_FLAG : 0)) >>> 0;
    out[2 * i + 1] = ((f.mask & m) | CAN_EFF_FLAG | CAN_RTR_FLAG) >>> 0; // same id width, no remote frames
  });
  return out;
}

/** The controller state after an error frame of class `errorClass` with data byte 1 `ctrl`, from `prev`. */
export function nextCanBusState(prev: CanBusState, errorClass: number, ctrl: number): CanBusState {
  if (errorClass & CAN_ERR_BUSOFF) return 'bus-off';
  let next = prev;
  if (errorClass & CAN_ERR_RESTARTED) next = 'error-active';
  if (errorClass & CAN_ERR_CRTL) {
    if (ctrl & (CAN_ERR_CRTL_RX_PASSIVE | CAN_ERR_CRTL_TX_PASSIVE)) next = 'error-passive';
    else if (ctrl & (CAN_ERR_CRTL_RX_WARNING | CAN_ERR_CRTL_TX_WARNING)) next = 'error-warning';
    else if (ctrl & CAN_ERR_CRTL_ACTIVE) next = 'error-active';
  }
  return next;
}

/** A CellError for an addon error thrown by open (EAFNOSUPPORT, ENODEV, …) or reported later. */
function mapError(ifname: string, err: { code?: unknown; message?: unknown; errno?: unknown; syscall?: unknown }): CellError {
  const code = typeof err.code === 'string' ? err.code : 'UNKNOWN';
  const detail = { interface: ifname, errno: code, syscall: err.syscall };
  const msg = String(err.message ?? code);
  switch (code) {
    case 'EAFNOSUPPORT':
    case 'EPROTONOSUPPORT':
      return new CellError(ERR_CAN_UNAVAILABLE, `SocketCAN is not available: this kernel has no AF_CAN (socket(PF_CAN) failed with ${code}); on Linux load it with \`modprobe can-raw\`, elsewhere use an slcan adapter (slcan:/dev/ttyACM0)`, detail);
    case 'ENODEV':
    case 'ENXIO':
      return new CellError(ERR_CAN_NO_INTERFACE, `no CAN interface "${ifname}": create or check it (\`ip link\`; \`ip link add dev ${ifname} type vcan\` for a virtual bus)`, detail);
    case 'ENETDOWN':
      return new CellError(ERR_CAN_NO_INTERFACE, `the CAN interface "${ifname}" is down: \`ip link set ${ifname} up\` (a real controller: \`ip link set ${ifname} up type can bitrate 500000 restart-ms 100\`)`, detail);
    case 'ENOTCANFD':
      return new CellError(ERR_CAN_NO_INTERFACE, `"${ifname}" is not a CAN FD interface: ${msg.replace(/^cell_can: /, '')}`, detail);
    default:
      return new CellError(ERR_LINK_IO, `CAN interface "${ifname}": ${msg.replace(/^cell_can: /, '')}`, detail);
  }
}

export class SocketCanDriver implements CanDriver {
  readonly name: string;
  readonly fd: boolean;
  readonly stats = new CanDriverStats();
  private _state: CanBusState = 'unknown';
  private _closed = false;
  private handlers: CanDriverHandlers | null = null;
  private errorReporting: boolean;
  private readonly highWater: number;
  private readonly lowWater: number;
  private readonly addon: CanAddon;
  private readonly h: CanAddonHandle;
  private readonly rxU8: Uint8Array;
  private readonly rxU32: Uint32Array;
  private readonly rxF64: Float64Array;
  // Transmit ring of SLOT-byte slots: [head, head+count) modulo cap.
  private tx: ArrayBuffer;
  private txU8: Uint8Array;
  private txU32: Uint32Array;
  private cap: number;
  private head = 0;
  private count = 0;
  private flushScheduled = false;
  private backoffTimer: ReturnType<typeof setTimeout> | null = null;
  private backoffMs = BACKOFF_FIRST_MS;
  private needDrain = false;
  private readonly flushBound = (): void => this.flush();
  private readonly retryBound = (): void => { this.backoffTimer = null; this.flush(); };

  constructor(ifname: string, opts: SocketCanOptions = {}) {
    const addon = loadCanAddon();
    if (addon === null) throw new CellError(ERR_CAN_UNAVAILABLE, `SocketCAN is not available: ${canAddonStatus().reason}`, { interface: ifname });
    this.addon = addon;
    this.name = ifname;
    this.fd = opts.fd === true;
    this.errorReporting = opts.errorReporting === true;
    this.highWater = Math.max(1, Math.floor(opts.highWaterFrames ?? 64));
    this.lowWater = Math.floor(this.highWater / 2);
    const filters = canFilterPairs(opts.filters);
    try {
      this.h = addon.open(ifname, {
        fd: this.fd, loopback: opts.loopback !== false, recvOwn: opts.receiveOwn === true,
        errMask: this.errorReporting ? CAN_ERR_MASK : 0, filters, slots: opts.rxBatch ?? 64,
        rcvbuf: opts.receiveBufferBytes ?? 0,
      }, (n, ovf) => this.onBatch(n, ovf), (code, errno, message) => {
        this.stats.errIo++;
        this.fail(mapError(ifname, { code, errno, message }));
      });
    } catch (err) {
      if (err instanceof TypeError || err instanceof RangeError) throw err;
      throw mapError(ifname, err as { code?: unknown });
    }
    this.rxU8 = new Uint8Array(this.h.rx);
    this.rxU32 = new Uint32Array(this.h.rx);
    this.rxF64 = new Float64Array(this.h.rx);
    this.cap = 64;
    while (this.cap < this.highWater * 2) this.cap *= 2;
    this.tx = new ArrayBuffer(this.cap * SLOT);
    this.txU8 = new Uint8Array(this.tx);
    this.txU32 = new Uint32Array(this.tx);
  }

  get state(): CanBusState { return this._state; }
  get closed(): boolean { return this._closed; }
  /** Frames waiting in this driver's queue (not yet accepted by the kernel). */
  get queued(): number { return this.count; }

  start(handlers: CanDriverHandlers): void {
    if (this.handlers !== null) throw new Error(`SocketCAN ${this.name}: start() was already called`);
    this.handlers = handlers;
    if (this._closed) return;
    this.addon.start(this.h);
  }

  send(id: number, flags: number, data: Uint8Array, off: number, len: number): boolean {
    if (this._closed) {
      this.stats.dropped++;
      return false;
    }
    const isFd = (flags & CAN_FLAG_FD) !== 0;
    if (isFd && !this.fd) throw new RangeError(`SocketCAN ${this.name}: a CAN FD frame on a driver opened without fd`);
    if (!isValidCanLength(len, isFd) || off < 0 || off + len > data.length) {
      throw new RangeError(`SocketCAN ${this.name}: bad frame length ${len} (classic 0–8; FD also 12, 16, 20, 24, 32, 48, 64) or range [${off}, ${off + len}) of ${data.length}`);
    }
    if (this.count === this.cap) this.grow();
    let slot = this.head + this.count;
    if (slot >= this.cap) slot -= this.cap;
    const base = slot * SLOT;
    const ext = (flags & CAN_FLAG_EXTENDED) !== 0;
    const u8 = this.txU8;
    this.txU32[base >>> 2] = isFd ? 72 : 16;
    this.txU32[(base >>> 2) + 2] = ext ? ((id & CAN_EFF_MASK) | CAN_EFF_FLAG) >>> 0 : id & CAN_SFF_MASK;
    u8[base + 12] = len;
    u8[base + 13] = isFd ? ((flags & CAN_FLAG_BRS) !== 0 ? CANFD_BRS : 0) | ((flags & CAN_FLAG_ESI) !== 0 ? CANFD_ESI : 0) : 0;
    u8[base + 14] = 0;
    u8[base + 15] = 0;
    const d = base + 16;
    for (let i = 0; i < len; i++) u8[d + i] = data[off + i]!;
    const padEnd = isFd ? 64 : 8;
    for (let i = len; i < padEnd; i++) u8[d + i] = 0;
    this.count++;
    if (!this.flushScheduled && this.backoffTimer === null) {
      this.flushScheduled = true;
      queueMicrotask(this.flushBound);
    }
    if (this.count >= this.highWater) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  setFilters(filters: readonly CanFilter[]): void {
    if (this._closed) return;
    this.addon.setFilters(this.h, canFilterPairs(filters));
  }

  setErrorReporting(on: boolean): void {
    this.errorReporting = on;
    if (this._closed) return;
    this.addon.setErrorMask(this.h, on ? CAN_ERR_MASK : 0);
  }

  close(): void {
    if (this._closed) return;
    if (this.backoffTimer !== null) clearTimeout(this.backoffTimer);
    this.backoffTimer = null;
    this.writeOut(); // what the kernel takes now; the rest is counted as dropped
    this.finish(null);
  }

  // --- receive -------------------------------------------------------------------------------

  private onBatch(n: number, overflowTotal: number): void {
    const hd = this.handlers;
    if (hd === null) return;
    const u8 = this.rxU8;
    const u32 = this.rxU32;
    const st = this.stats;
    st.rxOverflows = overflowTotal;
    for (let i = 0; i < n && !this._closed; i++) {
      const base = i * SLOT;
      const raw = u32[(base >>> 2) + 2]!;
      const len = u8[base + 12]!;
      if ((raw & CAN_ERR_FLAG) !== 0) {
        st.errorFrames++;
        this.onErrorFrame(raw & CAN_ERR_MASK, base);
        continue;
      }
      const isFd = u8[base + 14] === 1;
      if ((raw & CAN_RTR_FLAG) !== 0 || len > (isFd ? 64 : 8)) {
        st.ignored++;
        continue;
      }
      const ext = (raw & CAN_EFF_FLAG) !== 0;
      let flags = ext ? CAN_FLAG_EXTENDED : 0;
      if (isFd) {
        const f = u8[base + 13]!;
        flags |= CAN_FLAG_FD | ((f & CANFD_BRS) !== 0 ? CAN_FLAG_BRS : 0) | ((f & CANFD_ESI) !== 0 ? CAN_FLAG_ESI : 0);
      }
      st.framesIn++;
      st.bytesIn += len;
      hd.onFrame(ext ? raw & CAN_EFF_MASK : raw & CAN_SFF_MASK, flags, u8, base + 16, len, this.rxF64[base >>> 3]!);
    }
  }

  private onErrorFrame(errorClass: number, base: number): void {
    const hd = this.handlers;
    const prev = this._state;
    const next = nextCanBusState(prev, errorClass, this.rxU8[base + 16 + 1]!);
    this._state = next;
    if (!this.errorReporting || hd === null || hd.onBusEvent === undefined) return;
    const data = this.rxU8.slice(base + 16, base + 24); // rare (error reporting is opt-in): a copy is fine
    const ev: CanBusEvent = { type: 'error', state: next, errorClass, data };
    hd.onBusEvent(ev);
    if (next !== prev && !this._closed) hd.onBusEvent({ type: 'state', state: next, errorClass });
  }

  // --- transmit ------------------------------------------------------------------------------

  private grow(): void {
    const cap = this.cap * 2;
    const tx = new ArrayBuffer(cap * SLOT);
    const u8 = new Uint8Array(tx);
    const firstPart = Math.min(this.count, this.cap - this.head);
    u8.set(this.txU8.subarray(this.head * SLOT, (this.head + firstPart) * SLOT), 0);
    if (firstPart < this.count) u8.set(this.txU8.subarray(0, (this.count - firstPart) * SLOT), firstPart * SLOT);
    this.tx = tx;
    this.txU8 = u8;
    this.txU32 = new Uint32Array(tx);
    this.cap = cap;
    this.head = 0;
  }

  /** Writes what the kernel accepts now; returns the errno that stopped it (0 = queue empty). */
  private writeOut(): number {
    while (this.count > 0 && !this._closed) {
      const n = Math.min(this.count, this.cap - this.head, TX_BATCH);
      const r = this.addon.send(this.h, this.tx, this.head, n);
      if (r < 0) {
        const errno = -r;
        if (errno === E.EINVAL || errno === E.EMSGSIZE) { // the kernel refused this one frame: count it, go on
          this.stats.errIo++;
          this.advance(1, false);
          continue;
        }
        return errno;
      }
      this.advance(r, true);
    }
    return 0;
  }

  private advance(n: number, sent: boolean): void {
    if (sent) {
      let bytes = 0;
      for (let i = 0; i < n; i++) bytes += this.txU8[(this.head + i) * SLOT + 12]!;
      this.stats.framesOut += n;
      this.stats.bytesOut += bytes;
    }
    this.head += n;
    if (this.head >= this.cap) this.head -= this.cap;
    this.count -= n;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this._closed || this.backoffTimer !== null) return;
    const before = this.count;
    const errno = this.writeOut();
    if (this.count < before) this.backoffMs = BACKOFF_FIRST_MS;
    if (errno === E.EAGAIN || errno === E.ENOBUFS || errno === E.EWOULDBLOCK) {
      this.stats.txBackoffs++;
      this.backoffTimer = setTimeout(this.retryBound, this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    } else if (errno !== 0) {
      const code = Object.entries(E).find(([, v]) => v === errno)?.[0] ?? `errno ${errno}`;
      if (code !== 'EBADF') this.stats.errIo++;
      this.fail(mapError(this.name, { code, message: `sendmmsg failed: ${code}` }));
      return;
    }
    if (this.needDrain && this.count <= this.lowWater) {
      this.needDrain = false;
      this.handlers?.onDrain?.();
    }
  }

  private fail(err: CellError): void {
    if (this._closed) return;
    if (this.backoffTimer !== null) clearTimeout(this.backoffTimer);
    this.backoffTimer = null;
    this.finish(err);
  }

  private finish(err: CellError | null): void {
    this._closed = true;
    this.stats.dropped += this.count;
    this.count = 0;
    this.addon.close(this.h);
    this.handlers?.onClose(err);
  }
}

/**
 * Opens a raw SocketCAN socket on `ifname` (e.g. 'can0', 'vcan0'). Throws a CellError:
 * CanUnavailable (900) when the addon is absent or the kernel has no AF_CAN, CanNoInterface (901)
 * when the interface does not exist, is down, or is not CAN FD while `fd` is asked, LinkIo (501)
 * otherwise. Call `start(handlers)` to begin receiving (frames wait in the kernel until then).
 */
export function openSocketCan(ifname: string, opts: SocketCanOptions = {}): SocketCanDriver {
  return new SocketCanDriver(ifname, opts);
}
