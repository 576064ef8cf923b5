// Moving a local socket connection to shared memory (docs/shm.md §6 "Upgrade").
//
// The client creates a segment and offers it in its HELLO (extension HELLO_EXT_SHM_OFFER). A
// server that can map it answers on the socket with LINK_OP_SHM_ACCEPT and from then on sends
// into ring 1; the client, on ACCEPT, sends LINK_OP_SHM_SWITCH as its last socket frame and from
// then on sends into ring 0. Each side reads the ring only after the other's marker, so every
// frame arrives in order although two paths carry them. Afterwards the socket carries doorbell
// rings and tells either side when the other is gone. A server that cannot map the segment
// answers LINK_OP_SHM_REFUSE and both stay on the socket; an older server ignores the offer.
import { CellError } from '../wire/cell-error.ts';
import { ERR_LINK_CLOSED, ERR_LINK_SHM_UNAVAILABLE } from '../wire/errors.ts';
import { CHANNEL_LINK, Header, HEADER_BYTES, KIND_HELLO, KIND_PING, writeHeader, type Header as HeaderT } from '../wire/header.ts';
import { readU16LE, readU32LE, writeU16LE, writeU32LE } from '../wire/bytes.ts';
import {
  HELLO_EXT_SHM_OFFER, LINK_OP_SHM_ACCEPT, LINK_OP_SHM_REFUSE, LINK_OP_SHM_SWITCH, SHM_OFFER_OFF_EPOCH,
  SHM_OFFER_OFF_NAME, SHM_OFFER_OFF_NAME_LEN, SHM_OFFER_OFF_RING_BYTES,
} from '../wire/layouts.ts';
import type { Link, LinkCapabilities, LinkHandlers, LinkStats } from '../transports/link.ts';
import { ShmLink, type ShmLinkOptions } from '../transports/shm/link.ts';
import { ringFrame, type ShmDoorbell } from '../transports/shm/doorbell.ts';
import { ringMaxFrame } from '../transports/shm/layout.ts';
import {
  createProcessSegment, openProcessSegment, unlinkSegment, type SegmentOptions, type ShmSegment,
} from '../transports/shm/segment.ts';
import { shmAddonStatus } from '../transports/shm/native.ts';
import { encodeHelloExtension, helloExtension, helloExtensionsAt } from '../rpc/payloads.ts';

export type ShmState = 'socket' | 'offered' | 'shm' | 'refused';

export interface ShmUpgradeOptions extends ShmLinkOptions, SegmentOptions {
  /** Server side: refuse every offer with this reason (e.g. 'turned off by --no-shm'). */
  refuse?: string;
  /** Called once when the offer is settled: 'shm', or 'refused' with the reason. */
  onUpgrade?(state: 'shm' | 'refused', reason?: string): void;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function linkOpFrame(op: number, code = 0, reason = ''): Uint8Array {
  const msg = enc.encode(reason.slice(0, 200));
  const payload = op === LINK_OP_SHM_REFUSE ? 2 + msg.length : 0;
  const f = new Uint8Array(HEADER_BYTES + payload);
  const h = new Header();
  h.kind = KIND_PING; h.channel = CHANNEL_LINK; h.callId = op; h.length = payload;
  writeHeader(h, f, 0);
  if (payload > 0) { writeU16LE(f, HEADER_BYTES, code); f.set(msg, HEADER_BYTES + 2); }
  return f;
}

/** The offer's extension bytes for a segment. */
function offerExtension(seg: ShmSegment): Uint8Array {
  const name = enc.encode(seg.name!);
  const body = new Uint8Array(SHM_OFFER_OFF_NAME + name.length);
  writeU32LE(body, SHM_OFFER_OFF_RING_BYTES, seg.ringBytes);
  writeU32LE(body, SHM_OFFER_OFF_EPOCH, seg.epoch);
  body[SHM_OFFER_OFF_NAME_LEN] = name.length;
  body.set(name, SHM_OFFER_OFF_NAME);
  return encodeHelloExtension(HELLO_EXT_SHM_OFFER, body);
}

/** The offer in a HELLO frame buf[off..off+len), or null when it carries none (or a malformed one). */
function readOffer(buf: Uint8Array, off: number, len: number): { ringBytes: number; epoch: number; name: string } | null {
  const end = off + len;
  const at = helloExtensionsAt(buf, off + HEADER_BYTES, end);
  if (at < 0) return null;
  const body = helloExtension(buf, at, end, HELLO_EXT_SHM_OFFER);
  if (body < 0 || body >= end) return null;
  const n = readU16LE(buf, body - 2);
  if (n < SHM_OFFER_OFF_NAME) return null;
  const nameEnd = body + SHM_OFFER_OFF_NAME + buf[body + SHM_OFFER_OFF_NAME_LEN]!;
  if (nameEnd > body + n) return null;
  return {
    ringBytes: readU32LE(buf, body + SHM_OFFER_OFF_RING_BYTES),
    epoch: readU32LE(buf, body + SHM_OFFER_OFF_EPOCH),
    name: dec.decode(buf.subarray(body + SHM_OFFER_OFF_NAME, nameEnd)),
  };
}

/**
 * A socket link that moves to shared memory when both sides can. Hand it to a Connection as
 * any link; `state` says where the frames go.
 */
export class ShmUpgradeLink implements Link {
  readonly caps: LinkCapabilities;
  readonly helloExtensions?: Uint8Array;
  /** Why the offer was refused (or could not be made), when it was. */
  reason = '';
  private stateNow: ShmState;
  private handlers: LinkHandlers | null = null;
  /** The offered segment (client) until the offer is settled. */
  private offered: ShmSegment | null;
  private shm: ShmLink | null = null;
  /** Where frames are sent: the socket, then the ShmLink. */
  private tx: Link;
  /** Set once the peer's marker has come: socket frames are doorbell rings from then on. */
  private bellOn = false;
  private bellRing: (() => void) | null = null;
  private bellGone: ((err: CellError) => void) | null = null;
  private done = false;

