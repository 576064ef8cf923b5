// A frame proxy: many mesh clients share one upstream link to a cell (a device behind a UART),
// payloads copied, never decoded (docs/mesh.md §4).
//
// Upstream the proxy is one rpc peer: it sends its own HELLO (as a caller), answers PINGs and
// pings on its own. It caches the device's HELLO and gives each client that table, with its own
// heartbeat and max frame size. Calls are forwarded with only the call id rewritten (header bytes
// 4–7, in place in the receive buffer), so the device sees one caller with unique ids:
//   client → device: REQUEST, CANCEL, CREDIT              device → client: RESPONSE, ERROR,
//   STREAM_ITEM, STREAM_END (by id); EVENT to every client.
// HELLO, PING/PONG and GOODBYE are per hop. When the upstream link drops, every call in flight is
// answered Unavailable and the clients' links are closed (they reconnect, and get the new HELLO,
// once a new upstream link is up).
import type { HelloInfo } from '../rpc/payloads.ts';
import { decodeHello, encodeHello, HELLO_FLAG_CALLING, HELLO_FLAG_SERVING, PROTOCOL_VERSION, writeErrorHead } from '../rpc/payloads.ts';
import { RpcCode } from '../rpc/errors.ts';
import type { Link } from '../transports/link.ts';
import type { CellError } from '../wire/cell-error.ts';
import { writeU32LE } from '../wire/bytes.ts';
import {
  CHANNEL_CONTROL, Header, HEADER_BYTES, KIND_CANCEL, KIND_CREDIT, KIND_ERROR, KIND_EVENT, KIND_GOODBYE, KIND_HELLO,
  KIND_PING, KIND_PONG, KIND_REQUEST, KIND_RESPONSE, KIND_STREAM_END, KIND_STREAM_ITEM, readHeader, writeHeader,
} from '../wire/header.ts';
import type { MeshLoad } from './node.ts';

export interface ProxyOptions {
  /** PING interval on every hop; a hop silent for 2.5 intervals is closed. 0 = off. @default 1000 */
  heartbeatMs?: number;
  /** Calls in flight through the proxy (all clients); more are answered Overloaded. @default 256 */
  maxInFlight?: number;
  /** How long a client that connects while the upstream is down waits for it. @default 5000 */
  helloWaitMs?: number;
  /** Answer describe() here (the device may not carry its schema JSON). @default forward it upstream */
  describe?: () => unknown;
  /** Upstream up (its HELLO arrived) or down. */
  onUpstream?: (up: boolean, hello: HelloInfo | null) => void;
}

class ProxyClient {
  /** client call id → upstream call id */
  readonly ids = new Map<number, number>();
  rxAt = performance.now();
  helloSent = false;
  waitTimer: ReturnType<typeof setTimeout> | null = null;
  constructor(readonly link: Link) {}
}

interface Route { client: ProxyClient; id: number; stream: boolean }

export class FrameProxy {
  readonly name: string;
  /** The device's HELLO (null while the upstream is down). */
  hello: HelloInfo | null = null;
  /** Frames forwarded, by direction; frames dropped (unknown id, bad kind). */
  readonly counters = { down: 0, up: 0, events: 0, dropped: 0, upstreamSessions: 0 };
  private upstream: Link | null = null;
  private upRxAt = 0;
  private readonly clients = new Set<ProxyClient>();
  private readonly routes = new Map<number, Route>();
  private nextId = 1;
  private readonly hbMs: number;
  private readonly maxInFlight: number;
  private readonly helloWaitMs: number;
  private readonly opts: ProxyOptions;
  private readonly h = new Header();
  private readonly wh = new Header();
  private readonly tmp = new Uint8Array(HEADER_BYTES + 260);
  private timer: ReturnType<typeof setInterval> | null = null;
  private closed = false;
  private helloBytes: Uint8Array | null = null;

