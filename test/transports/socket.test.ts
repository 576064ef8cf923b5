// src/transports/socket.ts receive paths, split at every offset: a byte stream of frames arrives
// (a) as new chunks per read ('data', the accepted side) and (b) through `onRead` into ONE buffer
// that the socket overwrites on every read (connectSocket's `onread`). Every frame must come out
// whole and unchanged in both, the header passed along must be the frame's own, and in (b)
// nothing delivered may depend on the buffer's later contents.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SocketLink } from '../../src/transports/socket.ts';
import { Header, HEADER_BYTES } from '../../src/wire/header.ts';
import { makeFrame } from './compliance.ts';
import { tcpPair, unixPair } from './helpers.ts';

/** Just enough of net.Socket for SocketLink's receive side. */
class QuietSocket extends EventEmitter {
  writableLength = 0;
  destroyed = false;
  setNoDelay(): this { return this; }
  pause(): this { return this; }
  resume(): this { return this; }
  write(_d: Uint8Array, cb?: () => void): boolean { if (cb) queueMicrotask(cb); return true; }
  end(): this { return this; }
  destroy(): this { this.destroyed = true; return this; }
}

function stream(): { bytes: Uint8Array; frames: Uint8Array[] } {
  // small, empty, header-sized and larger-than-a-read frames, back to back
  const frames = [makeFrame(1, 0), makeFrame(2, 5), makeFrame(3, 300), makeFrame(4, 20), makeFrame(5, 1), makeFrame(6, 90)];
  const bytes = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let o = 0;
  for (const f of frames) { bytes.set(f, o); o += f.length; }
  return { bytes, frames };
}

function receiver(link: SocketLink): { got: Uint8Array[]; headers: string[] } {
  const got: Uint8Array[] = [], headers: string[] = [];
  link.start({
    onFrame: (buf, off, len, h?: Header) => {
      got.push(buf.slice(off, off + len)); // the link's bytes are valid during the call only
      if (h !== undefined) headers.push(`${h.callId}/${h.length}`);
    },
    onClose: () => {},
  });
  return { got, headers };
}

const test = suite('socket link receive');

test("'data' chunks cut at every pair of offsets: every frame whole, with its own header", () => {
  const { bytes, frames } = stream();
  const want = frames.map((f) => `${f[4]}/${f.length - HEADER_BYTES}`);
  for (let a = 0; a <= bytes.length; a += 3) {
    for (let b = a; b <= bytes.length; b += 7) {
      const sock = new QuietSocket();
      const link = new SocketLink(sock as unknown as Socket);
      const { got, headers } = receiver(link);
      for (const [s, e] of [[0, a], [a, b], [b, bytes.length]] as const) if (e > s) sock.emit('data', bytes.slice(s, e));
      assert.equal(got, frames, `cuts ${a},${b}`);
      assert.equal(headers, want, `cuts ${a},${b}`);
    }
  }
});

test('onRead into one reused buffer, cut at every offset and byte by byte: every frame whole', () => {
  const { bytes, frames } = stream();
  const shared = new Uint8Array(1024);
  const feed = (link: SocketLink, s: number, e: number): void => {
    shared.set(bytes.subarray(s, e));
    link.onRead(e - s, shared);
    shared.fill(0xee); // the next read overwrites the buffer
  };
  for (let cut = 0; cut <= bytes.length; cut++) {
    const link = new SocketLink(new QuietSocket() as unknown as Socket);
    const { got } = receiver(link);
    if (cut > 0) feed(link, 0, cut);
    if (cut < bytes.length) feed(link, cut, bytes.length);
    assert.equal(got, frames, `cut ${cut}`);
  }
  const link = new SocketLink(new QuietSocket() as unknown as Socket);
  const { got } = receiver(link);
  for (let i = 0; i < bytes.length; i++) feed(link, i, i + 1);
  assert.equal(got, frames, 'byte by byte');
});

test('onRead before start(): the bytes are kept and delivered at start', () => {
  const { bytes, frames } = stream();
  const link = new SocketLink(new QuietSocket() as unknown as Socket);
  const shared = new Uint8Array(bytes);
  link.onRead(100, shared);
  shared.fill(0);
  shared.set(bytes.subarray(100), 0);
  link.onRead(bytes.length - 100, shared);
  shared.fill(0);
  const { got } = receiver(link);
  assert.equal(got, frames);
});

test.run();

const own = suite('socket links read into their own buffer');

own('both ends of a Unix and a TCP link (client: onread; accepted: readIntoOwnBuffer) on this Node', async () => {
  for (const pair of [unixPair, tcpPair]) {
    const p = await pair();
    try {
      const a = p.a as SocketLink, b = p.b as SocketLink;
      assert.ok(a.readsOwnBuffer, `${pair.name}: the connecting end reads through onread`);
      assert.ok(b.readsOwnBuffer, `${pair.name}: the accepted end reads into its own buffer (Node ${process.version}: if this fails, the onread internals moved; the link still works through 'data')`);
      // and frames get through both ways, across reads
      const got: Uint8Array[] = [];
      b.start({ onFrame: (buf, off, len) => { got.push(buf.slice(off, off + len)); }, onClose: () => {} });
      const back: Uint8Array[] = [];
      a.start({ onFrame: (buf, off, len) => { back.push(buf.slice(off, off + len)); }, onClose: () => {} });
      const frames = Array.from({ length: 200 }, (_, i) => makeFrame(i + 1, (i * 37) % 3000));
      for (const f of frames) a.send(f);
      for (const f of frames) b.send(f);
      for (let i = 0; i < 500 && (got.length < frames.length || back.length < frames.length); i++) await new Promise((r) => setTimeout(r, 5));
      assert.equal(got, frames);
      assert.equal(back, frames);
    } finally {
      p.a.close(); p.b.close();
      await p.cleanup?.();
    }
  }
});

own.run();