  private constructor(private readonly socket: Link, private readonly role: 'client' | 'server', seg: ShmSegment | null, reason: string, private readonly opts: ShmUpgradeOptions) {
    this.offered = seg;
    this.tx = socket;
    this.reason = reason;
    this.stateNow = seg !== null ? 'offered' : 'socket';
    const mtu = seg !== null ? Math.min(socket.caps.mtu, opts.mtu ?? ringMaxFrame(seg.ringBytes)) : socket.caps.mtu;
    this.caps = Object.freeze({ ...socket.caps, mtu });
    if (seg !== null) this.helloExtensions = offerExtension(seg);
  }

  /**
   * Client side: offer shared memory over `socket` (a connected Unix socket link, not started).
   * Without the addon, or when no segment can be made, the link stays a plain socket
   * (`state` 'socket', `reason` says why).
   */
  static offer(socket: Link, opts: ShmUpgradeOptions = {}): ShmUpgradeLink {
    let seg: ShmSegment | null = null;
    let reason = '';
    const st = shmAddonStatus();
    if (!st.available) reason = st.reason;
    else {
      try { seg = createProcessSegment(opts); } catch (e) { reason = (e as Error).message; }
    }
    return new ShmUpgradeLink(socket, 'client', seg, reason, opts);
  }

  /** Server side: accept offers that arrive on `socket` (an accepted Unix socket link, not started). */
  static accept(socket: Link, opts: ShmUpgradeOptions = {}): ShmUpgradeLink {
    return new ShmUpgradeLink(socket, 'server', null, '', opts);
  }

  /** 'socket' (nothing offered), 'offered' (waiting for the server), 'shm', or 'refused'. */
  get state(): ShmState {
    return this.stateNow;
  }

  get stats(): LinkStats {
    return this.tx.stats;
  }

  get closed(): boolean {
    return this.done;
  }

  /** The shared-memory link once upgraded (its counters: doorbell rings, parks). */
  get shmLink(): ShmLink | null {
    return this.shm;
  }

  start(handlers: LinkHandlers): void {
    if (this.handlers !== null) throw new Error('link already started');
    this.handlers = handlers;
    this.socket.start({
      onFrame: this.onSocketFrame,
      onClose: this.onSocketClose,
      onDrain: () => { if (this.tx === this.socket) this.handlers!.onDrain?.(); },
      onBackpressure: () => { if (this.tx === this.socket) this.handlers!.onBackpressure?.(); },
    });
  }

  send(frame: Uint8Array, len?: number): boolean { return this.tx.send(frame, len); }
  reserve(maxLen: number): number { return this.tx.reserve!(maxLen); }
  get wbuf(): Uint8Array | undefined { return this.tx.wbuf; }
  commit(len: number): boolean { return this.tx.commit!(len); }
  pauseReading(): void { (this.bellOn ? this.shm! : this.socket).pauseReading?.(); }
  resumeReading(): void { (this.bellOn ? this.shm! : this.socket).resumeReading?.(); }

  close(): void {
    if (this.done) return;
    this.dropOffer();
    if (this.shm !== null) this.shm.close(); // flushes the ring, marks it closed, closes the socket
    else this.socket.close();
  }

  /** Reset at once, nothing flushed: what a server does to a connection it refuses. */
  destroy(): void {
    this.dropOffer();
    const d = (this.socket as { destroy?: () => void }).destroy;
    if (this.shm === null && typeof d === 'function') d.call(this.socket);
    else this.close();
  }

  // ---- the socket --------------------------------------------------------------------------

  private readonly onSocketFrame = (buf: Uint8Array, off: number, len: number, header?: HeaderT): void => {
    if (this.bellOn) { this.bellRing?.(); return; }
    const kind = buf[off + 1]! & 0x0f;
    if (kind === KIND_PING && buf[off + 3] === CHANNEL_LINK) { this.onLinkOp(buf, off, len); return; }
    if (kind === KIND_HELLO && this.role === 'server' && this.stateNow === 'socket') this.onOffer(buf, off, len);
    this.handlers!.onFrame(buf, off, len, header);
  };

