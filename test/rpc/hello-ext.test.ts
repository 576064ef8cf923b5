// HELLO extensions (docs/rpc.md §4, flags bit 3): TLVs after the entry table, added by the link
// (Link.helloExtensions), skipped by a receiver that does not know their type; extensions that run
// past the payload make the HELLO malformed. Every split point of the extension area is tried.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryPair, type MemoryLink } from '../../src/transports/memory.ts';
import { connect, serve } from '../../src/rpc/index.ts';
import {
  decodeHello, encodeHello, encodeHelloExtension, helloExtension, helloExtensionsAt, HELLO_FLAG_EXTENSIONS, PROTOCOL_VERSION,
  type HelloInfo,
} from '../../src/rpc/payloads.ts';
import { Thermo } from './fixtures/thermo.ts';
import { thermoImpl } from './fixtures/impl.ts';

const base: HelloInfo = {
  version: PROTOCOL_VERSION, flags: 1, heartbeatMs: 1000, maxFrameBytes: 65536, cellName: 'thermo',
  entries: [{ kind: 'method', name: 'read', key: 7n, requestFp: 8n, responseFp: 9n }],
};

test('extensions round-trip after the table; the flag follows their presence', () => {
  const ext = new Uint8Array([...encodeHelloExtension(9, new Uint8Array([1, 2, 3])), ...encodeHelloExtension(1, new Uint8Array(0))]);
  const p = encodeHello({ ...base, extensions: ext });
  assert.ok((p[1]! & HELLO_FLAG_EXTENSIONS) !== 0);
  const h = decodeHello(p, 0, p.length)!;
  assert.equal(h.entries, base.entries);
  assert.equal([...h.extensions!], [...ext]);
  const at = helloExtensionsAt(p, 0, p.length);
  assert.is(at, p.length - ext.length);
  assert.is(helloExtension(p, at, p.length, 1), p.length); // type 1: empty body at the very end
  assert.is(helloExtension(p, at, p.length, 9), at + 3);
  assert.is(helloExtension(p, at, p.length, 5), p.length); // absent
  const plain = encodeHello(base);
  assert.is(plain[1]! & HELLO_FLAG_EXTENSIONS, 0);
  assert.is(helloExtensionsAt(plain, 0, plain.length), -1);
  assert.is(decodeHello(plain, 0, plain.length)!.extensions, undefined);
});

test('an extension area cut at any offset, or trailing bytes without the flag, is malformed', () => {
  const ext = encodeHelloExtension(1, new Uint8Array(20).fill(7));
  const p = encodeHello({ ...base, extensions: ext });
  const tableEnd = p.length - ext.length;
  for (let end = tableEnd + 1; end < p.length; end++) {
    assert.is(decodeHello(p, 0, end), null, `cut at ${end}`);
    assert.is(helloExtension(p, tableEnd, end, -1), -1, `walk cut at ${end}`);
  }
  const noFlag = p.slice();
  noFlag[1] = noFlag[1]! & ~HELLO_FLAG_EXTENSIONS;
  assert.is(decodeHello(noFlag, 0, noFlag.length), null);
});

test('a server takes a HELLO with unknown extensions, and a link can add them', async () => {
  const [a, b] = memoryPair();
  (a as MemoryLink & { helloExtensions?: Uint8Array }).helloExtensions = encodeHelloExtension(200, new Uint8Array([42]));
  const server = serve(Thermo, thermoImpl(), b, { heartbeatMs: 0 });
  const client = await connect(Thermo, a, { heartbeatMs: 0 });
  assert.is((await client.read({ channel: 2 })).channel, 2);
  const peer = [...server.connections][0]!.peer!;
  assert.ok((peer.flags & HELLO_FLAG_EXTENSIONS) !== 0);
  assert.equal([...peer.extensions!], [200, 1, 0, 42]);
  await client.close();
});

test.run();
