// Mesh link (a /cell/rpc/1 libp2p stream): the shared compliance suite between two real libp2p
// nodes on loopback (TCP + noise + yamux), and chunk-boundary parsing on a fake stream.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { complianceSuite, makeFrame, type LinkPair } from '../transports/compliance.ts';
import { MeshLink, type MeshNode } from '../../src/mesh/index.ts';
import type { Link } from '../../src/transports/link.ts';
import { meshNodes, stopAll } from './helpers.ts';
import { FakeStream } from './fake-stream.ts';

const nodes: Record<'tcp' | 'quic', Promise<MeshNode[]> | null> = { tcp: null, quic: null };
let n = 0;

async function meshPair(transport: 'tcp' | 'quic'): Promise<LinkPair> {
  // One pair of nodes per transport, listening on that transport only (libp2p reuses a
  // connection to a peer whatever address is dialled).
  nodes[transport] ??= meshNodes(2, transport === 'quic' ? { listen: ['/ip4/127.0.0.1/udp/0/quic-v1'], quic: true } : {});
  const [a, b] = await nodes[transport]!;
  const proto = `/cell/rpc/1/compliance-${n++}`;
  const accepted = new Promise<MeshLink>((resolve) => {
    void b!.libp2p.handle(proto, (stream: ConstructorParameters<typeof MeshLink>[0]) => resolve(new MeshLink(stream)), { runOnLimitedConnection: true });
  });
  await new Promise((r) => setTimeout(r, 1));
  const stream = await a!.libp2p.dialProtocol(b!.libp2p.peerId, proto);
  const via = a!.libp2p.getConnections(b!.libp2p.peerId).map((c: { remoteAddr: { toString(): string } }) => c.remoteAddr.toString());
  if (!via.every((x: string) => x.includes(transport === 'quic' ? '/quic-v1' : '/tcp/'))) throw new Error(`not over ${transport}: ${via.join(' ')}`);
  const la = new MeshLink(stream);
  const lb = await accepted;
  return {
    a: la as Link, b: lb as Link,
    killB: () => lb.destroy(),
    garbageToA: (bytes) => lb.writeRaw(bytes),
    cleanup: () => b!.libp2p.unhandle(proto),
  };
}

complianceSuite('mesh (libp2p stream, TCP + noise + yamux)', { pair: () => meshPair('tcp'), maxFrameBytes: 1 << 20 });
complianceSuite('mesh (libp2p stream, QUIC)', { pair: () => meshPair('quic'), maxFrameBytes: 1 << 20 });

const parse = suite('MeshLink parsing');

parse('frames split at every offset arrive whole, in order', () => {
  const frames = [makeFrame(1, 0), makeFrame(2, 5), makeFrame(3, 300)];
  const all = new Uint8Array(frames.reduce((s, f) => s + f.length, 0));
  let p = 0;
  for (const f of frames) { all.set(f, p); p += f.length; }
  for (let cut = 1; cut < all.length; cut++) {
    const st = new FakeStream();
    const link = new MeshLink(st);
    const got: Uint8Array[] = [];
    link.start({ onFrame: (b, o, l) => got.push(b.slice(o, o + l)), onClose: () => {} });
    st.deliver(all.subarray(0, cut));
    st.deliver(all.subarray(cut), true); // second part as a Uint8ArrayList-like of two chunks
    assert.is(got.length, 3, `cut ${cut}`);
    for (let i = 0; i < 3; i++) assert.equal(got[i], frames[i]);
  }
});

parse('a bad header is fatal: Malformed, the stream is reset', () => {
  const st = new FakeStream();
  const link = new MeshLink(st);
  let err: { code: number } | null = null;
  link.start({ onFrame: () => {}, onClose: (e) => { err = e as never; } });
  st.deliver(new Uint8Array(40).fill(7));
  assert.is(err!.code, 406);
  assert.is(link.stats.errMalformed, 1);
  assert.is(st.status, 'aborted');
});

parse('sends are batched per tick into one stream.send', async () => {
  const st = new FakeStream();
  const link = new MeshLink(st);
  link.start({ onFrame: () => {}, onClose: () => {} });
  for (let i = 0; i < 10; i++) link.send(makeFrame(i, 10));
  assert.is(st.sent.length, 0);
  await Promise.resolve();
  assert.is(st.sent.length, 1);
  assert.is(st.sent[0]!.length, 300);
});

parse('peer end (remoteCloseWrite) → LinkClosed; reset → LinkIo', () => {
  const s1 = new FakeStream();
  const l1 = new MeshLink(s1);
  let e1: { code: number } | null = null;
  l1.start({ onFrame: () => {}, onClose: (e) => { e1 = e as never; } });
  s1.remoteEnd();
  assert.is(e1!.code, 500);
  const s2 = new FakeStream();
  const l2 = new MeshLink(s2);
  let e2: { code: number } | null = null;
  l2.start({ onFrame: () => {}, onClose: (e) => { e2 = e as never; } });
  s2.reset();
  assert.is(e2!.code, 501);
});

parse.run();

const done = suite('mesh link: nodes');
done('stop the nodes', async () => { for (const p of Object.values(nodes)) if (p !== null) await stopAll(await p); });
done.run();