  private readonly onSocketClose = (err: CellError | null): void => {
    this.dropOffer();
    const shm = this.shm;
    if (shm !== null && this.bellGone !== null) { this.bellGone(err ?? new CellError(ERR_LINK_CLOSED, 'socket closed')); return; }
    if (shm !== null) shm.close();
    this.finish(err);
  };

  private onLinkOp(buf: Uint8Array, off: number, len: number): void {
    const op = readU32LE(buf, off + 4);
    if (this.role === 'client' && this.stateNow === 'offered') {
      if (op === LINK_OP_SHM_ACCEPT) { this.switchClient(); return; }
      if (op === LINK_OP_SHM_REFUSE) {
        const code = len >= HEADER_BYTES + 2 ? readU16LE(buf, off + HEADER_BYTES) : ERR_LINK_SHM_UNAVAILABLE;
        this.refused(`${dec.decode(buf.subarray(off + HEADER_BYTES + 2, off + len))} (code ${code})`);
        return;
      }
    }
    if (this.role === 'server' && this.stateNow === 'shm' && op === LINK_OP_SHM_SWITCH) {
      // The client's last socket frame: from now on its frames come through the ring.
      this.bellOn = true;
      this.shm!.start(this.shmHandlers());
    }
    // Anything else on the link channel is not for us: ignored.
  }

  // ---- server: take the offer ----------------------------------------------------------------

  private onOffer(buf: Uint8Array, off: number, len: number): void {
    const offer = readOffer(buf, off, len);
    if (offer === null) return;
    let seg: ShmSegment;
    try {
      if (this.opts.refuse !== undefined) throw new CellError(ERR_LINK_SHM_UNAVAILABLE, this.opts.refuse);
      const st = shmAddonStatus();
      if (!st.available) throw new CellError(ERR_LINK_SHM_UNAVAILABLE, `this side cannot map shared memory: ${st.reason}`);
      seg = openProcessSegment(offer.name, offer.ringBytes, offer.epoch);
    } catch (e) {
      this.refuseOffer((e as Error).message);
      return;
    }
    try { unlinkSegment(offer.name); } catch { /* the client unlinks it too */ }
    this.shm = new ShmLink(seg, 1, this.bell(), { ...this.opts, mtu: undefined });
    // ACCEPT is the last frame of ours on the socket; the HELLO is handed up after it, so that
    // every answer to it already goes to the ring.
    this.socket.send(linkOpFrame(LINK_OP_SHM_ACCEPT));
    this.tx = this.shm;
    this.stateNow = 'shm';
    this.opts.onUpgrade?.('shm');
  }

  /** Refuse (e.g. `cell run --no-shm`): the client stops waiting and removes its segment. */
  private refuseOffer(reason: string): void {
    this.reason = reason;
    this.stateNow = 'refused';
    this.socket.send(linkOpFrame(LINK_OP_SHM_REFUSE, ERR_LINK_SHM_UNAVAILABLE, reason));
    this.opts.onUpgrade?.('refused', reason);
  }

  // ---- client: switch ------------------------------------------------------------------------

  private switchClient(): void {
    const seg = this.offered!;
    this.offered = null;
    try { unlinkSegment(seg.name!); } catch { /* already gone: the server unlinked it */ }
    this.shm = new ShmLink(seg, 0, this.bell(), { ...this.opts, mtu: this.caps.mtu });
    this.socket.send(linkOpFrame(LINK_OP_SHM_SWITCH));
    this.tx = this.shm;
    this.bellOn = true;
    this.stateNow = 'shm';
    this.shm.start(this.shmHandlers());
    this.opts.onUpgrade?.('shm');
  }

  private refused(reason: string): void {
    this.reason = reason;
    this.dropOffer();
    this.stateNow = 'refused';
    this.opts.onUpgrade?.('refused', reason);
  }

  private dropOffer(): void {
    const seg = this.offered;
    if (seg === null) return;
    this.offered = null;
    try { unlinkSegment(seg.name!); } catch { /* gone already */ }
    seg.release();
  }

  // ---- the shared-memory link ----------------------------------------------------------------

  /** The doorbell over our socket: a ring is any frame after the peer's marker. */
  private bell(): ShmDoorbell {
    return {
      start: (onRing, onGone) => { this.bellRing = onRing; this.bellGone = onGone; },
      ring: () => { this.socket.send(ringFrame()); },
      close: () => { this.socket.close(); },
    };
  }

  private shmHandlers(): LinkHandlers {
    const h = this.handlers!;
    return {
      onFrame: h.onFrame,
      onClose: (err) => this.finish(err),
      onDrain: () => h.onDrain?.(),
      onBackpressure: () => h.onBackpressure?.(),
    };
  }

  private finish(err: CellError | null): void {
    if (this.done) return;
    this.done = true;
    this.handlers?.onClose(err);
  }
}
