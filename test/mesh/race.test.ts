// The mesh client's provider race (src/mesh/client.ts ProviderRace + startMeshClient) over a
// fake ProviderDirectory: each provider is a Thermo cell served on a memory link, its probe
// answers a configured RTT and load. No libp2p: which provider is chosen, skipped, failed over
// to or switched to, and what the client says when there is none, in milliseconds.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startMeshClient, type MeshClientHandle, type MeshConnectOptions, type ProviderDirectory, type SwitchReason } from '../../src/mesh/client.ts';
import type { MeshLoad, ProviderInfo } from '../../src/mesh/node.ts';
import { defineCell, method, RpcCode, rpcError, type CellDef, type Impl } from '../../src/rpc/index.ts';
import type { Link } from '../../src/transports/link.ts';
import { CellError } from '../../src/wire/cell-error.ts';
import { ERR_MESH_DIAL_FAILED, ERR_MESH_NO_PROVIDERS } from '../../src/wire/errors.ts';
import { Thermo, ReadReq, Empty } from '../rpc/fixtures/thermo.ts';
import { thermoImpl } from '../rpc/fixtures/impl.ts';
import { codeOf, servedCell, tick, until, type ServedCell } from '../rpc/memory-cell.ts';

type T = typeof Thermo;

/** Another cell, found under the name "thermo" by a confused directory. */
const Other = defineCell({ name: 'other', methods: { poke: method(ReadReq, Empty) } });

interface FakeProvider {
  readonly peerId: string;
  rttMs: number;
  load: MeshLoad | null;
  /** The probe throws (a peer that does not answer). */
  probeFails: boolean;
  /** openLink throws (a peer that cannot be dialled). */
  dialFails: boolean;
  /** Its `sleep` never answers (a call that is in progress there until the provider dies). */
  hangs: boolean;
  readonly def: CellDef;
  readonly impl: Impl<CellDef>;
  /** The cells served for each openLink, in order. */
  readonly cells: ServedCell<CellDef>[];
}

const load = (o: Partial<MeshLoad> = {}): MeshLoad => ({ inFlight: 0, maxServing: 10_000, connections: 1, up: true, ...o });

/**
 * A ProviderDirectory whose providers are in-process cells. findProviders reports each one
 * (in the order added), probe answers its configured rttMs and load, openLink serves a new cell.
 */
class FakeDirectory implements ProviderDirectory {
  readonly peerId = 'self';
  readonly providers = new Map<string, FakeProvider>();
  readonly lookups: { name: string; dht: boolean | undefined }[] = [];
  readonly probes: string[] = [];
  readonly dials: string[] = [];

  /** A provider of Thermo whose `read` answers `temp: <its index>` and `sleep` answers `ok: <its index>` after `ms`. */
  add(peerId: string, rttMs: number, opts: { load?: MeshLoad | null; def?: CellDef; impl?: Impl<CellDef> } = {}): FakeProvider {
    const tag = this.providers.size + 1;
    const sleep = (ms: number): Promise<{ ok: number }> => new Promise((r) => { if (!p.hangs) setTimeout(() => r({ ok: tag }), ms); });
    const impl = opts.impl ?? ({ ...thermoImpl(), read: (req) => ({ channel: req.channel, temp: tag, seq: 0 }), sleep: (req) => sleep(req.ms) } satisfies Impl<T>) as unknown as Impl<CellDef>;
    const p: FakeProvider = { peerId, rttMs, load: opts.load === undefined ? load() : opts.load, probeFails: false, dialFails: false, hangs: false, def: opts.def ?? Thermo, impl, cells: [] };
    this.providers.set(peerId, p);
    return p;
  }

  get(peerId: string): FakeProvider { return this.providers.get(peerId)!; }

  /** Kill every link to `peerId` (its connections die: the client sees Unavailable). */
  kill(peerId: string): void { for (const c of this.get(peerId).cells) c.kill(); }

