// Cell RPC over the mesh (docs/mesh.md §7), against a raw libp2p stream in the same run:
//   1. unary RTT (median, p99) of a 64-byte echo: Cell RPC over a /cell/rpc/1 stream, and through
//      a MeshClient found by name, vs a raw libp2p stream ping-pong of the same frame size
//      (20-byte header + 64 B each way) on the same two nodes; TCP+noise+yamux, and QUIC;
//   2. calls/s with 100 concurrent callers through a MeshClient, vs a raw stream echo with 100
//      frames in flight;
//   3. DHT on loopback (3 nodes, the caller not connected to the provider): provide, findProviders
//      (first provider), and connect-by-name (find + race + HELLO).
// Both nodes run in this process (one event loop for both ends, raw and RPC alike): compare the
// ratios, not the absolute numbers, and repeat on a quiet machine.
// Usage: node --import tsx bench/mesh/mesh.bench.ts [--n 3000] [--rounds 3] [--json FILE]
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { connect, type Client } from '../../src/rpc/index.ts';
import { startMeshNode, type MeshNode } from '../../src/mesh/index.ts';
import { EchoCell, Msg, PAYLOAD_BYTES } from '../rpc/echo-cell.ts';
import { printTable } from '../lib/table.ts';

const arg = (name: string, def: string): string => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1]! : def; };
const N = Number(arg('n', '3000'));
const ROUNDS = Number(arg('rounds', '3'));
const JSON_OUT = arg('json', '');
const FRAME = 20 + PAYLOAD_BYTES;
const TARGET_RATIO = 1.3;
const hr = process.hrtime.bigint;

interface Lat { median_us: number; p99_us: number }
function latStats(ns: Float64Array): Lat {
  const s = Float64Array.from(ns).sort();
  const q = (p: number): number => { const i = (s.length - 1) * p, lo = Math.floor(i), hi = Math.ceil(i); return s[lo]! + (s[hi]! - s[lo]!) * (i - lo); };
  return { median_us: q(0.5) / 1e3, p99_us: q(0.99) / 1e3 };
}
async function rtt(call: () => Promise<unknown>, n = N): Promise<Lat> {
  const tw = performance.now();
  for (let i = 0; i < 500 || performance.now() - tw < 300; i++) await call();
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) { const t0 = hr(); await call(); s[i] = Number(hr() - t0); }
  return latStats(s);
}
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** A raw echo protocol: every byte back. */
async function rawEcho(server: MeshNode, client: MeshNode, proto: string, addr: Any): Promise<{ ping(): Promise<void>; pipelined(inFlight: number, ms: number): Promise<number>; close(): void }> {
  await server.libp2p.handle(proto, (s: Any) => {
    s.addEventListener('message', (ev: Any) => { for (const c of ev.data.bufs ?? [ev.data]) s.send(c); });
  }, { runOnLimitedConnection: true });
  const s = await client.libp2p.dialProtocol(addr, proto);
  const frame = new Uint8Array(FRAME);
  for (let i = 0; i < FRAME; i++) frame[i] = i & 0xff;
  let want = 0, got = 0;
  let done: (() => void) | null = null;
  let onFrame: (() => void) | null = null;
  let acc = 0;
  s.addEventListener('message', (ev: Any) => {
    got += ev.data.byteLength;
    if (onFrame !== null) {
      acc += ev.data.byteLength;
      while (acc >= FRAME) { acc -= FRAME; onFrame(); }
      return;
    }
    if (got >= want && done !== null) { const d = done; done = null; d(); }
  });
  // verify once: the echo is byte for byte
  const check: Uint8Array[] = [];
  const probe = (ev: Any): void => { for (const c of ev.data.bufs ?? [ev.data]) check.push(c.slice()); };
  s.addEventListener('message', probe);
  want = got + FRAME;
  await new Promise<void>((r) => { done = r; s.send(frame.slice()); });
  s.removeEventListener('message', probe);
  const back = new Uint8Array(check.reduce((n, c) => n + c.length, 0));
  let p = 0; for (const c of check) { back.set(c, p); p += c.length; }
  if (back.length !== FRAME || back.some((b, i) => b !== frame[i])) throw new Error('raw echo does not verify');
  return {
    ping: () => new Promise<void>((r) => { want = got + FRAME; done = r; s.send(frame.slice()); }),
    /**
     * Frames/s echoed `inFlight` at a time, each batch in one `send` (the raw floor: libp2p costs
     * ~100+ µs per send — a yamux frame, a noise box, a socket write — so one send per frame
     * would be a strawman; Cell batches per tick too).
     */
    pipelined: (inFlight: number, ms: number) => new Promise<number>((resolve) => {
      let count = 0;
      const batch = new Uint8Array(FRAME * inFlight);
      for (let i = 0; i < inFlight; i++) batch.set(frame, i * FRAME);
      const t0 = performance.now();
      let n = 0;
      onFrame = () => {
        count++;
        if (++n < inFlight) return;
        n = 0;
        if (performance.now() - t0 >= ms) { onFrame = null; resolve(count / ((performance.now() - t0) / 1000)); return; }
        s.send(batch.slice());
      };
      s.send(batch.slice());
    }),
    close: () => { s.abort(new Error('done')); },
  };
}

