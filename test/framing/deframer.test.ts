import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Deframer } from '../../src/framing/deframer.ts';
import { frameEncode, frameMaxEncodedBytes } from '../../src/framing/frame.ts';
import * as E from '../../src/wire/errors.ts';
import { toHex, fromHex } from '../helpers/hex.ts';
import { loadVectors, prng, randomBytes, concat } from './util.ts';

function enc(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(frameMaxEncodedBytes(data.length));
  return out.subarray(0, frameEncode(data, 0, data.length, out, 0));
}

/** Feed `chunks` one by one, draining next(); returns the frames as hex. */
function run(d: Deframer, chunks: Uint8Array[]): string[] {
  const got: string[] = [];
  for (const c of chunks) {
    d.feed(c);
    for (let n = d.next(); n > 0; n = d.next()) got.push(toHex(d.frame.subarray(0, n)));
  }
  return got;
}

function makeFrames(seed: number, count: number, maxLen: number): Uint8Array[] {
  const rnd = prng(seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const len = 1 + Math.floor(rnd() * maxLen);
    out.push(randomBytes(rnd, len, [0, 0.15, 0.6][i % 3]!));
  }
  return out;
}

const basics = suite('Deframer basics');
basics('returns each frame of the golden vectors, CRC stripped', () => {
  const V = loadVectors('frame');
  const d = new Deframer(400);
  for (const c of V.cases) assert.equal(run(d, [fromHex(c.hex)]), [c.input], c.name);
  assert.is(d.framesOk, V.cases.length);
});
basics('counts each invalid golden vector under its code and stays in sync', () => {
  const V = loadVectors('frame');
  const good = fromHex('11220033');
  for (const c of V.invalid) {
    const d = new Deframer(64);
    assert.equal(run(d, [fromHex(c.hex), enc(good)]), ['11220033'], c.name);
    assert.is(d.lastError, c.error, c.name);
    const counts = { [E.ERR_FRAME_COBS]: d.errCobs, [E.ERR_FRAME_CRC]: d.errCrc, [E.ERR_FRAME_TOO_SHORT]: d.errTooShort };
    assert.is(counts[c.error], 1, c.name);
    assert.is(d.errCobs + d.errCrc + d.errTooShort + d.errOversize, 1);
    assert.is(d.bytesDiscarded, fromHex(c.hex).length - 1, 'every byte of the bad frame except its delimiter');
  }
});
basics('returns 0 until the delimiter arrives, keeping the partial frame', () => {
  const f = enc(fromHex('0102030405'));
  const d = new Deframer(16);
  d.feed(f, 0, f.length - 1);
  assert.is(d.next(), 0);
  assert.is(d.next(), 0);
  d.feed(f, f.length - 1, 1);
  assert.is(d.next(), 5);
  assert.is(toHex(d.frame.subarray(0, 5)), '0102030405');
  assert.is(d.next(), 0);
});
basics('ignores empty frames (runs of 0x00) silently', () => {
  const d = new Deframer(16);
  const f = enc(fromHex('aa'));
  assert.equal(run(d, [fromHex('000000'), f, fromHex('0000'), f]), ['aa', 'aa']);
  assert.is(d.errCobs + d.errCrc + d.errTooShort + d.errOversize + d.bytesDiscarded, 0);
  assert.is(d.lastError, 0);
});
basics('returns many frames from one chunk, in order', () => {
  const frames = makeFrames(1, 200, 80);
  const d = new Deframer(80);
  assert.equal(run(d, [concat(frames.map(enc))]), frames.map(toHex));
  assert.is(d.framesOk, 200);
});
basics('accepts a frame of exactly maxFrameBytes, rejects one more as oversize and resyncs', () => {
  const rnd = prng(5);
  const d = new Deframer(300);
  const ok = randomBytes(rnd, 300, 0.1);
  const big = randomBytes(rnd, 301, 0.1);
  const huge = randomBytes(rnd, 5000, 0);
  const after = fromHex('c0ffee');
  assert.equal(run(d, [enc(ok), enc(big), enc(huge), enc(after)]), [toHex(ok), toHex(after)]);
  assert.is(d.errOversize, 2);
  assert.is(d.lastError, E.ERR_FRAME_OVERSIZE);
  assert.is(d.bytesDiscarded, enc(big).length - 1 + enc(huge).length - 1);
  assert.is(d.framesOk, 2);
});
basics('oversize across chunks is counted once', () => {
  const d = new Deframer(10);
  const f = enc(randomBytes(prng(3), 100, 0));
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < f.length; i += 7) chunks.push(f.subarray(i, i + 7));
  assert.equal(run(d, [...chunks, enc(fromHex('01'))]), ['01']);
  assert.is(d.errOversize, 1);
});
basics('a corrupted byte inside a frame is counted (CRC or COBS) and the next frame is fine', () => {
  const rnd = prng(11);
  const frames = makeFrames(12, 3, 200);
  for (let trial = 0; trial < 300; trial++) {
    const bad = enc(frames[1]!).slice();
    const at = Math.floor(rnd() * (bad.length - 1));
    let v = 1 + Math.floor(rnd() * 255);
    if (v === bad[at]) v ^= 0x80;
    bad[at] = v; // never 0x00 here: a new delimiter is the garbage test's business
    const d = new Deframer(200);
    const got = run(d, [enc(frames[0]!), bad, enc(frames[2]!)]);
    assert.is(got[0], toHex(frames[0]!));
    assert.is(got[got.length - 1], toHex(frames[2]!));
    assert.is(got.length, 2, `trial ${trial}: corrupted frame must not come out`);
    assert.is(d.errCrc + d.errCobs + d.errTooShort + d.errOversize, 1);
  }
});
basics('reset() drops a partial frame; counters survive until resetCounters()', () => {
  const d = new Deframer(16);
  const f = enc(fromHex('0102'));
  d.feed(f, 0, 3);
  assert.is(d.next(), 0);
  d.reset();
  assert.equal(run(d, [f]), ['0102']);
  d.feed(fromHex('021100'));
  assert.is(d.next(), 0);
  assert.is(d.errTooShort, 1);
  d.resetCounters();
  assert.is(d.errTooShort + d.framesOk + d.lastError, 0);
});
basics('feed() with unread bytes pending drops them and the frame they belong to', () => {
  const d = new Deframer(16);
  const a = enc(fromHex('0a0b'));
  const b = enc(fromHex('0c0d'));
  d.feed(concat([a, b]));
  assert.is(d.next(), 2); // a out; all of b (with its delimiter) still unread
  d.feed(enc(fromHex('0e'))); // b dropped; it ended with 0x00, so the new chunk starts a frame
  assert.is(d.next(), 1);
  assert.is(toHex(d.frame.subarray(0, 1)), '0e');
  assert.is(d.bytesDiscarded, b.length);
  d.feed(concat([a, b.subarray(0, 3)]));
  assert.is(d.next(), 2); // a out; b[0..3) unread, b cut in the middle
  d.feed(concat([b.subarray(3), enc(fromHex('0f'))])); // rest of b skipped up to its 0x00
  assert.is(d.next(), 1);
  assert.is(toHex(d.frame.subarray(0, 1)), '0f');
  assert.is(d.bytesDiscarded, b.length + 3 + b.length - 4);
  assert.is(d.framesOk, 4);
  assert.is(d.errCobs + d.errCrc + d.errTooShort + d.errOversize, 0);
});
basics('a maxFrameBytes below 1 is raised to 1', () => {
  const d = new Deframer(0);
  assert.is(d.maxFrameBytes, 1);
  assert.equal(run(d, [enc(fromHex('7f'))]), ['7f']);
});