  async findProviders(name: string, onFound: (p: ProviderInfo) => void, opts?: { dht?: boolean }): Promise<void> {
    this.lookups.push({ name, dht: opts?.dht });
    await tick(0);
    for (const p of this.providers.values()) onFound({ peerId: p.peerId, addrs: [], source: 'peer' });
  }

  async probe(peer: string, _name: string): Promise<{ rttMs: number; load: MeshLoad | null }> {
    this.probes.push(peer);
    const p = this.get(peer);
    await tick(0);
    if (p.probeFails) throw new CellError(ERR_MESH_DIAL_FAILED, `probe of ${peer} failed`);
    return { rttMs: p.rttMs, load: p.load === null ? null : { ...p.load } };
  }

  async openLink(peer: string, _name: string): Promise<Link> {
    this.dials.push(peer);
    const p = this.get(peer);
    if (p.dialFails) throw new CellError(ERR_MESH_DIAL_FAILED, `dial of ${peer} failed`);
    const cell = servedCell(p.def, p.impl);
    p.cells.push(cell);
    return cell.link;
  }

  localLink(): Link | null { return null; }
}

/** Small timeouts, no periodic race (each test re-races by hand), no heartbeats. */
function start(dir: FakeDirectory, opts: MeshConnectOptions = {}): { h: MeshClientHandle<T>; switches: [string, string, SwitchReason][] } {
  const h = startMeshClient(dir, Thermo, { timeoutMs: 1000, raceIntervalMs: 0, probeTimeoutMs: 200, rpc: { heartbeatMs: 0 }, ...opts });
  const switches: [string, string, SwitchReason][] = [];
  h.client.mesh.onSwitch((from, to, why) => { switches.push([from, to, why]); });
  return { h, switches };
}

/** The Thermo server behind a provider's latest link. */
const thermoServer = (p: FakeProvider): ServedCell<T>['server'] => p.cells[p.cells.length - 1]!.server as unknown as ServedCell<T>['server'];

const stateOf = (h: MeshClientHandle<T>, peerId: string): string | undefined => h.client.mesh.candidates().find((c) => c.peerId === peerId)?.state;

// ---------------------------------------------------------------------------------------------
const choose = suite('mesh race: choosing a provider');

choose('the provider with the best score (lowest RTT) is chosen first, reported as initial', async () => {
  const dir = new FakeDirectory();
  dir.add('A', 10);
  dir.add('B', 2);
  dir.add('C', 5);
  const { h, switches } = start(dir);
  await h.ready;
  assert.is(h.client.mesh.provider, 'B');
  assert.equal(switches, [['', 'B', 'initial']]);
  assert.equal(dir.dials, ['B'], 'only the winner is dialled');
  assert.is((await h.client.read({ channel: 1 })).temp, 2, 'calls go to B');
  const b = h.client.mesh.candidates().find((c) => c.peerId === 'B')!;
  assert.is(b.state, 'ok');
  assert.is(b.rttMs, 2);
  assert.is(b.source, 'peer');
  assert.is(dir.lookups[0]?.name, 'thermo');
  await h.close();
});

choose('load counts: a faster provider with a long queue loses to a slower idle one', async () => {
  const dir = new FakeDirectory();
  dir.add('A', 2, { load: load({ inFlight: 320, connections: 1 }) }); // (2 + 0.05) × 21
  dir.add('B', 5); // 5.05
  const { h } = start(dir);
  await h.ready;
  assert.is(h.client.mesh.provider, 'B');
  const [a, b] = ['A', 'B'].map((id) => h.client.mesh.candidates().find((c) => c.peerId === id)!);
  assert.ok(a!.score > b!.score);
  await h.close();
});

choose('a provider whose probe fails is skipped and marked failed', async () => {
  const dir = new FakeDirectory();
  dir.add('A', 1).probeFails = true;
  dir.add('B', 5);
  const { h } = start(dir);
  await h.ready;
  assert.is(h.client.mesh.provider, 'B');
  assert.is(stateOf(h, 'A'), 'failed');
  assert.not.ok(dir.dials.includes('A'));
  await h.close();
});

