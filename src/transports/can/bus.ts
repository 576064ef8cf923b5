// Cell over a CAN bus (docs/can.md, docs/wire-format.md §8): one CanBus per interface and node
// id, one CanPeerLink per node this node talks to. A peer link is an ordinary Link (docs/rpc.md
// §2): the rpc layer sends and receives whole Cell frames; the link carries them in the compact
// profile — header in the CAN id and a short prefix (src/framing/can-header.ts), payload cut into
// frames with a tail byte (src/framing/can-transfer.ts) — and puts them back on arrival.
//
// What the link keeps per peer: the two HELLO tables (its own, from the HELLO the rpc layer sends
// over it; the peer's, from the HELLO it receives), which make ports out of method keys, and
// the caller's call table (calls.ts). Transfers are reassembled once per bus, in fixed memory
// shared by all senders (at most `perSourceSlots` per node). Frames from a node this bus has no
// link for open one (`onPeer`), so a serving node answers whoever calls it, and a gateway learns
// who is on the bus from their HELLO broadcasts.
import { CellError } from '../../wire/cell-error.ts';
import { ERR_CAN_STALE_ENTRY, ERR_CAN_TRANSFER_CRC, ERR_LINK_CLOSED } from '../../wire/errors.ts';
import {
  CAN_EXPLICIT_PREFIX_BYTES, CAN_NODE_BROADCAST, CAN_NODE_MAX, CAN_TRANSFER_CRC_BYTES, HELLO_FLAG_ANSWER,
  HELLO_OFF_FLAGS,
} from '../../wire/layouts.ts';
import {
  HEADER_BYTES, Header, KIND_CANCEL, KIND_CREDIT, KIND_ERROR, KIND_HELLO, KIND_REQUEST, KIND_RESPONSE,
  KIND_STREAM_END, readHeader, writeHeader,
} from '../../wire/header.ts';
import { CAN_PENDING, CanReassembler, CanTxTransfer } from '../../framing/can-transfer.ts';
import {
  CanCompact, CanKeyTable, canCompress, canExpand, canIdDst, canIdKind, canIdSrc, canKindAnswer,
} from '../../framing/can-header.ts';
import { checkMtu, copyBytes, LinkStats, type Link, type LinkCapabilities, type LinkHandlers } from '../link.ts';
import { CanCallTable } from './calls.ts';
import {
  CAN_FLAG_BRS, CAN_FLAG_EXTENDED, CAN_FLAG_FD, type CanBusEvent, type CanDriver,
} from './driver.ts';

export interface CanBusOptions {
  /** This node's id, 0–126. */
  node: number;
  /** Send CAN FD frames (the driver must be FD-capable). Receiving takes both kinds regardless. */
  fd?: boolean;
  /** With fd: switch to the data bitrate for the data phase (BRS). Default true. */
  brs?: boolean;
  /** Largest Cell frame (header included) a peer link sends and accepts: its MTU. Default 4096. */
  maxFrameBytes?: number;
  /** Transfers reassembled at once, all senders together. Default 16. */
  reassemblySlots?: number;
  /** Of which one source node may hold at most. Default 4. */
  perSourceSlots?: number;
  /** A multi-frame transfer not complete after this long is dropped. Default 1000 ms. */
  transferTimeoutMs?: number;
  /** Frames a peer link holds for its owner before `start` (then they are dropped, counted). Default 64. */
  heldFrames?: number;
  /** Clock in ms (tests); default performance.now. */
  now?: () => number;
}

/** Counters of the bus (each refused frame or transfer is counted once). */
export class CanBusStats {
  framesIn = 0;
  framesOut = 0;
  transfersIn = 0;
  transfersOut = 0;
  /** Frames for other nodes, standard-id frames, our own echo: not ours. */
  foreign = 0;
  /** Frames or transfers refused by the reassembler or the compact header, by code. */
  errTransfer = 0;
  errBadFrame = 0;
  staleEntries = 0;
  /** Answers for calls this node no longer has. */
  lateAnswers = 0;
  /** Frames held for a link that was never started, dropped. */
  heldDropped = 0;
}

/** Resolution of the reassembler's clock (transfer timeouts). */
const CLOCK_TICK_MS = 50;

