// HeaderView (src/transports/header-view.ts) against src/wire/header.ts: the same word 0 written,
// the same result and fields read for valid headers and for every kind of bad one, in buffers
// large enough for the DataView path and small enough for the byte path.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Header, HEADER_BYTES, KIND_REQUEST, KIND_RESPONSE, KIND_LAST, FLAG_MORE, CHANNEL_CONTROL,
  readHeader, writeHeader, CHANNEL_APP,
} from '../../src/wire/header.ts';
import { appWord0, HeaderView } from '../../src/transports/header-view.ts';

const t = suite('HeaderView');

function sample(kind: number, flags: number, channel: number, callId: number, keyLo: number, keyHi: number, length: number): Header {
  const h = new Header();
  h.kind = kind; h.flags = flags; h.channel = channel; h.callId = callId; h.keyLo = keyLo; h.keyHi = keyHi; h.length = length;
  return h;
}

const same = (a: Header, b: Header): void => {
  assert.equal([a.kind, a.flags, a.channel, a.callId, a.keyLo, a.keyHi, a.length], [b.kind, b.flags, b.channel, b.callId, b.keyLo, b.keyHi, b.length]);
};

t('appWord0 is bytes 0-3 of writeHeader for an application frame of every kind (flags 0, channel 0)', () => {
  for (let kind = 1; kind <= KIND_LAST; kind++) {
    const a = new Uint8Array(HEADER_BYTES);
    writeHeader(sample(kind, 0, CHANNEL_APP, 0xfffffffe, 0x80000000, 0xffffffff, 7), a, 0);
    assert.is(new DataView(a.buffer).getUint32(0, true), appWord0(kind), `kind ${kind}`);
  }
});

t('read matches readHeader on valid headers and on each bad field, DataView and byte paths', () => {
  const v = new HeaderView();
  const good = sample(KIND_RESPONSE, FLAG_MORE | 0xc0, 7, 0x12345678, 0x80000001, 0xfedcba98, 64);
  const mutations: [string, (b: Uint8Array, off: number) => void][] = [
    ['valid', () => {}],
    ['magic', (b, o) => { b[o] = 0xcd; }],
    ['version', (b, o) => { b[o + 1] = (2 << 4) | KIND_RESPONSE; }],
    ['kind 0', (b, o) => { b[o + 1] = (1 << 4) | 0; }],
    ['kind > last', (b, o) => { b[o + 1] = (1 << 4) | (KIND_LAST + 1); }],
    ['reserved flags', (b, o) => { b[o + 2] = 0x08; }],
    ['length > max payload', (b, o) => { b[o + 16] = 0x01; b[o + 17] = 0x10; }],
    ['length > available', (b, o) => { b[o + 16] = 200; }],
  ];
  for (const size of [40 + HEADER_BYTES + 64, 4096]) {
    for (const [name, mutate] of mutations) {
      for (const available of [-1, HEADER_BYTES + 64, HEADER_BYTES + 10]) {
        for (let off = 0; off < 4; off++) {
          const buf = new Uint8Array(size);
          writeHeader(good, buf, off);
          mutate(buf, off);
          const a = new Header(), b = new Header();
          const ra = readHeader(buf, off, available, 1024, a);
          const rb = v.read(buf, off, available, 1024, b);
          assert.is(rb, ra, `${name}, size ${size}, available ${available}, off ${off}`);
          if (ra === HEADER_BYTES) same(b, a);
        }
      }
    }
    // truncated: fewer than 20 bytes left
    const buf = new Uint8Array(size);
    assert.is(v.read(buf, size - 10, -1, 1024, new Header()), readHeader(buf, size - 10, -1, 1024, new Header()));
  }
});

t('a new buffer gets a new view; the same buffer keeps its view', () => {
  const v = new HeaderView();
  const a = new Uint8Array(512), b = new Uint8Array(512);
  assert.ok(v.of(a) === v.of(a));
  assert.ok(v.of(a) !== v.of(b));
  const h = sample(KIND_REQUEST, 0, 0, 9, 1, 2, 0);
  writeHeader(h, b, 100);
  const out = new Header();
  assert.is(v.read(b, 100, -1, 1024, out), HEADER_BYTES);
  same(out, h);
});

t('a transient view lets go of the buffer at the end of the tick', async () => {
  const v = new HeaderView(true);
  const a = new Uint8Array(512);
  const dv = v.of(a);
  assert.ok(v.of(a) === dv);
  await Promise.resolve();
  assert.ok(v.of(a) !== dv, 'a new view after the tick: the old buffer was released');
});

t.run();