choose('a proxy whose upstream is down (load.up false) is skipped; one that no longer provides (load null) is gone', async () => {
  const dir = new FakeDirectory();
  dir.add('A', 1, { load: load({ up: false }) });
  dir.add('B', 1, { load: null });
  dir.add('C', 5);
  const { h } = start(dir);
  await h.ready;
  assert.is(h.client.mesh.provider, 'C');
  assert.is(stateOf(h, 'B'), 'gone');
  assert.equal(dir.dials, ['C']);
  await h.close();
});

choose('a provider that cannot be dialled is marked failed and the next best is used', async () => {
  const dir = new FakeDirectory();
  dir.add('A', 1).dialFails = true;
  dir.add('B', 5);
  const { h, switches } = start(dir);
  await h.ready;
  assert.is(h.client.mesh.provider, 'B');
  assert.is(stateOf(h, 'A'), 'failed');
  assert.equal(dir.dials, ['A', 'B']);
  assert.equal(switches, [['', 'B', 'initial']]);
  await h.close();
});

choose('a provider that serves another cell under the name is marked incompatible and not used', async () => {
  const dir = new FakeDirectory();
  dir.add('X', 1, { def: Other, impl: { poke: () => ({ ok: 1 }) } as unknown as Impl<CellDef> });
  dir.add('B', 5);
  const { h } = start(dir);
  await h.ready;
  assert.is(h.client.mesh.provider, 'B');
  assert.is(stateOf(h, 'X'), 'incompatible');
  assert.is(dir.get('X').cells[0]!.link.closed, true, 'its connection was closed');
  await h.close();
});

choose('prefer wins over a better score', async () => {
  const dir = new FakeDirectory();
  dir.add('A', 1);
  dir.add('B', 50);
  const { h, switches } = start(dir, { prefer: 'B' });
  await h.ready;
  assert.is(h.client.mesh.provider, 'B');
  assert.equal(switches, [['', 'B', 'initial']]);
  await h.close();
});

choose('a preferred provider that fails its probe does not block the others', async () => {
  const dir = new FakeDirectory();
  dir.add('A', 1);
  dir.add('B', 50).probeFails = true;
  const { h } = start(dir, { prefer: 'B' });
  await h.ready;
  assert.is(h.client.mesh.provider, 'A');
  await h.close();
});

choose('exclude: an excluded provider is never probed nor used', async () => {
  const dir = new FakeDirectory();
  dir.add('A', 1);
  dir.add('B', 5);
  const { h } = start(dir, { exclude: ['A'] });
  await h.ready;
  assert.is(h.client.mesh.provider, 'B');
  assert.not.ok(dir.probes.includes('A'));
  assert.is(stateOf(h, 'A'), undefined);
  await h.close();
});

choose.run();

// ---------------------------------------------------------------------------------------------
const fail = suite('mesh race: failover, re-race, no provider');

fail('when the provider dies, the client fails over to the next and the call in flight is retried there', async () => {
  const dir = new FakeDirectory();
  dir.add('A', 1);
  dir.add('B', 5);
  dir.add('C', 9);
  const { h, switches } = start(dir);
  await h.ready;
  assert.is(h.client.mesh.provider, 'A');
  dir.get('A').hangs = true;
  const p = h.client.sleep({ ms: 1 });
  await until(() => dir.get('A').cells[0]!.serving() === 1, 'the call at A');
  dir.kill('A');
  assert.equal(await p, { ok: 2 }, 'answered by B');
  assert.is(h.client.mesh.provider, 'B');
  assert.equal(switches, [['', 'A', 'initial'], ['A', 'B', 'failover']]);
  assert.is(stateOf(h, 'A'), 'failed');
  await h.close();
});

