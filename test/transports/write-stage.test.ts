// src/transports/write-stage.ts, the write batching of the socket links and the mesh links: one
// write per tick or per `flushAtBytes`, buffers reused only when the sink has let go of them
// (never writing over a batch a sink still holds), and a bounded queue: `send` returns false
// over the high-water mark and onDrain follows the sink's drain. Unit tests on a fake sink, then
// a SocketLink over a real Unix socket whose peer does not read, then a MeshLink whose stream
// says "full".
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LinkStats } from '../../src/transports/link.ts';
import { SocketLink } from '../../src/transports/socket.ts';
import { SINK_FULL, WriteStage, type WriteSink } from '../../src/transports/write-stage.ts';
import { MeshLink } from '../../src/mesh/link.ts';
import { HEADER_BYTES } from '../../src/wire/header.ts';
import { makeFrame } from './compliance.ts';
import { unixPair } from './helpers.ts';
import { FakeStream } from '../mesh/fake-stream.ts';

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/**
 * A sink that keeps the views it is given (as a socket under backpressure, or a muxer, does)
 * until `release()`, which copies them out as the kernel would and calls their callbacks.
 */
class HoldingSink implements WriteSink {
  held: { bytes: Uint8Array; written: () => void }[] = [];
  out: Uint8Array[] = [];
  writes = 0;
  /** false: report a backlog of 0 even while holding (a muxer that counts nothing). */
  constructor(private readonly counts = true) {}
  write(bytes: Uint8Array, written: () => void): number {
    this.writes++;
    this.held.push({ bytes, written });
    return this.backlog();
  }
  backlog(): number {
    return this.counts ? this.held.reduce((n, h) => n + h.bytes.length, 0) : 0;
  }
  release(): void {
    for (const h of this.held) { this.out.push(h.bytes.slice()); h.written(); }
    this.held = [];
  }
  all(): Uint8Array {
    return Buffer.concat(this.out);
  }
}

/** Stage one frame the way Connection does (room, write into `bytes`, queued). */
function put(st: WriteStage, f: Uint8Array): boolean {
  const off = st.room(f.length);
  st.bytes.set(f, off);
  return st.queued(f.length);
}

const opts = { batchBytes: 65536, flushAtBytes: 16384, highWaterMarkBytes: 1 << 20, recycle: true };

const unit = suite('write stage');

unit('frames of one tick go out in one write; a write as soon as flushAtBytes are staged', async () => {
  const sink = new HoldingSink();
  const stats = new LinkStats();
  const st = new WriteStage(sink, stats, opts);
  for (let i = 0; i < 10; i++) put(st, makeFrame(i, 10));
  assert.is(sink.writes, 0);
  await Promise.resolve();
  assert.is(sink.writes, 1);
  assert.is(sink.held[0]!.bytes.length, 300);
  assert.is(stats.framesOut, 10);
  assert.is(stats.bytesOut, 300);
  for (let i = 0; i < 16; i++) put(st, makeFrame(i, 1004)); // 16 × 1024 = flushAtBytes
  assert.is(sink.writes, 2, 'written at flushAtBytes, without waiting for the tick');
  assert.is(st.staged, 0);
});

unit('a batch the sink still holds is never written over (flush at flushAtBytes, then the tick)', async () => {
  // Regression: socket.ts's flush reset the stage to 0 whenever nothing was staged. A batch that
  // reached flushAtBytes was written, the tick's flush then found nothing staged and rewound,
  // and the next frames went over the bytes the socket was still holding.
  for (const recycle of [true, false]) {
    const sink = new HoldingSink();
    const st = new WriteStage(sink, new LinkStats(), { ...opts, recycle });
    const sent: Uint8Array[] = [];
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 17; i++) { const f = makeFrame(round * 100 + i, 1000); sent.push(f); put(st, f); } // 17 × 1020 ≥ 16 KiB
      await Promise.resolve();
      await tick();
    }
    sink.release();
    assert.ok(Buffer.from(sink.all()).equals(Buffer.concat(sent)), `recycle ${recycle}: every byte as sent`);
  }
});

