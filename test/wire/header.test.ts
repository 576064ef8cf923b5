import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Header, HEADER_BYTES, KIND_REQUEST, KIND_GOODBYE, FLAG_MORE, CHANNEL_CONTROL,
  readHeader, writeHeader, priorityOf,
} from '../../src/wire/header.ts';
import * as E from '../../src/wire/errors.ts';
import { toHex, fromHex } from '../helpers/hex.ts';

const writeRead = suite('writeHeader/readHeader');

writeRead('writes the documented bytes for a REQUEST (docs/wire-format.md example 1)', () => {
  const h = new Header();
  h.kind = KIND_REQUEST; h.flags = 0; h.channel = 0; h.callId = 1;
  h.keyLo = 0x44332211; h.keyHi = 0x88776655; h.length = 4;
  const buf = new Uint8Array(24);
  assert.is(writeHeader(h, buf, 0), HEADER_BYTES);
  assert.is(toHex(buf.subarray(0, 20)), 'ce120000' + '01000000' + '1122334455667788' + '04000000');
});

writeRead('round-trips at an offset and leaves neighbours alone', () => {
  const h = new Header();
  h.kind = KIND_GOODBYE; h.flags = FLAG_MORE | 0xc0; h.channel = CHANNEL_CONTROL;
  h.callId = 0xfffffffe; h.keyLo = 0x80000000; h.keyHi = 0xffffffff; h.length = 7;
  const buf = new Uint8Array(40).fill(0xaa);
  assert.is(writeHeader(h, buf, 5), 20);
  assert.is(buf[4], 0xaa);
  assert.is(buf[25], 0xaa);
  const out = new Header();
  assert.is(readHeader(buf, 5, 27, 1024, out), 20);
  assert.equal({ ...out }, { ...h });
  assert.is(priorityOf(out.flags), 3);
});

writeRead('refuses a buffer with fewer than 20 bytes left', () => {
  assert.is(writeHeader(new Header(), new Uint8Array(25), 6), -E.ERR_WIRE_BUFFER_TOO_SMALL);
});

const bad = suite('readHeader rejects');
const good = () => fromHex('ce120000010000001122334455667788' + '04000000' + 'deadbeef');
const check = (mutate: (b: Uint8Array) => void, available: number, code: number, max = 1024) => {
  const b = good();
  mutate(b);
  assert.is(readHeader(b, 0, available, max, new Header()), -code);
};
bad('truncated', () => check(() => {}, 19, E.ERR_WIRE_TRUNCATED));
bad('bad magic', () => check((b) => { b[0] = 0xcf; }, 24, E.ERR_WIRE_BAD_MAGIC));
bad('bad version', () => check((b) => { b[1] = 0x22; }, 24, E.ERR_WIRE_BAD_VERSION));
bad('kind 0', () => check((b) => { b[1] = 0x10; }, 24, E.ERR_WIRE_BAD_KIND));
bad('kind 13', () => check((b) => { b[1] = 0x1d; }, 24, E.ERR_WIRE_BAD_KIND));
bad('reserved flag bits', () => check((b) => { b[2] = 0x08; }, 24, E.ERR_WIRE_BAD_FLAGS));
bad('length over the link maximum', () => check(() => {}, 24, E.ERR_WIRE_LENGTH_TOO_LARGE, 3));
bad('length over the bytes available', () => check(() => {}, 23, E.ERR_WIRE_LENGTH_TOO_LARGE));
bad('length 0xffffffff', () => check((b) => { b.fill(0xff, 16, 20); }, 24, E.ERR_WIRE_LENGTH_TOO_LARGE, 0xffffffff));
bad('accepts an unknown length when available is -1', () => {
  assert.is(readHeader(good().subarray(0, 20), 0, -1, 1024, new Header()), 20);
});

writeRead.run();
bad.run();
