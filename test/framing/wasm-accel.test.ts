// The wasm framing accelerator (src/framing/wasm-accel.ts, build/wasm/framing-accel.wasm) against
// the JS path (frameEncode, Deframer): the same bytes, return values and counters for random
// frames of every size up to the maximum, split at every offset through the deframer, and for
// random and mutated streams in random chunks.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { frameEncode, frameMaxEncodedBytes } from '../../src/framing/frame.ts';
import { Deframer } from '../../src/framing/deframer.ts';
import { createWasmFraming, wasmFramingAvailable, type WasmFraming } from '../../src/framing/wasm-accel.ts';
import { ensureWasm } from '../portable/wasm.ts';
import { concat, prng, randomBytes } from './util.ts';

ensureWasm(); // builds build/wasm/*.wasm when missing or stale (CI runs npm run build:wasm first)

const MAX = 700; // every size 1..MAX, split at every offset (~0.25 M feeds per path)
const STAGE = 4 * frameMaxEncodedBytes(MAX);

function make(max = MAX, stage = STAGE): WasmFraming {
  const w = createWasmFraming(max, stage, 256); // small rx: the chunk tests grow it
  if (w === null) throw new Error('the accelerator is unavailable although build/wasm/framing-accel.wasm was built');
  return w;
}

type Counted = Pick<Deframer, 'framesOk' | 'errCobs' | 'errCrc' | 'errOversize' | 'errTooShort' | 'bytesDiscarded' | 'lastError'>;
const counters = (d: Counted) => [d.framesOk, d.errCobs, d.errCrc, d.errOversize, d.errTooShort, d.bytesDiscarded, d.lastError].join(',');

/** Drain both deframers and compare every frame. */
function drain(js: Deframer, w: WasmFraming, what: string): number {
  let frames = 0;
  for (;;) {
    const a = js.next();
    const b = w.next();
    assert.is(b, a, `${what}: next()`);
    if (a === 0) return frames;
    frames++;
    for (let i = 0; i < a; i++) if (js.frame[i] !== w.frame[i]) assert.unreachable(`${what}: frame byte ${i} differs`);
  }
}

const avail = suite('wasm framing accelerator: availability');
avail('the accelerator loads once build/wasm/framing-accel.wasm exists', () => {
  assert.ok(wasmFramingAvailable());
  assert.ok(make() !== null);
});

const enc = suite('wasm frameEncode == JS frameEncode');
enc(`every size 1..${MAX}, random content and zero density, random destination offset`, () => {
  const rnd = prng(0xacce1);
  const w = make();
  const dst = new Uint8Array(STAGE);
  for (let n = 1; n <= MAX; n++) {
    const src = randomBytes(rnd, n, [0, 0.01, 0.2, 0.9][n & 3]!);
    const off = Math.floor(rnd() * (STAGE - frameMaxEncodedBytes(n)));
    const a = frameEncode(src, 0, n, dst, off);
    const b = w.encode(src, n, off);
    assert.is(b, a, `size ${n}`);
    for (let i = 0; i < a; i++) if (dst[off + i] !== w.stage[off + i]) assert.unreachable(`size ${n}: byte ${i} differs`);
  }
});
enc('a source larger than the frame (len < length), and the same buffer again', () => {
  const rnd = prng(0xacce2);
  const w = make();
  const big = randomBytes(rnd, 4 * MAX, 0.05);
  const dst = new Uint8Array(STAGE);
  for (const n of [1, 5, 100, MAX, 100, 100, 3]) {
    const a = frameEncode(big, 0, n, dst, 0);
    assert.is(w.encode(big, n, 0), a, `len ${n}`);
    assert.equal(w.stage.slice(0, a), dst.slice(0, a), `len ${n}`);
  }
});
enc('error returns are frameEncode\'s', () => {
  const w = make(64, 80);
  const dst = new Uint8Array(80);
  const src = new Uint8Array(64).fill(7);
  for (const [len, off] of [[0, 0], [10, 81], [10, -1], [64, 10], [64, 70], [64, 80]] as const) {
    assert.is(w.encode(src, len, off), frameEncode(src, 0, len, dst, off), `len ${len} off ${off}`);
  }
  assert.ok(w.encode(new Uint8Array(65), 65, 0) < 0, 'longer than maxFrameBytes');
  assert.ok(w.encode(src, 65, 0) < 0, 'longer than the source');
});