  constructor(name: string, opts: ProxyOptions = {}) {
    this.name = name;
    this.opts = opts;
    this.hbMs = opts.heartbeatMs ?? 1000;
    this.maxInFlight = opts.maxInFlight ?? 256;
    this.helloWaitMs = opts.helloWaitMs ?? 5000;
    if (this.hbMs > 0) {
      this.timer = setInterval(this.heartbeat, this.hbMs);
      this.timer.unref?.();
    }
  }

  get upstreamUp(): boolean { return this.upstream !== null && this.hello !== null; }

  load(): MeshLoad {
    return { inFlight: this.routes.size, maxServing: this.maxInFlight, connections: this.clients.size, up: this.upstreamUp };
  }

  // ---- upstream ----------------------------------------------------------------------------

  /** Use `link` as the upstream from now on (the previous one is closed first). */
  setUpstream(link: Link): void {
    if (this.closed) { link.close(); return; }
    const old = this.upstream;
    if (old !== null) { this.upstream = null; this.upstreamLost(); old.close(); }
    this.upstream = link;
    this.upRxAt = performance.now();
    this.counters.upstreamSessions++;
    link.start({
      onFrame: (buf, off, len) => { if (this.upstream === link) this.fromUpstream(buf, off, len); },
      onClose: (err) => { if (this.upstream === link) { this.upstream = null; this.upstreamLost(err); } },
    });
    const hello = encodeHello({ version: PROTOCOL_VERSION, flags: HELLO_FLAG_CALLING, heartbeatMs: Math.min(this.hbMs, 0xffff), maxFrameBytes: link.caps.mtu, cellName: this.name, entries: [] });
    this.sendCtl(link, KIND_HELLO, 0, 0, 0, 0, hello);
  }

  private upstreamLost(err?: CellError | null): void {
    const had = this.hello !== null;
    this.hello = null;
    this.helloBytes = null;
    for (const [, r] of this.routes) this.sendError(r.client.link, r.id, 0, 0, RpcCode.Unavailable, `the link to "${this.name}" behind this gateway was lost${err ? `: ${err.message}` : ''}`);
    this.routes.clear();
    for (const c of [...this.clients]) { c.link.close(); this.dropClient(c); }
    if (had) this.opts.onUpstream?.(false, null);
  }

  private fromUpstream(buf: Uint8Array, off: number, len: number): void {
    this.upRxAt = performance.now();
    const h = this.h;
    if (readHeader(buf, off, len, 0xffffffff, h) < 0) { this.counters.dropped++; return; }
    switch (h.kind) {
      case KIND_RESPONSE: case KIND_ERROR: case KIND_STREAM_ITEM: case KIND_STREAM_END: {
        const r = this.routes.get(h.callId);
        if (r === undefined) { this.counters.dropped++; return; }
        if (h.kind !== KIND_STREAM_ITEM) { this.routes.delete(h.callId); r.client.ids.delete(r.id); }
        writeU32LE(buf, off + 4, r.id);
        this.counters.down++;
        this.forward(r.client.link, buf, off, len);
        return;
      }
      case KIND_EVENT:
        this.counters.events++;
        for (const c of this.clients) if (c.helloSent) this.forward(c.link, buf, off, len);
        return;
      case KIND_PING: this.sendCtl(this.upstream!, KIND_PONG, h.channel, h.callId, 0, 0, null); return;
      case KIND_PONG: return;
      case KIND_HELLO: this.onUpstreamHello(buf, off + HEADER_BYTES, off + len); return;
      case KIND_GOODBYE: {
        // The device is going away: no new calls; those in flight may still be answered.
        this.hello = null;
        return;
      }
      case KIND_REQUEST:
        this.sendError(this.upstream!, h.callId, h.keyLo, h.keyHi, RpcCode.UnknownMethod, 'the gateway serves no methods to the device', h.channel);
        return;
      default: this.counters.dropped++;
    }
  }

