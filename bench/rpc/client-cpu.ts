// Client-side CPU per call with N callers in flight, no server process and no socket: a Link
// whose peer answers every staged REQUEST at the end of the tick by turning it into a RESPONSE
// in place (same payload, the echo cell's contract). Measures what the caller's process spends
// per call: encode, call table, Promise, decode, settle, the caller's own `await`.
//   node --import tsx bench/rpc/client-cpu.ts [callers] [seconds]
import { connect } from '../../src/rpc/index.ts';
import { LinkStats, type Link, type LinkHandlers } from '../../src/transports/link.ts';
import { KIND_RESPONSE, KIND_HELLO, HEADER_BYTES } from '../../src/wire/header.ts';
import { encodeHello } from '../../src/rpc/payloads.ts';
import { EchoCell, PAYLOAD_BYTES } from './echo-cell.ts';
import { Connection } from '../../src/rpc/connection.ts';

class ReflectLink implements Link {
  readonly caps = Object.freeze({ kind: 'stream' as const, reliable: true, mtu: 1 << 20, framing: 'length' as const });
  readonly stats = new LinkStats();
  closed = false;
  private h: LinkHandlers | null = null;
  wbuf = new Uint8Array(1 << 20);
  private len = 0;
  private queued = false;
  hello: Uint8Array | null = null;
  start(h: LinkHandlers): void { this.h = h; }
  send(frame: Uint8Array, len = frame.length): boolean {
    // control frames (HELLO): answer our HELLO with the server's
    if ((frame[1]! & 0x0f) === KIND_HELLO) { queueMicrotask(() => this.h!.onFrame(this.hello!, 0, this.hello!.length)); return true; }
    this.wbuf.set(frame.subarray(0, len), this.len); return this.commit(len);
  }
  reserve(maxLen: number): number { if (this.len + maxLen > this.wbuf.length) this.flush(); return this.len; }
  commit(len: number): boolean { this.len += len; if (!this.queued) { this.queued = true; setImmediate(this.flush); } return true; }
  close(): void { this.closed = true; this.h?.onClose(null); }
  private readonly flush = (): void => {
    this.queued = false;
    const buf = this.wbuf, end = this.len;
    this.len = 0;
    const copy = buf.slice(0, end); // the "socket": responses arrive in their own chunk
    for (let off = 0; off < end;) {
      const n = HEADER_BYTES + (copy[off + 16]! | (copy[off + 17]! << 8) | (copy[off + 18]! << 16) | (copy[off + 19]! << 24));
      copy[off + 1] = (copy[off + 1]! & 0xf0) | KIND_RESPONSE;
      this.h!.onFrame(copy, off, n);
      off += n;
    }
  };
}

const callers = Number(process.argv[2] ?? 1000), secs = Number(process.argv[3] ?? 3);
// a server-side HELLO for the echo cell, taken from a real Connection's encoder
const link = new ReflectLink();
link.hello = helloFor();
const cell = await connect(EchoCell, link, { heartbeatMs: 0 });
const msg = { payload: new Uint8Array(PAYLOAD_BYTES).fill(0x5a) };
let count = 0, stop = false;
const worker = async () => { while (!stop) { await cell.ping(msg); count++; } };
const ws = Array.from({ length: callers }, worker);
await new Promise((r) => setTimeout(r, 500));
const c0 = count, cpu0 = process.cpuUsage(), t0 = performance.now();
await new Promise((r) => setTimeout(r, secs * 1000));
const cpu = process.cpuUsage(cpu0), n = count - c0, wall = (performance.now() - t0) / 1000;
stop = true; await Promise.all(ws);
console.log(`${callers} callers: ${((cpu.user + cpu.system) * 1000 / n).toFixed(0)} ns CPU/call, ${(n / wall / 1e3).toFixed(0)}k calls/s`);
process.exit(0);

function helloFor(): Uint8Array {
  void encodeHello; void Connection;
  // Let a server Connection produce its HELLO over a capturing link.
  let captured: Uint8Array | null = null;
  const cap: Link = { caps: link.caps, stats: new LinkStats(), closed: false, start() {}, close() {}, send(f, len = f.length) { if (captured === null) captured = f.slice(0, len); return true; } };
  new Connection(cap, { serve: { def: EchoCell, impl: { ping: (m: unknown) => m } } }, { heartbeatMs: 0 });
  if (captured === null) throw new Error('no HELLO captured');
  return captured;
}
