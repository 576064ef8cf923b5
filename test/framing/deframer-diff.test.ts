// Differential test of the Deframer's whole-block fast path: on random streams (valid frames of
// every size class, frames at and above maxFrameBytes, corrupted frames, garbage with and without
// 0x00, runs of delimiters), the same calls must give the same frames and the same counters
//  - whether the stream is fed whole, in random chunks or one byte at a time (a 1-byte chunk
//    never holds a whole block with data, so that run is bytewise), and
//  - as the bytewise state machine the fast path was added to (deframer-ref.ts, frozen),
// including feed() calls made while bytes of the previous chunk are still unread.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Deframer } from '../../src/framing/deframer.ts';
import { frameEncode, frameMaxEncodedBytes } from '../../src/framing/frame.ts';
import { toHex } from '../helpers/hex.ts';
import { ReferenceDeframer } from './deframer-ref.ts';
import { prng, randomBytes, concat } from './util.ts';

interface AnyDeframer {
  readonly frame: Uint8Array;
  framesOk: number; errCobs: number; errCrc: number; errOversize: number; errTooShort: number;
  bytesDiscarded: number; lastError: number;
  feed(chunk: Uint8Array, off: number, len: number): void;
  next(): number;
}

function enc(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(frameMaxEncodedBytes(data.length));
  return out.subarray(0, frameEncode(data, 0, data.length, out, 0));
}

const counters = (d: AnyDeframer) =>
  `ok=${d.framesOk} cobs=${d.errCobs} crc=${d.errCrc} over=${d.errOversize} short=${d.errTooShort} disc=${d.bytesDiscarded} last=${d.lastError}`;

/** A random stream around maxFrameBytes `max`: frames, corrupted frames, garbage, delimiters. */
function makeStream(rnd: () => number, max: number, parts: number): Uint8Array {
  const out: Uint8Array[] = [];
  for (let i = 0; i < parts; i++) {
    const kind = rnd();
    const zf = [0, 0.02, 0.15, 0.5][Math.floor(rnd() * 4)]!;
    if (kind < 0.45) {
      // a valid frame; lengths around the limit and the 254-byte block edges
      const pick = rnd();
      const n = pick < 0.15 ? max - 2 + Math.floor(rnd() * 4) : pick < 0.25 ? 250 + Math.floor(rnd() * 10) : 1 + Math.floor(rnd() * (max + 20));
      out.push(enc(randomBytes(rnd, Math.max(1, n), zf)));
    } else if (kind < 0.65) {
      // a frame with 1-3 bytes changed (0x00 included: a delimiter inside a block)
      const f = enc(randomBytes(rnd, 1 + Math.floor(rnd() * max), zf)).slice();
      for (let m = 1 + Math.floor(rnd() * 3); m > 0; m--) f[Math.floor(rnd() * f.length)] = rnd() < 0.2 ? 0 : Math.floor(rnd() * 256);
      out.push(f);
    } else if (kind < 0.75) {
      // a truncated frame (runs into the next one)
      const f = enc(randomBytes(rnd, 1 + Math.floor(rnd() * max), zf));
      out.push(f.subarray(0, Math.floor(rnd() * f.length)));
    } else if (kind < 0.85) {
      out.push(randomBytes(rnd, Math.floor(rnd() * 40), rnd() < 0.5 ? 0 : 0.2)); // garbage
    } else if (kind < 0.92) {
      out.push(new Uint8Array(1 + Math.floor(rnd() * 3))); // delimiters: empty frames
    } else {
      // tiny "frames": too short, or a lone code byte
      out.push(Uint8Array.from([1 + Math.floor(rnd() * 6), ...randomBytes(rnd, Math.floor(rnd() * 6), 0.1), 0]));
    }
  }
  return concat(out);
}

/**
 * Feed `stream` in chunks of the sizes `cut` yields and call next() as `drains` says (-1 = until
 * 0, k >= 0 = at most k times, which leaves unread bytes for the next feed). Returns a log of
 * every non-zero next() result with the frame bytes, and the counters after each feed.
 */
