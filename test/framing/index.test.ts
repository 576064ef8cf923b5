import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as F from '../../src/framing/index.ts';
import { toHex, fromHex } from '../helpers/hex.ts';
import { loadVectors, concat } from './util.ts';

const exportsSuite = suite('framing index exports');
exportsSuite('re-exports the portable API', () => {
  for (const name of ['cobsMaxEncodedBytes', 'cobsEncodedBytes', 'cobsEncode', 'cobsDecode', 'crc32c', 'crc32cUpdate', 'crc32cWrite',
    'crc32cSmall', 'frameMaxEncodedBytes', 'frameEncode', 'frameDecode', 'Deframer', 'StreamDeframer', 'encodeFrame']) {
    assert.type((F as Record<string, unknown>)[name], 'function', name);
  }
  assert.is(F.FRAME_CRC_BYTES, 4);
});

const encodeFrame = suite('encodeFrame');
encodeFrame('matches the golden frame vectors', () => {
  for (const c of loadVectors('frame').cases) assert.is(toHex(F.encodeFrame(fromHex(c.input))), c.hex, c.name);
});
encodeFrame('throws TypeError for a non-Uint8Array and RangeError for an empty payload', () => {
  assert.throws(() => F.encodeFrame('abc' as unknown as Uint8Array), (e: unknown) => e instanceof TypeError);
  assert.throws(() => F.encodeFrame(new Uint8Array(0)), (e: unknown) => e instanceof RangeError);
});

const stream = suite('StreamDeframer');
stream('calls onFrame for each frame across pushes and reports stats', () => {
  const sd = new F.StreamDeframer(64);
  const all = concat([F.encodeFrame(fromHex('01')), fromHex('0311220000'), F.encodeFrame(fromHex('0203'))]);
  const got: string[] = [];
  for (let i = 0; i < all.length; i += 3) sd.push(all.subarray(i, i + 3), (f) => got.push(toHex(f)));
  assert.equal(got, ['01', '0203']);
  assert.equal(sd.stats(), { framesOk: 2, errCobs: 0, errCrc: 0, errOversize: 0, errTooShort: 1, bytesDiscarded: 3, lastError: 203 });
});
stream('delivers the rest of a chunk on the next push when onFrame threw', () => {
  const sd = new F.StreamDeframer(64);
  const two = concat([F.encodeFrame(fromHex('aa')), F.encodeFrame(fromHex('bb'))]);
  assert.throws(() => sd.push(two, () => { throw new Error('boom'); }), /boom/);
  const got: string[] = [];
  sd.push(F.encodeFrame(fromHex('cc')), (f) => got.push(toHex(f)));
  assert.equal(got, ['bb', 'cc']);
});
stream('rejects bad arguments and re-entrant push', () => {
  assert.throws(() => new F.StreamDeframer(0), (e: unknown) => e instanceof RangeError);
  assert.throws(() => new F.StreamDeframer(1.5), (e: unknown) => e instanceof RangeError);
  const sd = new F.StreamDeframer(8);
  assert.throws(() => sd.push([1, 2] as unknown as Uint8Array, () => {}), (e: unknown) => e instanceof TypeError);
  assert.throws(() => sd.push(new Uint8Array(1), null as unknown as () => void), (e: unknown) => e instanceof TypeError);
  assert.throws(() => sd.push(F.encodeFrame(fromHex('01')), () => sd.push(new Uint8Array(1), () => {})), /inside onFrame/);
});

exportsSuite.run();
encodeFrame.run();
stream.run();