unit('a muxer-like sink (no recycling, counts nothing): nothing handed over is reused, fresh buffers', async () => {
  const sink = new HoldingSink(false);
  const st = new WriteStage(sink, new LinkStats(), { ...opts, batchBytes: 8192, flushAtBytes: 4096, recycle: false });
  const sent: Uint8Array[] = [];
  const buffers = new Set<Uint8Array>();
  for (let i = 0; i < 200; i++) {
    const f = makeFrame(i, 100 + (i % 7) * 300);
    sent.push(f);
    put(st, f);
    buffers.add(st.bytes);
    if (i % 13 === 0) await Promise.resolve();
  }
  await Promise.resolve();
  sink.release();
  assert.ok(Buffer.from(sink.all()).equals(Buffer.concat(sent)));
  assert.ok(buffers.size >= Buffer.concat(sent).length / 8192 - 1, `a fresh buffer per batchBytes (${buffers.size})`);
});

unit('a recycling stage whose sink lets go cycles through at most three buffers', async () => {
  const sink = new HoldingSink();
  const st = new WriteStage(sink, new LinkStats(), opts);
  const buffers = new Set<Uint8Array>();
  const sent: Uint8Array[] = [];
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 40; i++) { const f = makeFrame(round * 40 + i, 1000); sent.push(f); put(st, f); buffers.add(st.bytes); }
    await Promise.resolve();
    if (round % 2 === 1) { sink.release(); await tick(); } // the socket writes every other tick
  }
  sink.release();
  assert.ok(buffers.size <= 3, `${buffers.size} buffers`);
  assert.ok(Buffer.from(sink.all()).equals(Buffer.concat(sent)));
});

unit('backpressure: false once backlog + staged exceed the mark; drained() reports it once', async () => {
  const sink = new HoldingSink();
  const st = new WriteStage(sink, new LinkStats(), { ...opts, highWaterMarkBytes: 40000 });
  let ok = true, n = 0;
  while (ok && n < 1000) { ok = put(st, makeFrame(n, 1000)); n++; }
  assert.not.ok(ok, 'send returned false');
  assert.ok(n * 1020 <= 40000 + 16384 + 1020, `stopped after ${n} frames: the queue is bounded`);
  await Promise.resolve();
  sink.release();
  assert.ok(st.drained(), 'drain reported once a caller was told false');
  assert.not.ok(st.drained(), 'and only once');
  assert.ok(put(st, makeFrame(1, 10)));
});

unit('a sink that only knows "full" (SINK_FULL) stops every send until its drain', async () => {
  let full = false;
  const sink: WriteSink = { write: () => (full ? SINK_FULL : 0), backlog: () => (full ? SINK_FULL : 0) };
  const st = new WriteStage(sink, new LinkStats(), { ...opts, highWaterMarkBytes: SINK_FULL - 1, recycle: false });
  assert.ok(put(st, makeFrame(1, 10)));
  full = true;
  await Promise.resolve(); // the tick's flush meets a full stream
  assert.not.ok(put(st, makeFrame(2, 10)));
  assert.not.ok(put(st, makeFrame(3, 10)));
  full = false;
  assert.ok(st.drained());
  assert.ok(put(st, makeFrame(4, 10)));
});

unit.run();

const sock = suite('socket link: a peer that does not read');

