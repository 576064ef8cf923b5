// CPU time per call of one side of the pipelined path, in one process, with no socket and no
// peer: the server fed chunks of 200 REQUEST frames through a fake socket (as bench/rpc/instr.ts
// does under callgrind), or the client's `send` loop against a fake socket that reflects each
// REQUEST as its RESPONSE. Reports the best of R rounds of N calls (process CPU time, so a busy
// host's stolen time is not counted): a quicker A/B than callgrind for changes of a few %.
//   taskset -c 1 node --import tsx bench/rpc/dispatch-time.ts server|client [N=400000] [R=7]
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { connect, serve } from '../../src/rpc/index.ts';
import { Connection } from '../../src/rpc/connection.ts';
import { SocketLink } from '../../src/transports/socket.ts';
import { LinkStats, type Link } from '../../src/transports/link.ts';
import { Header, HEADER_BYTES, KIND_HELLO, KIND_REQUEST, KIND_RESPONSE, writeHeader } from '../../src/wire/header.ts';
import type { Infer } from '../../src/codec/index.ts';
import { EchoCell, Msg, PAYLOAD_BYTES } from './echo-cell.ts';

class FakeSocket extends EventEmitter {
  writableLength = 0;
  destroyed = false;
  constructor(private readonly onWrite: (chunk: Uint8Array) => void) { super(); }
  setNoDelay(): this { return this; }
  pause(): this { return this; }
  resume(): this { return this; }
  write(data: Uint8Array, cb?: () => void): boolean { this.onWrite(data); if (cb !== undefined) queueMicrotask(cb); return true; }
  end(): this { return this; }
  destroy(): this { this.destroyed = true; return this; }
}

const side = process.argv[2] ?? 'server';
const N = Number(process.argv[3] ?? 400_000), R = Number(process.argv[4] ?? 7);
const FRAME = HEADER_BYTES + Msg.maxSize;
const cpuNs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) * 1000; };
const best: number[] = [];

if (side === 'server') {
  let framesOut = 0;
  const sock = new FakeSocket((chunk) => { framesOut += chunk.length / FRAME; });
  serve(EchoCell, { ping: (m: Infer<typeof Msg>) => m }, new SocketLink(sock as unknown as Socket), { heartbeatMs: 0, helloTimeoutMs: 0 });
  const PER_CHUNK = 200;
  const h = new Header();
  const key = EchoCell.entries.find((e) => e.name === 'ping')!.key;
  h.kind = KIND_REQUEST; h.keyLo = Number(key & 0xffffffffn); h.keyHi = Number(key >> 32n); h.length = Msg.maxSize;
  // Chunks made up front (a socket hands a new Buffer per read on the 'data' path): not timed.
  const chunks = Array.from({ length: 16 }, () => Buffer.alloc(PER_CHUNK * FRAME, 0x5a));
  let id = 1;
  const round = async (calls: number): Promise<number> => {
    const t0 = cpuNs();
    for (let sent = 0, k = 0; sent < calls; sent += PER_CHUNK, k++) {
      const chunk = chunks[k & 15]!;
      for (let i = 0; i < PER_CHUNK; i++) { h.callId = id++; writeHeader(h, chunk, i * FRAME); }
      sock.emit('data', chunk);
      if ((k & 15) === 15) await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setImmediate(r));
    return (cpuNs() - t0) / calls;
  };
  await round(200_000);
  for (let i = 0; i < R; i++) best.push(await round(N));
  if (framesOut < N * R) throw new Error(`server answered ${framesOut}`);
} else {
  let hello: Uint8Array | null = null;
  const cap: Link = { caps: { kind: 'stream', reliable: true, mtu: 1 << 20, framing: 'length' }, stats: new LinkStats(), closed: false, start() {}, close() {}, send(f, len = f.length) { if (hello === null) hello = f.slice(0, len); return true; } };
  new Connection(cap, { serve: { def: EchoCell, impl: { ping: (m: unknown) => m } } }, { heartbeatMs: 0, helloTimeoutMs: 0 });
  const sock: FakeSocket = new FakeSocket((data) => {
    const chunk = Buffer.from(data); // a copy, as the kernel makes
    const parts: Uint8Array[] = [];
    let start = 0;
    for (let off = 0; off < chunk.length;) {
      const len = HEADER_BYTES + chunk.readUInt32LE(off + 16);
      const kind = chunk[off + 1]! & 15;
      if (kind === KIND_REQUEST) chunk[off + 1] = (chunk[off + 1]! & 0xf0) | KIND_RESPONSE;
      else { if (off > start) parts.push(chunk.subarray(start, off)); if (kind === KIND_HELLO) parts.push(hello!); start = off + len; }
      off += len;
    }
    if (chunk.length > start) parts.push(chunk.subarray(start));
    const back = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    if (back.length > 0) setImmediate(() => sock.emit('data', back));
  });
  const cell = await connect(EchoCell, new SocketLink(sock as unknown as Socket), { heartbeatMs: 0, deadlineMs: 3_600_000 });
  const msg = { payload: new Uint8Array(PAYLOAD_BYTES).fill(0x5a) };
  const round = (calls: number): Promise<number> => new Promise((resolve) => {
    let count = 0, inFlight = 0;
    const t0 = cpuNs();
    const done = (err: unknown): void => {
      if (err !== null) throw err;
      inFlight--;
      if (++count < calls) { inFlight++; cell.ping.send(msg, done); } else if (inFlight === 0) resolve((cpuNs() - t0) / calls);
    };
    for (let i = 0; i < 1000; i++) { inFlight++; cell.ping.send(msg, done); }
  });
  await round(200_000);
  for (let i = 0; i < R; i++) best.push(await round(N));
}
best.sort((a, b) => a - b);
console.log(`${side}: best ${best[0]!.toFixed(0)} ns/call CPU, median ${best[R >> 1]!.toFixed(0)} (${R} rounds of ${N}; fake socket, no syscalls)`);
process.exit(0);