const splits = suite('Deframer chunk boundaries');
const frames = makeFrames(21, 12, 300).concat([new Uint8Array(254).fill(7), new Uint8Array(250).fill(9), fromHex('00')]);
const stream = concat([fromHex('00'), ...frames.map(enc)]);
const want = frames.map(toHex);
splits('two chunks split at every offset give every frame exactly once, in order', () => {
  const d = new Deframer(300);
  for (let cut = 0; cut <= stream.length; cut++) {
    const got = run(d, [stream.subarray(0, cut), stream.subarray(cut)]);
    assert.equal(got, want, `cut at ${cut}`);
  }
  assert.is(d.errCobs + d.errCrc + d.errTooShort + d.errOversize, 0);
});
splits('three chunks at many split pairs', () => {
  const d = new Deframer(300);
  const rnd = prng(77);
  for (let t = 0; t < 400; t++) {
    const a = Math.floor(rnd() * stream.length);
    const b = a + Math.floor(rnd() * (stream.length - a));
    assert.equal(run(d, [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]), want);
  }
});
splits('one byte at a time', () => {
  const d = new Deframer(300);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < stream.length; i++) chunks.push(stream.subarray(i, i + 1));
  assert.equal(run(d, chunks), want);
  assert.is(d.framesOk, frames.length);
});
splits('chunks given as (chunk, off, len) ranges of one buffer', () => {
  const d = new Deframer(300);
  const got: string[] = [];
  for (let off = 0; off < stream.length; off += 13) {
    d.feed(stream, off, Math.min(13, stream.length - off));
    for (let n = d.next(); n > 0; n = d.next()) got.push(toHex(d.frame.subarray(0, n)));
  }
  assert.equal(got, want);
});

const garbage = suite('Deframer with garbage between frames');
garbage('garbage with and without 0x00, each followed by a flushing 0x00: every frame comes out once, in order', () => {
  const rnd = prng(0x6a5b);
  const fr = makeFrames(31, 150, 120);
  const parts: Uint8Array[] = [];
  for (const f of fr) {
    const g = randomBytes(rnd, Math.floor(rnd() * 40), rnd() < 0.5 ? 0 : 0.2);
    parts.push(g, fromHex('00'), enc(f));
  }
  const all = concat(parts);
  for (const chunk of [1, 7, 64, 1000, all.length]) {
    const d = new Deframer(120);
    const cs: Uint8Array[] = [];
    for (let i = 0; i < all.length; i += chunk) cs.push(all.subarray(i, i + chunk));
    assert.equal(run(d, cs), fr.map(toHex), `chunk ${chunk}`);
    assert.ok(d.errCobs + d.errCrc + d.errTooShort + d.errOversize > 0, 'garbage counted');
  }
});
garbage('garbage glued to a frame without a flush costs only that frame', () => {
  const rnd = prng(0x6a5c);
  const fr = makeFrames(32, 60, 100);
  const parts: Uint8Array[] = [];
  const expected: string[] = [];
  for (let i = 0; i < fr.length; i++) {
    if (i % 3 === 1) {
      parts.push(randomBytes(rnd, 1 + Math.floor(rnd() * 20), 0)); // no 0x00: merges with frame i
    } else {
      expected.push(toHex(fr[i]!));
    }
    parts.push(enc(fr[i]!));
  }
  const d = new Deframer(200);
  assert.equal(run(d, [concat(parts)]), expected);
  assert.is(d.errCobs + d.errCrc + d.errTooShort + d.errOversize, 20);
});

basics.run();
splits.run();
garbage.run();