sock('send returns false at the mark, the queue stays bounded, onDrain follows, every frame arrives intact', async () => {
  const pair = await unixPair();
  const a = pair.a as SocketLink;
  const b = pair.b as SocketLink;
  // b sends with the default mark (1 MiB); a, not started, keeps its socket paused
  const got: Uint8Array[] = [];
  let drains = 0;
  b.start({ onFrame: () => {}, onClose: () => {}, onDrain: () => { drains++; } });
  const socket = (b as unknown as { socket: Socket }).socket;
  const sent: Uint8Array[] = [];
  let ok = true, maxQueued = 0;
  // Rounds of 17 frames of 1020 B: each round's last frame reaches flushAtBytes (16 KiB) and is
  // written at once, before the tick's flush (the case that once wrote over held batches).
  for (let round = 0; ok && round < 5000; round++) {
    for (let i = 0; ok && i < 17; i++) {
      const f = makeFrame(sent.length, 1000);
      sent.push(f);
      ok = b.send(f);
      maxQueued = Math.max(maxQueued, socket.writableLength);
    }
    await new Promise((r) => setImmediate(r));
  }
  assert.not.ok(ok, 'send returned false while the peer does not read');
  const mark = 1 << 20;
  assert.ok(maxQueued <= mark + 16384 + 1020, `socket backlog ${maxQueued} bounded by the mark (+ one batch)`);
  assert.is(drains, 0);
  a.start({ onFrame: (buf, off, len) => got.push(buf.slice(off, off + len)), onClose: () => {} });
  const t0 = Date.now();
  while ((drains === 0 || got.length < sent.length) && Date.now() - t0 < 10000) await tick();
  assert.is(drains, 1, 'onDrain once');
  assert.is(got.length, sent.length);
  assert.ok(Buffer.concat(got).equals(Buffer.concat(sent)), 'every frame intact, in order');
  a.close(); b.close();
  await pair.cleanup?.();
});

sock('fake socket that holds its writes: batches flushed at flushAtBytes are not overwritten', async () => {
  class HoldingSocket extends EventEmitter {
    writableLength = 0; destroyed = false;
    held: [Uint8Array, (() => void) | undefined][] = [];
    setNoDelay(): this { return this; } pause(): this { return this; } resume(): this { return this; }
    write(d: Uint8Array, cb?: () => void): boolean { this.held.push([d, cb]); this.writableLength += d.length; return false; }
    end(): this { return this; } destroy(): this { this.destroyed = true; return this; }
    drainAll(): Uint8Array[] {
      const out = this.held.map(([d, cb]) => { const c = d.slice(); cb?.(); return c; });
      this.held = []; this.writableLength = 0;
      return out;
    }
  }
  const s = new HoldingSocket();
  const link = new SocketLink(s as unknown as Socket);
  link.start({ onFrame() {}, onClose() {} });
  const sent: Uint8Array[] = [];
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 17; i++) { const f = makeFrame(round * 17 + i, 1000); sent.push(f); link.send(f); }
    await tick();
  }
  assert.ok(Buffer.concat(s.drainAll()).equals(Buffer.concat(sent)));
});

sock.run();

const mesh = suite('mesh link: a stream that says full');

mesh('send is false after stream.send said false, until its drain; onDrain once', async () => {
  class FullStream extends FakeStream {
    full = false;
    views: Uint8Array[] = [];
    override send(data: Uint8Array): boolean { this.views.push(data); super.send(data); return !this.full; }
  }
  const st = new FullStream();
  const link = new MeshLink(st);
  let drains = 0;
  link.start({ onFrame: () => {}, onClose: () => {}, onDrain: () => { drains++; } });
  const sent: Uint8Array[] = [];
  const send = (i: number): boolean => { const f = makeFrame(i, 500); sent.push(f); return link.send(f); };
  assert.ok(send(0));
  st.full = true;
  await Promise.resolve();
  assert.not.ok(send(1), 'false after the stream refused');
  for (let i = 2; i < 80; i++) send(i); // over flushAtBytes: handed on, still false
  assert.not.ok(send(80));
  st.full = false;
  st.dispatchEvent(new Event('drain'));
  assert.is(drains, 1);
  assert.ok(send(81));
  await Promise.resolve();
  // what the muxer was given was never written over (it keeps the views)
  assert.ok(Buffer.concat(st.views).equals(Buffer.concat(sent)));
  assert.is(Buffer.concat(st.views).length, sent.length * (HEADER_BYTES + 500));
});

mesh.run();