/** One CAN interface, one node id: the transfers, the peers. */
export class CanBus {
  readonly node: number;
  readonly driver: CanDriver;
  readonly fd: boolean;
  readonly maxFrameBytes: number;
  readonly stats = new CanBusStats();
  readonly reassembler: CanReassembler;
  /** A node this bus has no link for sent a frame: `link` is new, not started; start it (serve, connect) or close it. */
  onPeer: ((node: number, link: CanPeerLink) => void) | null = null;
  /** A node sent a HELLO (`answer`: flags bit 2, it answers one of ours): for discovery and restart detection. */
  onHello: ((node: number, answer: boolean) => void) | null = null;
  /** Error frames and state changes, when the driver reports them. */
  onBusEvent: ((event: CanBusEvent) => void) | null = null;
  /** The driver closed (unplugged adapter, interface gone): every link closes with this error. */
  onClose: ((err: CellError | null) => void) | null = null;

  private readonly peers = new Map<number, CanPeerLink>();
  private readonly tx = new CanTxTransfer();
  private readonly compact = new CanCompact();
  private readonly frameBuf = new Uint8Array(64);
  private readonly flagsOut: number;
  private readonly now: () => number;
  readonly heldFrames: number;
  private started = false;
  /**
   * The reassembler's clock: whole milliseconds in 30 bits, read every CLOCK_TICK_MS by a timer
   * rather than per frame (a small integer: reading performance.now() per frame boxes a number).
   */
  private clockMs = 0;
  private clockTimer: ReturnType<typeof setInterval> | null = null;
  private closedFlag = false;
  private backpressure = false;

  constructor(driver: CanDriver, opts: CanBusOptions) {
    if (!Number.isInteger(opts.node) || opts.node < 0 || opts.node > CAN_NODE_MAX) {
      throw new RangeError(`CAN node id must be 0–${CAN_NODE_MAX}, got ${opts.node}`);
    }
    this.node = opts.node;
    this.driver = driver;
    this.fd = opts.fd ?? false;
    if (this.fd && !driver.fd) throw new RangeError(`${driver.name} does not send CAN FD frames: open it with fd, or use classic CAN`);
    this.flagsOut = CAN_FLAG_EXTENDED | (this.fd ? CAN_FLAG_FD | ((opts.brs ?? true) ? CAN_FLAG_BRS : 0) : 0);
    this.maxFrameBytes = opts.maxFrameBytes ?? 4096;
    if (this.maxFrameBytes < 64) throw new RangeError('maxFrameBytes must be at least 64');
    const transferMax = this.maxFrameBytes - HEADER_BYTES + CAN_EXPLICIT_PREFIX_BYTES + CAN_TRANSFER_CRC_BYTES;
    this.reassembler = new CanReassembler(opts.reassemblySlots ?? 16, transferMax, opts.perSourceSlots ?? 4, opts.transferTimeoutMs ?? 1000);
    this.heldFrames = opts.heldFrames ?? 64;
    this.now = opts.now ?? (() => performance.now());
  }

  get closed(): boolean { return this.closedFlag; }

  /** Start receiving: frames addressed to this node or to all reach the peers. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.clockMs = (this.now() | 0) & 0x3fffffff;
    this.clockTimer = setInterval(() => {
      this.clockMs = (this.now() | 0) & 0x3fffffff;
      this.reassembler.sweep(this.clockMs); // a transfer that stopped mid-way frees its slot on time
    }, CLOCK_TICK_MS);
    this.clockTimer.unref?.();
    this.driver.setFilters?.([
      { id: this.node << 7, mask: 0x7f << 7 },
      { id: CAN_NODE_BROADCAST << 7, mask: 0x7f << 7 },
    ]);
    this.driver.start({
      onFrame: (id, flags, data, off, len) => this.receive(id, flags, data, off, len),
      onBusEvent: (ev) => this.onBusEvent?.(ev),
      onDrain: () => this.drained(),
      onClose: (err) => this.driverClosed(err),
    });
  }

  /** The link to `node` (made on first use; the same one until it closes). */
  peer(node: number): CanPeerLink {
    if (!Number.isInteger(node) || node < 0 || node > CAN_NODE_MAX) throw new RangeError(`CAN node id must be 0–${CAN_NODE_MAX}, got ${node}`);
    let link = this.peers.get(node);
    if (link === undefined || link.closed) {
      link = new CanPeerLink(this, node);
      this.peers.set(node, link);
    }
    return link;
  }

  /** Nodes with a link now. */
  peerNodes(): number[] {
    return [...this.peers.keys()].sort((a, b) => a - b);
  }

  /** Close every link and the driver. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.stopClock();
    for (const link of [...this.peers.values()]) link.close();
    this.driver.close();
  }

  /** @internal */
  forget(link: CanPeerLink): void {
    if (this.peers.get(link.node) === link) this.peers.delete(link.node);
  }