fail('with retry none the call in flight on a dead provider fails Unavailable; the next call goes to the next provider', async () => {
  const dir = new FakeDirectory();
  dir.add('A', 1);
  dir.add('B', 5);
  const { h } = start(dir, { retry: 'none' });
  await h.ready;
  dir.get('A').hangs = true;
  const p = h.client.sleep({ ms: 1 }).then(() => 0, codeOf);
  await until(() => dir.get('A').cells[0]!.serving() === 1, 'the call at A');
  dir.kill('A');
  assert.is(await p, RpcCode.Unavailable);
  assert.is((await h.client.read({ channel: 1 })).temp, 2);
  assert.is(h.client.mesh.provider, 'B');
  await h.close();
});

fail('the only provider, back after it died, is used again once its cooldown is over', async () => {
  const dir = new FakeDirectory();
  dir.add('A', 1);
  const { h, switches } = start(dir, { cooldownMs: 20 });
  await h.ready;
  dir.kill('A');
  await until(() => !h.client.isReady, 'the loss');
  assert.is(stateOf(h, 'A'), 'failed');
  assert.is((await h.client.read({ channel: 5 })).channel, 5);
  assert.is(dir.get('A').cells.length, 2, 'dialled again');
  assert.equal(switches, [['', 'A', 'initial'], ['A', 'A', 'failover']]);
  assert.is(stateOf(h, 'A'), 'ok');
  await h.close();
});

fail('events subscribed once keep coming after a failover', async () => {
  const dir = new FakeDirectory();
  dir.add('A', 1);
  dir.add('B', 5);
  const { h } = start(dir);
  await h.ready;
  const got: number[] = [];
  h.client.on('alarm', (a) => { got.push(a.level); });
  thermoServer(dir.get('A')).emit('alarm', { level: 1, msg: 'a' });
  await until(() => got.length === 1, 'the alarm from A');
  dir.kill('A');
  await until(() => h.client.mesh.provider === 'B' && h.client.isReady, 'the failover (no call needed: events are wanted)');
  thermoServer(dir.get('B')).emit('alarm', { level: 2, msg: 'b' });
  await until(() => got.length === 2, 'the alarm from B');
  assert.equal(got, [1, 2]);
  await h.close();
});

fail('rerace switches when another provider becomes clearly better (latency), and calls follow', async () => {
  const dir = new FakeDirectory();
  dir.add('A', 5);
  const b = dir.add('B', 1, { load: load({ inFlight: 320 }) }); // 1.05 × 21: worse than A
  const { h, switches } = start(dir);
  await h.ready;
  assert.is(h.client.mesh.provider, 'A');
  b.load = load(); // B is idle now: 1.05 × 1.5 < 5.05
  await h.client.mesh.rerace();
  assert.is(h.client.mesh.provider, 'B');
  assert.equal(switches, [['', 'A', 'initial'], ['A', 'B', 'latency']]);
  assert.is((await h.client.read({ channel: 1 })).temp, 2);
  await until(() => dir.get('A').cells[0]!.link.closed, 'the old connection closed (GOODBYE)');
  await h.close();
});

fail('rerace does not switch for a provider that is better but not by switchRatio', async () => {
  const dir = new FakeDirectory();
  dir.add('A', 5);
  const b = dir.add('B', 1, { load: load({ inFlight: 320 }) });
  const { h, switches } = start(dir, { switchRatio: 1.5 });
  await h.ready;
  b.load = load({ inFlight: 40 }); // 1.05 × 3.5 = 3.675; × 1.5 = 5.5 > 5.05
  await h.client.mesh.rerace();
  assert.is(h.client.mesh.provider, 'A');
  assert.equal(switches, [['', 'A', 'initial']]);
  await h.close();
});

