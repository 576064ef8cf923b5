// Short deterministic fuzz (the long one belongs to `npm run fuzz`): random and mutated inputs
// must never throw or hang, and every result is a byte count or a known framing code.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cobsDecode, cobsEncode, cobsMaxEncodedBytes } from '../../src/framing/cobs.ts';
import { frameDecode, frameEncode, frameMaxEncodedBytes } from '../../src/framing/frame.ts';
import { Deframer } from '../../src/framing/deframer.ts';
import * as E from '../../src/wire/errors.ts';
import { toHex } from '../helpers/hex.ts';
import { prng, randomBytes, cobsDecodeRef, crc32cRef } from './util.ts';

const ITERATIONS = 20_000;
const FRAME_CODES = new Set([E.ERR_FRAME_COBS, E.ERR_FRAME_CRC, E.ERR_FRAME_TOO_SHORT, E.ERR_FRAME_BUFFER_TOO_SMALL]);

/** A random input: pure noise, or a valid encoding with 1-4 mutations (flip, insert, delete, truncate). */
function makeInput(rnd: () => number): Uint8Array {
  const kind = rnd();
  if (kind < 0.3) return randomBytes(rnd, Math.floor(rnd() * 300), rnd() < 0.5 ? 0.01 : 0.2);
  const data = randomBytes(rnd, 1 + Math.floor(rnd() * 600), rnd() * 0.3);
  const out = new Uint8Array(frameMaxEncodedBytes(data.length));
  let b = Array.from(out.subarray(0, frameEncode(data, 0, data.length, out, 0)));
  const muts = 1 + Math.floor(rnd() * 4);
  for (let m = 0; m < muts && b.length > 0; m++) {
    const at = Math.floor(rnd() * b.length);
    const op = rnd();
    if (op < 0.4) b[at] = Math.floor(rnd() * 256);
    else if (op < 0.6) b.splice(at, 0, Math.floor(rnd() * 256));
    else if (op < 0.8) b.splice(at, 1);
    else b = b.slice(0, at);
  }
  return Uint8Array.from(b);
}

const fuzz = suite('framing fuzz (20 000 fixed-seed inputs)');
fuzz('cobsDecode agrees with the reference decoder on random and mutated input', () => {
  const rnd = prng(0xf022);
  for (let i = 0; i < ITERATIONS; i++) {
    const input = makeInput(rnd);
    const dst = new Uint8Array(input.length);
    const n = cobsDecode(input, dst);
    const ref = cobsDecodeRef(input);
    if (ref === null) assert.is(n, -E.ERR_FRAME_COBS, `case ${i}`);
    else {
      assert.is(n, ref.length, `case ${i}`);
      assert.is(toHex(dst.subarray(0, n)), toHex(ref));
      // Re-encoding canonical output reproduces a decodable string of the same data.
      const re = new Uint8Array(cobsMaxEncodedBytes(n));
      const m = cobsEncode(dst, re, 0, n);
      assert.is(toHex(cobsDecodeRef(re.subarray(0, m))!), toHex(ref));
    }
    // A too-small destination never throws and never writes past its end.
    const small = new Uint8Array(Math.floor(input.length / 3));
    const s = cobsDecode(input, small);
    assert.ok(s >= 0 ? s <= small.length : FRAME_CODES.has(-s));
  }
});
fuzz('frameDecode returns a length with a matching CRC, or a known code', () => {
  const rnd = prng(0xf023);
  for (let i = 0; i < ITERATIONS; i++) {
    const input = makeInput(rnd);
    const dst = new Uint8Array(input.length + 4);
    const n = frameDecode(input, 0, input.length, dst, 0);
    if (n >= 0) {
      assert.ok(n >= 1);
      assert.is(crc32cRef(dst.subarray(0, n)), new DataView(dst.buffer).getUint32(n, true));
    } else {
      assert.ok(FRAME_CODES.has(-n), `case ${i}: code ${-n}`);
    }
  }
});
fuzz('the Deframer takes the whole stream in random chunks, counts instead of throwing, and resyncs', () => {
  const rnd = prng(0xf024);
  const d = new Deframer(256);
  let frames = 0;
  let inputs = 0;
  const sentinel = new Uint8Array([0x5a, 0xa5]);
  const tail = new Uint8Array(frameMaxEncodedBytes(2) + 1);
  tail[0] = 0;
  const tailLen = 1 + frameEncode(sentinel, 0, 2, tail, 1);
  while (inputs < ITERATIONS) {
    const parts: Uint8Array[] = [];
    for (let k = 0; k < 50; k++, inputs++) parts.push(makeInput(rnd));
    parts.push(tail.subarray(0, tailLen)); // 0x00 flush + a known-good frame
    for (const p of parts) {
      let off = 0;
      while (off < p.length) {
        const len = 1 + Math.floor(rnd() * 97);
        d.feed(p, off, len);
        off += len;
        let n: number;
        let guard = 0;
        let last = '';
        while ((n = d.next()) > 0) {
          assert.ok(n <= 256 && ++guard < 10_000);
          assert.is(crc32cRef(d.frame.subarray(0, n)), new DataView(d.frame.buffer).getUint32(n, true));
          last = toHex(d.frame.subarray(0, n));
          frames++;
        }
        if (p === parts[parts.length - 1] && off >= p.length) assert.is(last, '5aa5', 'the good frame after the junk survives');
      }
    }
  }
  assert.is(d.framesOk, frames);
  const errors = d.errCobs + d.errCrc + d.errOversize + d.errTooShort;
  assert.ok(errors > 1000, `errors counted: ${errors}`);
  assert.ok(d.errOversize > 0 && d.errCobs > 0 && d.errCrc > 0 && d.errTooShort > 0);
  assert.ok([E.ERR_FRAME_COBS, E.ERR_FRAME_CRC, E.ERR_FRAME_OVERSIZE, E.ERR_FRAME_TOO_SHORT].includes(d.lastError));
});

fuzz.run();