const dec = suite('wasm deframer == JS Deframer');
dec(`every size 1..${MAX}, the encoded frame split at every offset`, () => {
  const rnd = prng(0xacce3);
  const js = new Deframer(MAX);
  const w = make();
  let frames = 0;
  let expected = 0;
  for (let n = 1; n <= MAX; n++) {
    const src = randomBytes(rnd, n, [0, 0.01, 0.2, 0.9][n & 3]!);
    const e = new Uint8Array(frameMaxEncodedBytes(n));
    const m = frameEncode(src, 0, n, e, 0);
    expected += m + 1; // one frame per split
    for (let k = 0; k <= m; k++) {
      js.feed(e, 0, k);
      w.feed(e, 0, k);
      frames += drain(js, w, `size ${n} split ${k}`);
      js.feed(e, k, m - k);
      w.feed(e, k, m - k);
      frames += drain(js, w, `size ${n} split ${k}, second part`);
    }
    assert.is(counters(w), counters(js), `size ${n}`);
  }
  assert.is(frames, expected);
  assert.is(js.framesOk, expected);
  assert.is(js.errCobs + js.errCrc + js.errOversize + js.errTooShort, 0);
});
dec('random streams: valid, oversize, mutated frames and noise, random chunks, feed with unread bytes', () => {
  const rnd = prng(0xacce4);
  const js = new Deframer(MAX);
  const w = make();
  for (let round = 0; round < 300; round++) {
    const parts: Uint8Array[] = [];
    for (let f = Math.floor(rnd() * 8); f >= 0; f--) {
      const kind = rnd();
      if (kind < 0.15) { parts.push(randomBytes(rnd, Math.floor(rnd() * 300), rnd() < 0.5 ? 0.01 : 0.2)); continue; }
      const n = 1 + Math.floor(rnd() * (kind < 0.25 ? MAX + 300 : MAX));
      const src = randomBytes(rnd, n, rnd() * 0.3);
      const e = new Uint8Array(frameMaxEncodedBytes(n));
      const m = frameEncode(src, 0, n, e, 0);
      const b = e.slice(0, m);
      if (kind > 0.8) for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) b[Math.floor(rnd() * m)] = Math.floor(rnd() * 256);
      parts.push(b);
    }
    const stream = concat(parts);
    let at = 0;
    while (at < stream.length) {
      const len = Math.min(stream.length - at, 1 + Math.floor(rnd() * (rnd() < 0.2 ? 4000 : 200)));
      js.feed(stream, at, len);
      w.feed(stream, at, len);
      at += len;
      if (rnd() < 0.1) {
        // Leave frames unread: the next feed drops them (and the frame they are in) alike.
        const a = js.next();
        assert.is(w.next(), a);
        continue;
      }
      drain(js, w, `round ${round}`);
    }
    assert.is(counters(w), counters(js), `round ${round}`);
    if (rnd() < 0.05) { js.reset(); w.reset(); }
  }
  assert.ok(js.framesOk > 300 && js.errCrc + js.errCobs > 10, counters(js));
});
dec('whole chunks (the link\'s case) larger than the receive buffer grow it; frame views stay valid', () => {
  const rnd = prng(0xacce5);
  const js = new Deframer(MAX);
  const w = make();
  for (const total of [100, 300, 5000, 70_000, 10]) {
    const parts: Uint8Array[] = [];
    let sz = 0;
    while (sz < total) {
      const n = 1 + Math.floor(rnd() * MAX);
      const e = new Uint8Array(frameMaxEncodedBytes(n));
      const m = frameEncode(randomBytes(rnd, n, 0.1), 0, n, e, 0);
      parts.push(e.subarray(0, m));
      sz += m;
    }
    const chunk = concat(parts);
    js.feed(chunk);
    w.feed(chunk);
    drain(js, w, `chunk of ${chunk.length}`);
  }
  assert.is(counters(w), counters(js));
});

avail.run();
enc.run();
dec.run();