fail('a call in flight on the old provider finishes there after a switch', async () => {
  const dir = new FakeDirectory();
  dir.add('A', 5);
  const b = dir.add('B', 1, { load: load({ inFlight: 320 }) });
  const { h } = start(dir);
  await h.ready;
  const p = h.client.sleep({ ms: 30 });
  await until(() => dir.get('A').cells[0]!.serving() === 1, 'the call at A');
  b.load = load();
  await h.client.mesh.rerace();
  assert.is(h.client.mesh.provider, 'B');
  assert.equal(await p, { ok: 1 }, 'answered by A');
  await h.close();
});

fail('Overloaded from the provider makes the client re-race and the call goes again', async () => {
  const dir = new FakeDirectory();
  let reads = 0;
  const busy = { ...thermoImpl(), read: (req: { channel: number }) => { reads++; if (reads === 1) throw rpcError(RpcCode.Overloaded, 'busy'); return { channel: req.channel, temp: 1, seq: reads }; } };
  dir.add('A', 1, { impl: busy as unknown as Impl<CellDef> });
  const { h } = start(dir);
  await h.ready;
  const probesBefore = dir.probes.length;
  const r = await h.client.read({ channel: 3 });
  assert.is(r.seq, 2);
  await until(() => dir.probes.length > probesBefore, 'the re-race probe');
  await h.close();
});

fail('no provider at all: ready rejects Unavailable (cause 600, no providers) within timeoutMs', async () => {
  const dir = new FakeDirectory();
  const t0 = performance.now();
  const { h } = start(dir, { timeoutMs: 200 });
  const e = await h.ready.then(() => null, (x: unknown) => x as CellError);
  assert.ok(e !== null, 'ready rejected');
  assert.is(e!.code, RpcCode.Unavailable);
  assert.is(e!.detail?.cause, ERR_MESH_NO_PROVIDERS);
  assert.is(e!.detail?.cell, 'thermo');
  assert.ok(performance.now() - t0 < 2000, 'at about timeoutMs, not after a default search');
  await h.client.read({ channel: 1 }, { deadlineMs: 20 }).then(() => assert.unreachable(), (x) => assert.is(codeOf(x), RpcCode.Unavailable));
  await h.close();
});

fail('providers found but none answers: ready rejects Unavailable with cause 601 and the peers tried', async () => {
  const dir = new FakeDirectory();
  dir.add('A', 1).dialFails = true;
  const { h } = start(dir, { timeoutMs: 200 });
  const e = await h.ready.then(() => null, (x: unknown) => x as CellError);
  assert.ok(e !== null, 'ready rejected');
  assert.is(e!.code, RpcCode.Unavailable);
  assert.is(e!.detail?.cause, ERR_MESH_DIAL_FAILED);
  assert.equal(e!.detail?.tried, ['A']);
  await h.close();
});

fail('a call waiting for a provider succeeds once one appears', async () => {
  const dir = new FakeDirectory();
  const { h } = start(dir, { timeoutMs: 2000 });
  const p = h.client.read({ channel: 4 });
  await tick(20);
  dir.add('A', 1);
  assert.is((await p).channel, 4);
  assert.is(h.client.mesh.provider, 'A');
  await h.close();
});

fail('close(): calls fail Closed, onStopped runs, the connection is closed', async () => {
  const dir = new FakeDirectory();
  dir.add('A', 1);
  let stopped = 0;
  const h = startMeshClient(dir, Thermo, { timeoutMs: 1000, raceIntervalMs: 0, rpc: { heartbeatMs: 0 } }, () => { stopped++; });
  await h.ready;
  dir.get('A').hangs = true;
  const p = h.client.sleep({ ms: 1 }).then(() => 0, codeOf);
  await until(() => dir.get('A').cells[0]!.serving() === 1, 'the call at A');
  await h.close();
  assert.is(await p, RpcCode.Closed);
  assert.is(stopped, 1);
  assert.is(h.client.mesh.provider, '');
  await until(() => dir.get('A').cells[0]!.link.closed, 'the link closed');
  await h.client.read({ channel: 1 }).then(() => assert.unreachable(), (x) => assert.is(codeOf(x), RpcCode.Closed));
});

fail.run();