function drive(d: AnyDeframer, stream: Uint8Array, cut: () => number, drains: () => number): string[] {
  const log: string[] = [];
  for (let off = 0; off < stream.length;) {
    const n = Math.min(stream.length - off, Math.max(1, cut()));
    d.feed(stream, off, n);
    off += n;
    const k = drains();
    for (let i = 0; k < 0 || i < k; i++) {
      const r = d.next();
      if (r <= 0) { log.push(`next=${r}`); break; }
      log.push(`${r}:${toHex(d.frame.subarray(0, r))}`);
    }
    log.push(counters(d));
  }
  for (let r = d.next(); r > 0; r = d.next()) log.push(`${r}:${toHex(d.frame.subarray(0, r))}`);
  log.push(counters(d));
  return log;
}

/** Frames and final counters only (independent of how the stream was chunked). */
function framesAndCounters(d: AnyDeframer, stream: Uint8Array, cut: () => number): string {
  const got: string[] = [];
  for (let off = 0; off < stream.length;) {
    const n = Math.min(stream.length - off, Math.max(1, cut()));
    d.feed(stream, off, n);
    off += n;
    for (let r = d.next(); r > 0; r = d.next()) got.push(toHex(d.frame.subarray(0, r)));
  }
  return `${got.join(' ')} | ${counters(d)}`;
}

const diff = suite('Deframer fast path vs bytewise');

diff('whole stream, random chunks and one byte at a time give the same frames and counters', () => {
  const rnd = prng(0xdef1);
  for (let t = 0; t < 120; t++) {
    const max = [1, 5, 16, 64, 253, 254, 255, 300, 600][t % 9]!;
    const stream = makeStream(rnd, max, 40);
    const whole = framesAndCounters(new Deframer(max), stream, () => stream.length);
    const bytewise = framesAndCounters(new Deframer(max), stream, () => 1);
    const chunkMax = 1 + Math.floor(rnd() * 300);
    const chunked = framesAndCounters(new Deframer(max), stream, () => 1 + Math.floor(rnd() * chunkMax));
    const ref = framesAndCounters(new ReferenceDeframer(max), stream, () => stream.length);
    assert.is(whole, bytewise, `trial ${t} (max ${max}): whole vs byte at a time`);
    assert.is(chunked, bytewise, `trial ${t} (max ${max}): chunks of 1..${chunkMax} vs byte at a time`);
    assert.is(whole, ref, `trial ${t} (max ${max}): vs the frozen bytewise deframer`);
  }
});

diff('same call sequence as the frozen bytewise deframer, also when feed() drops unread bytes', () => {
  const rnd = prng(0xdef2);
  for (let t = 0; t < 150; t++) {
    const max = [1, 5, 16, 64, 254, 300][t % 6]!;
    const stream = makeStream(rnd, max, 30);
    const seed = Math.floor(rnd() * 2 ** 32);
    const chunkMax = [1, 3, 17, 100, 1000, stream.length][t % 6]!;
    const plan = () => {
      const r = prng(seed);
      return { cut: () => 1 + Math.floor(r() * chunkMax), drains: () => (r() < 0.7 ? -1 : Math.floor(r() * 3)) };
    };
    const a = plan(), b = plan();
    const got = drive(new Deframer(max), stream, a.cut, a.drains);
    const want = drive(new ReferenceDeframer(max), stream, b.cut, b.drains);
    assert.equal(got, want, `trial ${t} (max ${max}, chunks ≤ ${chunkMax})`);
  }
});

diff('frames that exactly fill the buffer, with and without a trailing implied zero', () => {
  // maxFrameBytes m: a frame of m bytes fits (CRC included, m + 4 decoded bytes); m + 1 does not.
  const rnd = prng(0xdef3);
  for (const m of [1, 2, 5, 249, 250, 251, 252, 253, 254, 255, 256, 508]) {
    for (let t = 0; t < 12; t++) {
      const zf = [0, 0.1, 0.5][t % 3]!;
      const parts = [m, m + 1, m - 1, m + 2].filter((n) => n >= 1).map((n) => {
        const p = randomBytes(rnd, n, zf);
        if (t & 4) p[n - 1] = 0; // trailing zero: its implied 0x00 lands in the CRC
        return enc(p);
      });
      const stream = concat(parts);
      const whole = framesAndCounters(new Deframer(m), stream, () => stream.length);
      assert.is(whole, framesAndCounters(new Deframer(m), stream, () => 1), `m=${m} t=${t}`);
      assert.is(whole, framesAndCounters(new ReferenceDeframer(m), stream, () => 1), `m=${m} t=${t} ref`);
    }
  }
});

diff.run();
