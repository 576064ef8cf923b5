// A stand-in for net.Socket under a SocketLink, for measuring one side of the RPC path in one
// process with no kernel and no peer (bench/rpc/instr.ts under callgrind, dispatch-time.ts).
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Connection } from '../../src/rpc/connection.ts';
import { LinkStats, type Link } from '../../src/transports/link.ts';
import { SocketLink } from '../../src/transports/socket.ts';
import { Header, HEADER_BYTES, KIND_HELLO, KIND_REQUEST, KIND_RESPONSE, writeHeader } from '../../src/wire/header.ts';
import { EchoCell, Msg } from './echo-cell.ts';

/** Bytes of one echo-cell REQUEST or RESPONSE frame. */
export const ECHO_FRAME_BYTES = HEADER_BYTES + Msg.maxSize;

/** Just enough of net.Socket for SocketLink. `onWrite` gets a copy of every write. */
export class FakeSocket extends EventEmitter {
  writableLength = 0;
  destroyed = false;
  constructor(private readonly onWrite: (chunk: Buffer) => void) { super(); }
  setNoDelay(): this { return this; }
  pause(): this { return this; }
  resume(): this { return this; }
  write(data: Uint8Array, cb?: () => void): boolean {
    this.onWrite(Buffer.from(data)); // a copy, as the kernel makes
    if (cb !== undefined) queueMicrotask(cb);
    return true;
  }
  end(): this { return this; }
  destroy(): this { this.destroyed = true; return this; }
  /** A SocketLink over this socket. */
  link(): SocketLink { return new SocketLink(this as unknown as Socket); }
}

/** The echo cell's server HELLO, produced by a real server Connection. */
function serverHello(): Uint8Array {
  let hello: Uint8Array | null = null;
  const cap: Link = {
    caps: { kind: 'stream', reliable: true, mtu: 1 << 20, framing: 'length' }, stats: new LinkStats(), closed: false,
    start() {}, close() {}, send(f, len = f.length) { if (hello === null) hello = f.slice(0, len); return true; },
  };
  new Connection(cap, { serve: { def: EchoCell, impl: { ping: (m: unknown) => m } } }, { heartbeatMs: 0, helloTimeoutMs: 0 });
  return hello!;
}

/**
 * A socket with the echo cell's server on the other end, without the server: every REQUEST
 * written comes back as its RESPONSE (turned in place), a HELLO as the server's HELLO, as one
 * chunk in the next macrotask (like a socket read).
 */
export function reflectingSocket(): FakeSocket {
  const hello = serverHello();
  const sock: FakeSocket = new FakeSocket((chunk) => {
    const parts: Uint8Array[] = [];
    let start = 0;
    for (let off = 0; off < chunk.length;) {
      const len = HEADER_BYTES + chunk.readUInt32LE(off + 16);
      const kind = chunk[off + 1]! & 15;
      if (kind === KIND_REQUEST) chunk[off + 1] = (chunk[off + 1]! & 0xf0) | KIND_RESPONSE;
      else {
        if (off > start) parts.push(chunk.subarray(start, off));
        if (kind === KIND_HELLO) parts.push(hello);
        start = off + len;
      }
      off += len;
    }
    if (chunk.length > start) parts.push(chunk.subarray(start));
    const back = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    if (back.length > 0) setImmediate(() => sock.emit('data', back));
  });
  return sock;
}

/** `frames` echo-cell REQUESTs with call ids 0 and payload bytes 0x5a: what fillRequests copies. */
let template: Uint8Array = new Uint8Array(0);
function requestTemplate(frames: number): Uint8Array {
  if (template.length >= frames * ECHO_FRAME_BYTES) return template;
  const t = new Uint8Array(frames * ECHO_FRAME_BYTES).fill(0x5a);
  const h = new Header();
  const key = EchoCell.entries.find((e) => e.name === 'ping')!.key;
  h.kind = KIND_REQUEST; h.keyLo = Number(key & 0xffffffffn); h.keyHi = Number(key >> 32n); h.length = Msg.maxSize; h.callId = 0;
  for (let i = 0; i < frames; i++) writeHeader(h, t, i * ECHO_FRAME_BYTES);
  return (template = t);
}

/**
 * Writes `frames` echo-cell REQUESTs (call ids from `firstId`, payload bytes 0x5a) into `chunk`;
 * returns the next id. A copy of a template made once, then the call ids, byte by byte: the
 * feeder's cost is a memcpy and four stores per frame, whatever V8 makes of it. It used to write
 * every header with writeHeader, which the code under test shares, and how V8 compiled that
 * loop (inlined or not, in which order) moved instr.ts's server count by up to ±250
 * instructions per call from one build of src/ to the next (bench/rpc/RESULTS.md, 2026-12-07).
 */
export function fillRequests(chunk: Uint8Array, frames: number, firstId: number): number {
  const bytes = frames * ECHO_FRAME_BYTES;
  chunk.set(requestTemplate(frames).subarray(0, bytes));
  let id = firstId;
  for (let off = 4; off < bytes; off += ECHO_FRAME_BYTES) {
    chunk[off] = id & 0xff; chunk[off + 1] = (id >>> 8) & 0xff; chunk[off + 2] = (id >>> 16) & 0xff; chunk[off + 3] = id >>> 24;
    id++;
  }
  return id;
}
