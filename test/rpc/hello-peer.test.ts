// What a connection takes from the peer's HELLO (docs/rpc.md §3.2, docs/wire-format.md §2.1):
// it never sends a frame larger than the max frame the peer announced (the peer would drop it
// and the call would only end at its deadline), and a HELLO it cannot understand (malformed, or
// another protocol version) ends the connection on a server as on a client.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryLink } from '../../src/transports/memory.ts';
import { connect, serve, RpcCode } from '../../src/rpc/index.ts';
import { encodeHello, PROTOCOL_VERSION } from '../../src/rpc/payloads.ts';
import { Header, HEADER_BYTES, KIND_HELLO, writeHeader } from '../../src/wire/header.ts';
import { ERR_LINK_MTU_EXCEEDED } from '../../src/wire/errors.ts';
import { Thermo } from './fixtures/thermo.ts';
import { thermoImpl } from './fixtures/impl.ts';

const tick = (ms = 2) => new Promise((r) => setTimeout(r, ms));

/** Two memory links joined by hand, each with its own MTU (the HELLO announces it as max frame). */
function pair(mtuA: number, mtuB: number): [MemoryLink, MemoryLink] {
  const a = new MemoryLink({ mtu: mtuA });
  const b = new MemoryLink({ mtu: mtuB });
  a.peer = b; b.peer = a;
  return [a, b];
}

function helloFrame(version: number): Uint8Array {
  const payload = encodeHello({ version, flags: 2, heartbeatMs: 0, maxFrameBytes: 65536, cellName: 'thermo', entries: Thermo.entries });
  const f = new Uint8Array(HEADER_BYTES + payload.length);
  const h = new Header();
  h.kind = KIND_HELLO; h.length = payload.length;
  writeHeader(h, f, 0); f.set(payload, HEADER_BYTES);
  return f;
}

const test = suite('the peer\'s HELLO');

test('a request over the max frame the server announced fails at once with cause 502, and smaller ones still work', async () => {
  const [a, b] = pair(2048, 65536);
  const server = serve(Thermo, thermoImpl(), a, { heartbeatMs: 0 });
  const client = await connect(Thermo, b, { heartbeatMs: 0 });
  assert.is(client.peer.maxFrameBytes, 2048);
  const t0 = performance.now();
  try {
    await client.echo({ text: 'x'.repeat(4000) }, { deadlineMs: 5000 });
    assert.unreachable('a 4 kB request went to a peer that takes 2 kB frames');
  } catch (e) {
    assert.is((e as { code: number }).code, RpcCode.Malformed);
    assert.is((e as { detail?: { cause?: number } }).detail?.cause, ERR_LINK_MTU_EXCEEDED);
  }
  assert.ok(performance.now() - t0 < 1000, 'refused locally, not at the deadline');
  assert.is((await client.echo({ text: 'short' })).text, 'short');
  await client.close();
  await server.close();
});

for (const [what, frame] of [['another protocol version', helloFrame(PROTOCOL_VERSION + 1)], ['a HELLO that does not decode', helloFrame(PROTOCOL_VERSION).subarray(0, HEADER_BYTES + 3)]] as const) {
  test(`a server closes the connection of a caller whose HELLO is ${what}`, async () => {
    const [a, b] = pair(65536, 65536);
    const server = serve(Thermo, thermoImpl(), a, { heartbeatMs: 0 });
    let closed = false;
    b.start({ onFrame: () => {}, onClose: () => { closed = true; } });
    if (what === 'a HELLO that does not decode') {
      const f = new Uint8Array(frame);
      new DataView(f.buffer).setUint32(16, f.length - HEADER_BYTES, true); // length of the cut payload
      b.send(f);
    } else b.send(frame);
    for (let i = 0; i < 500 && !closed; i++) await tick();
    assert.ok(closed, 'the link was closed by the server');
    assert.is(server.connections.size, 0);
    await server.close();
  });
}

test.run();
