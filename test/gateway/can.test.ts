// CAN devices behind the gateway (docs/gateway.md §9), on the in-process bus: three thermo
// "devices" (Node-served, behaving like the firmware: src/can/serve.ts) on nodes 10, 11 and 12,
// a gateway on node 0 of the same bus, on a real libp2p node, and a caller on another mesh node
// that calls each device by name. A device restarting mid-call: Unavailable, then calls resume.
// A device going silent: 'lost' and withdrawn; back: announced again and callable.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type Gateway, type GatewayEvent } from '../../src/gateway/gateway.ts';
import { gatewayFamilies } from '../../src/gateway/metrics.ts';
import { CanBus } from '../../src/transports/can/bus.ts';
import type { MeshNode } from '../../src/mesh/index.ts';
import type { CellError } from '../../src/wire/cell-error.ts';
import { Thermo } from '../rpc/fixtures/thermo.ts';
import { makeWire } from '../can/bus-helpers.ts';
import { SimCanDevice, type Wire } from '../can/sessions-helpers.ts';
import { meshNodes, stopAll, until } from '../mesh/helpers.ts';

const test = suite('gateway: CAN devices');
const codeOf = (e: unknown): number => (e as CellError).code;

let nodes: MeshNode[] = [];
let wire: Wire;
let bus: CanBus;
let gw: Gateway | null = null;
const sims: SimCanDevice[] = [];
const events: GatewayEvent[] = [];
const names = ['thermo', 'thermo-b', 'thermo-c'];

test.before(async () => {
  nodes = await meshNodes(2);
  wire = await makeWire();
  bus = new CanBus(wire.attach('gw'), { node: 0, maxFrameBytes: 1024 });
});
test.after(async () => {
  await gw?.close();
  bus?.close();
  for (const s of sims) await s.silence();
  await stopAll(nodes);
});

test('three device nodes on one bus, announced by name, called from another mesh node', async () => {
  // 10 and 11 broadcast their HELLO at boot; 12 is configured and found by a probe.
  sims.push(new SimCanDevice(wire, 10).start(), new SimCanDevice(wire, 11).start(), new SimCanDevice(wire, 12).start(false));
  gw = startGateway({
    node: nodes[1]!,
    devices: [],
    can: [{ bus, nodes: [10, 11, 12], names: { 11: 'thermo-b', 12: 'thermo-c' }, probeIntervalMs: 200, probeTimeoutMs: 300 }],
    onEvent: (e) => events.push(e),
  });
  await gw.whenAnnounced(20_000);
  await until(() => events.filter((e) => e.event === 'announced').length === 3, 'three announced');
  assert.equal(gw.devices().map((d) => d.path).sort(), ['gw:10', 'gw:11', 'gw:12']);
  for (const [i, name] of names.entries()) {
    const t = await nodes[0]!.connect(Thermo, { name, timeoutMs: 20_000 });
    assert.is((await t.read({ channel: i + 1 }, { deadlineMs: 5000 })).channel, i + 1);
    const items: number[] = [];
    for await (const s of t.samples({ count: 5, failAt: 0 })) items.push(s.i);
    assert.equal(items, [0, 1, 2, 3, 4]);
    const e = await t.read({ channel: 9 }, { deadlineMs: 5000 }).then(() => null, (x: unknown) => x);
    assert.is(codeOf(e), 1001, 'a typed application error through the proxy');
    await t.close();
  }
  // Events both ways: the device's alarm reaches the mesh caller.
  const t = await nodes[0]!.connect(Thermo, { name: 'thermo', timeoutMs: 20_000 });
  const alarms: string[] = [];
  t.on('alarm', (a) => alarms.push(a.msg));
  await t.read({ channel: 0 }, { deadlineMs: 5000 });
  await until(() => { sims[0]!.emitAlarm(3, 'overheat'); return alarms.length > 0; }, 'an event from the device');
  await t.close();
  const st = gw.status();
  assert.is(st.canBuses?.length, 1);
  assert.is(st.canBuses![0]!.nodesUp, 3);
  assert.ok(st.canBuses![0]!.stats.transfersIn > 10);
  const fams = gatewayFamilies(st).map((f) => f.name);
  assert.ok(fams.includes('cell_gateway_can_received_frames_total') && fams.includes('cell_gateway_can_nodes_up'), fams.join());
  const dev = st.devices.find((d) => d.device === 'gw:10')!;
  assert.ok(dev.methods.some((m) => m.method === 'read' && m.calls >= 2), 'calls counted per method');
});

test('a device restarts mid-call: the call fails Unavailable, then calls resume', async () => {
  // retry: 'none' — by default a mesh client sends a call that had no answer again (to this
  // provider once the device is back), which would hide the Unavailable this test looks for.
  const t = await nodes[0]!.connect(Thermo, { name: 'thermo-b', timeoutMs: 20_000, retry: 'none' });
  assert.is((await t.read({ channel: 1 }, { deadlineMs: 5000 })).channel, 1);
  const slow = t.sleep({ ms: 3000 }, { deadlineMs: 10_000 }).then(() => null, (e: unknown) => e);
  await new Promise((r) => setTimeout(r, 50));
  await sims[1]!.restart();
  const err = await slow;
  assert.is(codeOf(err), 401, `the call in flight: ${(err as Error | null)?.message}`);
  await until(() => events.some((e) => e.event === 'restarted' && e.path === 'gw:11'), 'restarted');
  await until(async () => t.read({ channel: 2 }, { deadlineMs: 2000 }).then((r) => r.channel === 2, () => false), 'calls again', 20_000);
  assert.not.ok(events.some((e) => e.event === 'unannounced' && e.path === 'gw:11'), 'a restart does not withdraw');
  await t.close();
});

test('a device goes silent: lost and withdrawn; back: announced again and called by name', async () => {
  const before = events.length;
  await sims[2]!.silence();
  await until(() => events.slice(before).some((e) => e.event === 'unannounced' && e.path === 'gw:12'), 'withdrawn', 20_000);
  assert.ok(events.slice(before).some((e) => e.event === 'lost' && e.path === 'gw:12'));
  assert.not.ok(gw!.devices().find((d) => d.path === 'gw:12')!.announced);
  sims[2]!.start(true); // back: its boot HELLO
  await until(() => events.slice(before).some((e) => e.event === 'announced' && e.path === 'gw:12'), 'announced again', 20_000);
  const t = await nodes[0]!.connect(Thermo, { name: 'thermo-c', timeoutMs: 20_000 });
  assert.is((await t.read({ channel: 3 }, { deadlineMs: 5000 })).channel, 3);
  await t.close();
  // The other two were never disturbed.
  assert.not.ok(events.slice(before).some((e) => e.event === 'unannounced' && e.path !== 'gw:12'));
});

test.run();
