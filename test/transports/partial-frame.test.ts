// src/transports/partial-frame.ts: a length-framed frame whose bytes arrive split at every offset
// (header included) comes back whole, the buffer grows past its first size, and a header that does
// not validate is PARTIAL_BAD with its wire code.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PartialFrame, PARTIAL_BAD, PARTIAL_MORE } from '../../src/transports/partial-frame.ts';
import { Header, HEADER_BYTES } from '../../src/wire/header.ts';
import { makeFrame } from './compliance.ts';

const test = suite('PartialFrame');

test('a frame split at every offset, then byte by byte, is put back together', () => {
  const frame = makeFrame(7, 700); // larger than the initial 256-byte buffer
  const h = new Header();
  for (let cut = 1; cut < frame.length; cut++) {
    const p = new PartialFrame();
    p.start(frame, 0, cut, cut >= HEADER_BYTES ? frame.length : 0);
    const rest = frame.slice(cut);
    const tail = new Uint8Array(rest.length + 3); // and bytes of the next frame after it
    tail.set(rest);
    assert.is(p.add(tail, 1 << 20, h), rest.length, `cut ${cut}`);
    assert.is(p.frameBytes, frame.length);
    assert.equal(p.buf.subarray(0, p.frameBytes), frame, `cut ${cut}`);
    assert.is(p.len, 0);
  }
  const p = new PartialFrame();
  p.start(frame, 0, 1, 0);
  for (let i = 1; i < frame.length - 1; i++) assert.is(p.add(frame.subarray(i, i + 1), 1 << 20, h), PARTIAL_MORE);
  assert.is(p.add(frame.subarray(frame.length - 1), 1 << 20, h), 1);
  assert.equal(p.buf.subarray(0, p.frameBytes), frame);
});

test('a header that does not validate: PARTIAL_BAD with the wire code', () => {
  const frame = makeFrame(1, 10);
  frame[0] = 0; // not the magic byte
  const p = new PartialFrame();
  p.start(frame, 0, 5, 0);
  assert.is(p.add(frame.subarray(5), 1 << 20, new Header()), PARTIAL_BAD);
  assert.ok(p.badHeader > 0);
});

test.run();