async function callsPerSecond(client: Pick<Client<typeof EchoCell>, "ping">, conc: number, ms: number, msg: { payload: Uint8Array }): Promise<number> {
  let count = 0, stop = false;
  const worker = async (): Promise<void> => { while (!stop) { await client.ping(msg); count++; } };
  const ws = Array.from({ length: conc }, worker);
  await new Promise((r) => setTimeout(r, 300));
  const c0 = count, t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const n = count - c0, dt = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all(ws);
  return n / dt;
}

const impl = { ping: (m: { payload: Uint8Array }) => m };

async function main(): Promise<void> {
  const opts = { mdns: false, announceIntervalMs: 600_000 } as const;
  const tStart = performance.now();
  // Each transport gets its own pair of nodes listening on it only: libp2p reuses an open
  // connection to a peer whatever address is dialled.
  const a = await startMeshNode({ ...opts, quic: false, listen: ['/ip4/127.0.0.1/tcp/0'] });
  const moduleAndStartMs = performance.now() - tStart;
  const t1 = performance.now();
  const b = await startMeshNode({ ...opts, quic: false, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: a.addrs() });
  const nodeStartMs = performance.now() - t1;
  await b.provide(EchoCell, impl);
  let aq: MeshNode | null = null, bq: MeshNode | null = null;
  try {
    aq = await startMeshNode({ ...opts, dht: false, listen: ['/ip4/127.0.0.1/udp/0/quic-v1'] });
    bq = await startMeshNode({ ...opts, dht: false, listen: ['/ip4/127.0.0.1/udp/0/quic-v1'] });
    await bq.provide(EchoCell, impl);
  } catch { aq = bq = null; }
  const msg = { payload: Uint8Array.from({ length: PAYLOAD_BYTES }, (_, i) => i) };
  const results: Record<string, unknown> = { load: loadavg()[0], node: process.version, n: N, rounds: ROUNDS };
  const rows: (string | number)[][] = [];
  const verdicts: string[] = [];

  for (const [label, cn, sn] of [['TCP+noise+yamux', a, b], ['QUIC', aq, bq]] as const) {
    if (cn === null || sn === null) { rows.push([label, 'QUIC unavailable', '', '', '']); continue; }
    const target = cn.libs.multiaddr(sn.addrs()[0]!);
    const raw = await rawEcho(sn, cn, `/bench/echo/${label.length}`, target);
    const via = cn.libp2p.getConnections(sn.libp2p.peerId).map((x: Any) => x.remoteAddr.toString());
    if (!via.every((x: string) => x.includes(label === 'QUIC' ? '/quic-v1' : '/tcp/'))) throw new Error(`${label} rows do not run over ${label}: ${via.join(' ')}`);
    // RPC over one /cell/rpc/1 stream on the same connection
    const stream = await cn.libp2p.dialProtocol(target, '/cell/rpc/1/bench');
    const { MeshLink } = await import('../../src/mesh/link.ts');
    const rpc = await connect(EchoCell, new MeshLink(stream), { heartbeatMs: 0 });
    const back = await rpc.ping(msg);
    if (!back.payload.every((v: number, i: number) => v === msg.payload[i])) throw new Error('rpc echo does not verify');
    const rawR: Lat[] = [], rpcR: Lat[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      rawR.push(await rtt(raw.ping));
      rpcR.push(await rtt(() => rpc.ping(msg)));
    }
    const rawMed = median(rawR.map((x) => x.median_us)), rpcMed = median(rpcR.map((x) => x.median_us));
    const rawP99 = median(rawR.map((x) => x.p99_us)), rpcP99 = median(rpcR.map((x) => x.p99_us));
    const ratio = rpcMed / rawMed;
    rows.push([`raw libp2p stream ping-pong, ${FRAME} B (${label})`, rawMed.toFixed(1), rawP99.toFixed(1), '1.00', '']);
    rows.push([`Cell RPC over /cell/rpc/1 (${label})`, rpcMed.toFixed(1), rpcP99.toFixed(1), ratio.toFixed(2), ratio <= TARGET_RATIO ? 'PASS' : 'FAIL']);
    verdicts.push(`${label}: RPC/raw median ${ratio.toFixed(2)}× (target ≤ ${TARGET_RATIO}×) ${ratio <= TARGET_RATIO ? 'PASS' : 'FAIL'}`);
    results[`rtt_${label}`] = { raw: { median_us: rawMed, p99_us: rawP99 }, rpc: { median_us: rpcMed, p99_us: rpcP99 }, ratio };
    if (label === 'TCP+noise+yamux') {
      // through a MeshClient found by name (the current provider is this same connection's peer)
      const mc = await a.connect(EchoCell, { raceIntervalMs: 0 });
      const mcR: Lat[] = [];
      for (let r = 0; r < ROUNDS; r++) mcR.push(await rtt(() => mc.ping(msg)));
      const mcMed = median(mcR.map((x) => x.median_us));
      const mr = mcMed / rawMed;
      rows.push([`Cell RPC via connect('bench') (MeshClient, ${label})`, mcMed.toFixed(1), median(mcR.map((x) => x.p99_us)).toFixed(1), mr.toFixed(2), mr <= TARGET_RATIO ? 'PASS' : 'FAIL']);
      results.rtt_meshclient = { median_us: mcMed, ratio: mr };
      // throughput with 100 concurrent callers vs raw with 100 frames in flight
      const cps: number[] = [], rps: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        rps.push(await raw.pipelined(100, 1500));
        cps.push(await callsPerSecond(mc, 100, 1500, msg));
      }
      const c = median(cps), rr = median(rps);
      rows.push([`raw stream echo, 100 frames per send (${label})`, `${Math.round(rr)}/s`, '', '1.00', '']);
      rows.push([`MeshClient, 100 concurrent callers (${label})`, `${Math.round(c)}/s`, '', (c / rr).toFixed(2), '']);
      results.throughput = { rpc_calls_per_s: c, raw_frames_per_s: rr };
      await mc.close();
    }
    await rpc.close();
    raw.close();
  }
  printTable(`RPC over the mesh: unary RTT (µs) and throughput — ${N} calls × ${ROUNDS} rounds, median of round medians, both nodes in one process`,
    ['path', 'median µs / rate', 'p99 µs', 'ratio', 'target ≤ 1.3×'], rows);

  // ---- DHT on loopback -------------------------------------------------------------------------
  const c = await startMeshNode({ ...opts, listen: ['/ip4/127.0.0.1/tcp/0'], quic: false, bootstrap: a.addrs().filter((x) => x.includes('/tcp/')) });
  const waitFor = async (cond: () => boolean): Promise<void> => { const t = Date.now(); while (!cond() && Date.now() - t < 10_000) await new Promise((r) => setTimeout(r, 10)); };
  await waitFor(() => (a.libp2p.services.dht?.routingTable?.size ?? 0) >= 2 && (c.libp2p.services.dht?.routingTable?.size ?? 0) >= 1);
  const prov: number[] = [], find: number[] = [], conn: number[] = [];
  for (let i = 0; i < 15; i++) {
    const name = `bench-dht-${i}`;
    const cell = { ...EchoCell, name } as typeof EchoCell;
    const { defineCell, method } = await import('../../src/rpc/index.ts');
    const def = defineCell({ name, methods: { ping: method(Msg, Msg) } });
    void cell;
    const p = await b.provide(def, impl, { announce: false });
    let t = performance.now();
    await p.reannounce();
    prov.push(performance.now() - t);
    t = performance.now();
    await new Promise<void>((resolve) => { const ac = new AbortController(); void c.findProviders(name, () => { ac.abort(); resolve(); }, { signal: ac.signal, timeoutMs: 10_000 }).then(() => resolve()); });
    find.push(performance.now() - t);
    t = performance.now();
    const mc = await c.connect(def, { raceIntervalMs: 0 });
    conn.push(performance.now() - t);
    await mc.close();
    await c.libp2p.hangUp(b.libp2p.peerId); // the next lookup goes through the DHT again
    await p.stop();
  }
  const f = (xs: number[]): string => `${median(xs).toFixed(1)} (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)})`;
  printTable('DHT and start-up on loopback (ms; 3 nodes; caller not connected to the provider before each lookup)', ['step', 'ms: median (min, max) of 15'], [
    ['first node start incl. loading libp2p', moduleAndStartMs.toFixed(0)],
    ['second node start (+ bootstrap dial)', nodeStartMs.toFixed(0)],
    ['provide (2 DHT keys: name, name@schema)', f(prov)],
    ['findProviders → first provider', f(find)],
    ['connect by name (find + race + dial + HELLO)', f(conn)],
  ]);
  results.dht = { provide_ms: median(prov), find_ms: median(find), connect_ms: median(conn), node_start_ms: nodeStartMs, first_start_ms: moduleAndStartMs };
  console.log('\n' + verdicts.join('\n'));
  console.log(`load average ${loadavg()[0]!.toFixed(2)}; Node ${process.version}`);
  if (JSON_OUT !== '') writeFileSync(JSON_OUT, JSON.stringify(results, null, 2));
  await Promise.allSettled([a.stop(), b.stop(), c.stop(), aq?.stop(), bq?.stop()]);
}

await main();