  private onUpstreamHello(buf: Uint8Array, p: number, end: number): void {
    const h = end > p ? decodeHello(buf, p, end) : { version: PROTOCOL_VERSION, flags: HELLO_FLAG_SERVING, heartbeatMs: 0, maxFrameBytes: 0, cellName: this.name, entries: [] };
    if (h === null) { this.counters.dropped++; return; }
    this.hello = h;
    this.helloBytes = null;
    this.opts.onUpstream?.(true, h);
    for (const c of this.clients) if (!c.helloSent) this.sendHello(c);
  }

  // ---- clients -----------------------------------------------------------------------------

  /** Serve one more client link (a mesh stream). */
  addClient(link: Link): void {
    if (this.closed) { link.close(); return; }
    const c = new ProxyClient(link);
    this.clients.add(c);
    link.start({
      onFrame: (buf, off, len) => this.fromClient(c, buf, off, len),
      onClose: () => this.dropClient(c),
    });
    if (this.hello !== null) this.sendHello(c);
    else {
      c.waitTimer = setTimeout(() => { c.waitTimer = null; if (!c.helloSent) { link.close(); this.dropClient(c); } }, this.helloWaitMs);
      c.waitTimer.unref?.();
    }
  }

  private sendHello(c: ProxyClient): void {
    const up = this.upstream;
    const h = this.hello;
    if (up === null || h === null) return;
    if (this.helloBytes === null) {
      const peerMax = h.maxFrameBytes > 0 ? h.maxFrameBytes : up.caps.mtu;
      this.helloBytes = encodeHello({ ...h, flags: HELLO_FLAG_SERVING, heartbeatMs: Math.min(this.hbMs, 0xffff), maxFrameBytes: Math.min(peerMax, up.caps.mtu) });
    }
    const payload = HEADER_BYTES + this.helloBytes.length <= c.link.caps.mtu ? this.helloBytes : null;
    this.sendCtl(c.link, KIND_HELLO, 0, 0, 0, 0, payload);
    c.helloSent = true;
    if (c.waitTimer !== null) { clearTimeout(c.waitTimer); c.waitTimer = null; }
  }

  private dropClient(c: ProxyClient): void {
    if (!this.clients.delete(c)) return;
    if (c.waitTimer !== null) clearTimeout(c.waitTimer);
    // Calls of a client that went away: cancel them upstream.
    const up = this.upstream;
    for (const [, upId] of c.ids) {
      const r = this.routes.get(upId);
      this.routes.delete(upId);
      if (up !== null && r !== undefined) this.sendCtl(up, KIND_CANCEL, 0, upId, 0, 0, null);
    }
    c.ids.clear();
  }

  private fromClient(c: ProxyClient, buf: Uint8Array, off: number, len: number): void {
    c.rxAt = performance.now();
    const h = this.h;
    if (readHeader(buf, off, len, 0xffffffff, h) < 0) { this.counters.dropped++; return; }
    switch (h.kind) {
      case KIND_REQUEST: {
        if (h.channel === CHANNEL_CONTROL && h.keyLo === 1 && h.keyHi === 0 && this.opts.describe !== undefined) { this.answerDescribe(c, h.callId); return; }
        const up = this.upstream;
        if (up === null || this.hello === null) { this.sendError(c.link, h.callId, h.keyLo, h.keyHi, RpcCode.Unavailable, `"${this.name}" is not reachable from this gateway right now`, h.channel); return; }
        if (this.routes.size >= this.maxInFlight) { this.sendError(c.link, h.callId, h.keyLo, h.keyHi, RpcCode.Overloaded, `more than ${this.maxInFlight} calls in flight through the gateway`, h.channel); return; }
        const upId = this.allocId();
        this.routes.set(upId, { client: c, id: h.callId, stream: false });
        c.ids.set(h.callId, upId);
        writeU32LE(buf, off + 4, upId);
        this.counters.up++;
        this.forward(up, buf, off, len);
        return;
      }
      case KIND_CANCEL: case KIND_CREDIT: {
        const upId = c.ids.get(h.callId);
        const up = this.upstream;
        if (upId === undefined || up === null) return;
        if (h.kind === KIND_CANCEL) { c.ids.delete(h.callId); this.routes.delete(upId); }
        writeU32LE(buf, off + 4, upId);
        this.forward(up, buf, off, len);
        return;
      }
      case KIND_PING: this.sendCtl(c.link, KIND_PONG, h.channel, h.callId, 0, 0, null); return;
      case KIND_PONG: case KIND_HELLO: case KIND_GOODBYE: return;
      default: this.counters.dropped++;
    }
  }