  /** @internal Send one transfer; false = the driver is over its high-water mark (all queued). */
  sendTransfer(link: CanPeerLink, h: Header, payload: Uint8Array, payloadOff: number, callTid: number, rollingTid: number): boolean {
    const c = this.compact;
    canCompress(h, this.node, link.node, link.ownTable, link.peerTable, callTid, rollingTid, c);
    this.tx.begin(c.prefix, c.prefixLen, payload, payloadOff, h.length, this.fd, c.tid);
    let ok = true;
    for (let n = this.tx.next(this.frameBuf, 0); n > 0; n = this.tx.next(this.frameBuf, 0)) {
      if (!this.driver.send(c.id, this.flagsOut, this.frameBuf, 0, n)) ok = false;
      this.stats.framesOut++;
    }
    this.stats.transfersOut++;
    if (!ok) this.backpressure = true;
    return ok;
  }

  private receive(id: number, flags: number, data: Uint8Array, off: number, len: number): void {
    this.stats.framesIn++;
    if ((flags & CAN_FLAG_EXTENDED) === 0) { this.stats.foreign++; return; }
    const dst = canIdDst(id);
    const src = canIdSrc(id);
    if ((dst !== this.node && dst !== CAN_NODE_BROADCAST) || src === this.node) { this.stats.foreign++; return; }
    const n = this.reassembler.push(id, data, off, len, this.clockMs);
    if (n === CAN_PENDING) return;
    if (n < 0) {
      this.stats.errTransfer++;
      const from = this.peers.get(src); // counted on the link of the node it claims to come from, too
      if (from !== undefined) {
        if (n === -ERR_CAN_TRANSFER_CRC) from.stats.errCrc++;
        else from.stats.errMalformed++;
      }
      return;
    }
    this.stats.transfersIn++;
    if (src > CAN_NODE_MAX) { this.stats.errBadFrame++; return; }
    let link = this.peers.get(src);
    if (link === undefined || link.closed) {
      link = this.peer(src);
      this.onPeer?.(src, link);
    }
    link.receiveTransfer(id, this.reassembler.buf, this.reassembler.off, n, this.reassembler.tid);
  }

  private drained(): void {
    if (!this.backpressure) return;
    this.backpressure = false;
    for (const link of [...this.peers.values()]) link.drained();
  }

  private stopClock(): void {
    if (this.clockTimer !== null) clearInterval(this.clockTimer);
    this.clockTimer = null;
  }

  private driverClosed(err: CellError | null): void {
    this.closedFlag = true;
    this.stopClock();
    const e = err ?? null;
    for (const link of [...this.peers.values()]) link.closeWith(e ?? new CellError(ERR_LINK_CLOSED, `CAN driver ${this.driver.name} closed`));
    this.onClose?.(e);
  }
}

/** The link between this node and one other node on the bus. */
export class CanPeerLink implements Link {
  readonly caps: LinkCapabilities;
  readonly stats = new LinkStats();
  readonly bus: CanBus;
  /** The other node's id. */
  readonly node: number;
  /** @internal This side's table (from the HELLO sent over this link) and the peer's (from its HELLO). */
  readonly ownTable = new CanKeyTable();
  readonly peerTable = new CanKeyTable();
  private readonly calls = new CanCallTable();
  // Two headers: a send from inside onFrame, onPeer or onHello (an answer, a HELLO back) must not
  // overwrite the header of the frame being received.
  private readonly txHeader = new Header();
  private readonly rxHeader = new Header();
  private readonly rx: Uint8Array;
  private handlers: LinkHandlers | null = null;
  private held: Uint8Array[] = [];
  private closedFlag = false;
  private rollingTid = 0;
  private wasFull = false;

  constructor(bus: CanBus, node: number) {
    this.bus = bus;
    this.node = node;
    this.caps = { kind: 'datagram', reliable: false, mtu: bus.maxFrameBytes, framing: 'none' };
    this.rx = new Uint8Array(bus.maxFrameBytes);
  }

  get closed(): boolean { return this.closedFlag; }

  /** Calls of this side in flight on the bus (compact or explicit). */
  get callsInFlight(): number { return this.calls.size; }

  start(handlers: LinkHandlers): void {
    if (this.handlers !== null) throw new Error('CanPeerLink.start called twice');
    this.handlers = handlers;
    const held = this.held;
    this.held = [];
    for (const f of held) {
      if (this.closedFlag) break;
      handlers.onFrame(f, 0, f.length);
    }
  }

