// src/wire/layouts.ts is the one table of RPC payload layouts: the host's encoders
// (src/rpc/payloads.ts) must put every field where it says, and RpcCode (src/rpc/errors.ts) must
// be the 4xx of src/wire/errors.ts under the names errorInfo() gives them.
import { suite } from 'uvu';
import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import * as L from '../../src/wire/layouts.ts';
import * as W from '../../src/wire/index.ts';
import { errorInfo } from '../../src/wire/error-names.ts';
import { readU16LE, readU32LE } from '../../src/wire/bytes.ts';
import { RpcCode } from '../../src/rpc/errors.ts';
import * as P from '../../src/rpc/payloads.ts';
import { HEADER_BYTES } from '../../src/wire/header.ts';

const t = suite('wire layouts');

t('layouts.ts is constants only: portable (asc compiles it into the firmware), imports nothing', () => {
  const src = readFileSync(new URL('../../src/wire/layouts.ts', import.meta.url), 'utf8');
  assert.not.match(src, /^\s*import\b/m);
  assert.not.match(src, /^export (?!const )/m, 'only `export const`');
});

t('cell/wire exports the layout table', () => {
  assert.is(W.HELLO_FLAG_ANSWER, L.HELLO_FLAG_ANSWER);
  assert.is(W.ERROR_HEAD_BYTES, 4);
  assert.is(W.CREDIT_BYTES, 4);
});

t('RpcCode is src/wire/errors.ts 400-409, named as errorInfo names them', () => {
  const codes = Object.values(RpcCode);
  assert.equal(codes, [400, 401, 402, 403, 404, 405, 406, 407, 408, 409]);
  for (const [name, code] of Object.entries(RpcCode)) assert.is(errorInfo(code).name, name);
  assert.is(RpcCode.UnknownMethod, W.ERR_RPC_UNKNOWN_METHOD);
});

t('payloads.ts keeps its exports and takes them from the table', () => {
  assert.is(P.HELLO_FLAG_SERVING, L.HELLO_FLAG_SERVING);
  assert.is(P.HELLO_FLAG_CALLING, L.HELLO_FLAG_CALLING);
  assert.is(P.HELLO_FLAG_ANSWER, L.HELLO_FLAG_ANSWER);
  assert.is(P.PROTOCOL_VERSION, L.RPC_PROTOCOL_VERSION);
});

t('encodeHello puts every field at its layout offset; decodeHello reads it back', () => {
  const entries = [
    { kind: 'method' as const, name: 'read', key: 0x1122334455667788n, requestFp: 0x0102030405060708n, responseFp: 0x1112131415161718n },
    { kind: 'stream' as const, name: 'samples', key: 0x2122232425262728n, requestFp: 3n, responseFp: 4n },
    { kind: 'event' as const, name: 'alarm', key: 5n, requestFp: 6n, responseFp: 0n },
  ];
  const b = P.encodeHello({ version: 1, flags: L.HELLO_FLAG_SERVING | L.HELLO_FLAG_ANSWER, heartbeatMs: 1000, maxFrameBytes: 65536, cellName: 'thermo', entries });
  assert.is(b[L.HELLO_OFF_VERSION], L.RPC_PROTOCOL_VERSION);
  assert.is(b[L.HELLO_OFF_FLAGS], 0x05);
  assert.is(readU16LE(b, L.HELLO_OFF_HEARTBEAT_MS), 1000);
  assert.is(readU32LE(b, L.HELLO_OFF_MAX_FRAME_BYTES), 65536);
  assert.is(b[L.HELLO_OFF_NAME_LEN], 6);
  assert.is(new TextDecoder().decode(b.subarray(L.HELLO_OFF_NAME, L.HELLO_OFF_NAME + 6)), 'thermo');
  let p = L.HELLO_OFF_NAME + 6;
  assert.is(readU16LE(b, p), 3);
  p += L.HELLO_COUNT_BYTES;
  const kinds = [L.ENTRY_KIND_METHOD, L.ENTRY_KIND_STREAM, L.ENTRY_KIND_EVENT];
  entries.forEach((e, i) => {
    assert.is(b[p + L.HELLO_ENTRY_OFF_KIND], kinds[i], `${e.name} kind`);
    assert.is(b[p + L.HELLO_ENTRY_OFF_NAME_LEN], e.name.length);
    const tail = p + L.HELLO_ENTRY_OFF_NAME + e.name.length;
    const u64 = (o: number): bigint => (BigInt(readU32LE(b, o + 4)) << 32n) | BigInt(readU32LE(b, o));
    assert.is(u64(tail + L.HELLO_ENTRY_KEY), e.key);
    assert.is(u64(tail + L.HELLO_ENTRY_REQUEST_FP), e.requestFp);
    assert.is(u64(tail + L.HELLO_ENTRY_RESPONSE_FP), e.responseFp);
    p = tail + L.HELLO_ENTRY_TAIL_BYTES;
  });
  assert.is(p, b.length);
  const h = P.decodeHello(b, 0, b.length);
  assert.ok(h);
  assert.equal(h!.entries, entries);
  // The smallest HELLO: empty name, no entries.
  const min = P.encodeHello({ version: 1, flags: 0, heartbeatMs: 0, maxFrameBytes: 0, cellName: '', entries: [] });
  assert.is(min.length, L.HELLO_MIN_BYTES);
  assert.ok(P.decodeHello(min, 0, min.length));
  assert.is(P.decodeHello(min, 0, min.length - 1), null);
});

t('helloIsAnswer / markHelloAnswer read and set the ANSWER bit of the flags byte', () => {
  const f = new Uint8Array(HEADER_BYTES + L.HELLO_MIN_BYTES);
  assert.not.ok(P.helloIsAnswer(f, 0, f.length));
  P.markHelloAnswer(f);
  assert.is(f[HEADER_BYTES + L.HELLO_OFF_FLAGS], L.HELLO_FLAG_ANSWER);
  assert.ok(P.helloIsAnswer(f, 0, f.length));
  assert.not.ok(P.helloIsAnswer(f, 0, HEADER_BYTES + L.HELLO_OFF_FLAGS), 'a HELLO cut before its flags is not an answer');
  const empty = new Uint8Array(HEADER_BYTES);
  P.markHelloAnswer(empty);
  assert.equal([...empty], new Array(HEADER_BYTES).fill(0), 'an empty HELLO is left alone');
});

t('writeErrorHead / readErrorHead follow the ERROR head layout', () => {
  const b = new Uint8Array(64);
  const end = P.writeErrorHead(b, 2, RpcCode.Malformed, 'héllo', L.ERROR_MESSAGE_MAX_BYTES);
  assert.is(readU16LE(b, 2 + L.ERROR_OFF_CODE), 406);
  assert.is(readU16LE(b, 2 + L.ERROR_OFF_MESSAGE_LEN), 6);
  assert.is(end, 2 + L.ERROR_OFF_MESSAGE + 6);
  const out = { code: 0, message: '', payloadOff: 0 };
  assert.ok(P.readErrorHead(b, 2, end, out));
  assert.equal(out, { code: 406, message: 'héllo', payloadOff: end });
  assert.is(P.readErrorHead(b, 2, 2 + L.ERROR_HEAD_BYTES - 1, out), null);
  // The message is cut on a character boundary to fit.
  const cut = P.writeErrorHead(b, 0, 400, 'ééé', 5);
  assert.is(readU16LE(b, L.ERROR_OFF_MESSAGE_LEN), 4);
  assert.is(cut, L.ERROR_HEAD_BYTES + 4);
});

t.run();