  private answerDescribe(c: ProxyClient, id: number): void {
    const json = new TextEncoder().encode(JSON.stringify(this.opts.describe!()));
    this.sendCtl(c.link, KIND_RESPONSE, CHANNEL_CONTROL, id, 1, 0, json);
  }

  private allocId(): number {
    let id = this.nextId;
    while (this.routes.has(id)) id = id >= 0xfffffffe ? 1 : id + 1;
    this.nextId = id >= 0xfffffffe ? 1 : id + 1;
    return id;
  }

  // ---- sending -----------------------------------------------------------------------------

  private forward(link: Link, buf: Uint8Array, off: number, len: number): void {
    if (link.closed || len > link.caps.mtu) { this.counters.dropped++; return; }
    link.send(off === 0 ? buf : buf.subarray(off, off + len), len);
  }

  private sendCtl(link: Link, kind: number, channel: number, id: number, lo: number, hi: number, payload: Uint8Array | null): void {
    if (link.closed) return;
    const n = payload === null ? 0 : payload.length;
    const buf = HEADER_BYTES + n <= this.tmp.length ? this.tmp : new Uint8Array(HEADER_BYTES + n);
    const h = this.wh;
    h.kind = kind; h.flags = 0; h.channel = channel; h.callId = id; h.keyLo = lo; h.keyHi = hi; h.length = n;
    writeHeader(h, buf, 0);
    if (payload !== null) buf.set(payload, HEADER_BYTES);
    link.send(buf, HEADER_BYTES + n);
  }

  private sendError(link: Link, id: number, lo: number, hi: number, code: number, message: string, channel = 0): void {
    if (link.closed) return;
    const buf = this.tmp;
    const p = writeErrorHead(buf, HEADER_BYTES, code, message, 200);
    const h = this.wh;
    h.kind = KIND_ERROR; h.flags = 0; h.channel = channel; h.callId = id; h.keyLo = lo; h.keyHi = hi; h.length = p - HEADER_BYTES;
    writeHeader(h, buf, 0);
    link.send(buf, p);
  }

  private readonly heartbeat = (): void => {
    const t = performance.now();
    const limit = 2.5 * this.hbMs;
    const up = this.upstream;
    if (up !== null) {
      if (t - this.upRxAt > Math.max(limit, this.helloWaitMs) || (this.hello !== null && t - this.upRxAt > limit)) { up.close(); }
      else this.sendCtl(up, KIND_PING, CHANNEL_CONTROL, 0, 0, 0, null);
    }
    for (const c of [...this.clients]) {
      if (!c.helloSent) continue;
      if (t - c.rxAt > limit) { c.link.close(); this.dropClient(c); continue; }
      this.sendCtl(c.link, KIND_PING, CHANNEL_CONTROL, 0, 0, 0, null);
    }
  };

  /** Close every link (upstream included). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    for (const c of [...this.clients]) { c.link.close(); this.dropClient(c); }
    const up = this.upstream;
    this.upstream = null;
    this.hello = null;
    if (up !== null) { this.sendCtl(up, KIND_GOODBYE, CHANNEL_CONTROL, 0, 0, 0, null); up.close(); }
  }
}