  send(frame: Uint8Array, len: number = frame.length): boolean {
    checkMtu(len, this.caps.mtu);
    if (this.closedFlag || this.bus.closed) { this.stats.dropped++; return false; }
    const h = this.txHeader;
    const r = readHeader(frame, 0, len, this.caps.mtu - HEADER_BYTES, h);
    if (r < 0) { this.stats.errMalformed++; return true; } // our own rpc layer never does this
    let callTid = -1;
    const kind = h.kind;
    if (kind === KIND_HELLO) {
      this.ownTable.loadHello(frame, HEADER_BYTES, h.length);
    } else if (kind === KIND_REQUEST) {
      const port = h.channel === 0 ? this.peerTable.indexOf(h.keyLo, h.keyHi) : -1;
      callTid = this.calls.open(h.callId, port);
      if (callTid < 0) h.callId = this.calls.wireIdOf(h.callId);
    } else if (kind === KIND_CANCEL || kind === KIND_CREDIT) {
      callTid = this.calls.tidOf(h.callId);
      if (callTid === -2) { this.stats.dropped++; return true; } // a call that already ended: nothing to tell
      if (callTid < 0) h.callId = this.calls.wireIdOf(h.callId);
      if (kind === KIND_CANCEL) this.calls.close(this.callIdBefore(frame));
    }
    const tid = this.rollingTid;
    this.rollingTid = (tid + 1) & 31;
    const ok = this.bus.sendTransfer(this, h, frame, HEADER_BYTES, callTid, tid);
    this.stats.framesOut++;
    this.stats.bytesOut += len;
    if (!ok && !this.wasFull) {
      this.wasFull = true;
      this.handlers?.onBackpressure?.();
    }
    return ok;
  }

  /** The call id as the rpc layer wrote it (the header object may have been rewritten to a wire id). */
  private callIdBefore(frame: Uint8Array): number {
    return (frame[4]! | (frame[5]! << 8) | (frame[6]! << 16) | (frame[7]! << 24)) >>> 0;
  }

  close(): void {
    this.closeWith(null);
  }

  /** @internal */
  closeWith(err: CellError | null): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.calls.clear();
    this.held = [];
    this.bus.forget(this);
    this.handlers?.onClose(err);
  }

  /** @internal The driver accepts frames again. */
  drained(): void {
    if (!this.wasFull) return;
    this.wasFull = false;
    this.handlers?.onDrain?.();
  }

  /** @internal A complete transfer from this peer. */
  receiveTransfer(id: number, buf: Uint8Array, off: number, len: number, tid: number): void {
    if (this.closedFlag) return;
    const h = this.rxHeader;
    const stats = this.bus.stats;
    const prefix = canExpand(id, buf, off, len, tid, this.ownTable, this.peerTable, h);
    let payloadOff = off + prefix;
    if (prefix < 0) {
      if (prefix !== -ERR_CAN_STALE_ENTRY) { stats.errBadFrame++; this.stats.errMalformed++; return; }
      stats.staleEntries++; // delivered with key 0: the rpc layer answers UnknownMethod, the caller learns at once
      payloadOff = off + 1;
    }
    const kind = canIdKind(id);
    if (canKindAnswer(kind)) {
      const call = this.calls.answer(h.callId, kind === KIND_RESPONSE || kind === KIND_ERROR || kind === KIND_STREAM_END);
      if (call < 0) { stats.lateAnswers++; return; }
      h.callId = call;
    }
    const total = HEADER_BYTES + h.length;
    if (total > this.rx.length) { this.stats.errOversize++; return; }
    if (kind === KIND_HELLO) {
      this.peerTable.loadHello(buf, payloadOff, h.length);
      this.bus.onHello?.(this.node, h.length > HELLO_OFF_FLAGS && (buf[payloadOff + HELLO_OFF_FLAGS]! & HELLO_FLAG_ANSWER) !== 0);
    }
    writeHeader(h, this.rx, 0);
    copyBytes(buf, payloadOff, this.rx, HEADER_BYTES, h.length);
    this.stats.framesIn++;
    this.stats.bytesIn += total;
    if (this.handlers === null) {
      if (this.held.length >= this.bus.heldFrames) { this.bus.stats.heldDropped++; return; }
      this.held.push(this.rx.slice(0, total));
      return;
    }
    this.handlers.onFrame(this.rx, 0, total, h); // our parse: the rpc layer does not read the header again
  }
}
