// src/can/sessions.ts + client.ts + serve.ts on the in-process bus: CanDevices learns nodes from
// their boot HELLOs and from probes, hands out one fresh session per node and session, ends a
// session when its node restarts (calls in flight fail Unavailable), declares a silent node lost
// and finds it again; the supervised client (connectCan) rides on it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CanBus } from '../../src/transports/can/bus.ts';
import { CanDevices, type CanDevice, type CanDeviceState } from '../../src/can/sessions.ts';
import { connectCan } from '../../src/can/client.ts';
import { connect, type Client } from '../../src/rpc/index.ts';
import { CellError } from '../../src/wire/cell-error.ts';
import { Thermo } from '../rpc/fixtures/thermo.ts';
import { makeWire } from './bus-helpers.ts';
import { SimCanDevice, until } from './sessions-helpers.ts';

const s = suite('CAN device sessions');

function gatewayBus(wire: Awaited<ReturnType<typeof makeWire>>, node = 0): CanBus {
  return new CanBus(wire.attach(`gw${node}`), { node, maxFrameBytes: 1024 });
}

function record(dev: CanDevice): string[] {
  const out: string[] = [];
  dev.onState((st: CanDeviceState) => out.push(st));
  return out;
}

s('boot HELLOs and probes: three nodes learned, identified by name and table', async () => {
  const wire = await makeWire();
  const bus = gatewayBus(wire);
  const devices = new CanDevices(bus, { nodes: [12], probeIntervalMs: 100, probeTimeoutMs: 200 });
  const found: number[] = [];
  devices.onDevice((d) => found.push(d.node));
  const sims = [new SimCanDevice(wire, 10).start(), new SimCanDevice(wire, 11).start(), new SimCanDevice(wire, 12).start(false)];
  await until(() => devices.devices().length === 3 && devices.devices().every((d) => d.identity !== null), 'three identified');
  assert.equal(devices.devices().map((d) => d.node), [10, 11, 12]);
  for (const d of devices.devices()) {
    assert.is(d.identity!.name, 'thermo');
    assert.is(d.identity!.node, d.node);
    assert.equal(d.identity!.hello.entries.map((e) => e.name).sort(), Thermo.entries.map((e) => e.name).sort());
    assert.is(d.status, 'up');
  }
  assert.equal(found.sort(), [10, 11], 'nodes 10 and 11 were learned from their broadcasts (12 was configured)');
  await devices.close();
  bus.close();
  for (const x of sims) await x.silence();
});

s('sessions go to the consumer: typed calls, streams and events per node', async () => {
  const wire = await makeWire();
  const bus = gatewayBus(wire);
  const devices = new CanDevices(bus, { probeIntervalMs: 100, probeTimeoutMs: 200 });
  const sim = new SimCanDevice(wire, 10).start();
  await until(() => devices.devices()[0]?.identity != null, 'identified');
  const dev = devices.device(10);
  const clients: Client<typeof Thermo>[] = [];
  dev.onLink = (link) => { void connect(Thermo, link, { heartbeatMs: 0 }).then((c) => clients.push(c)); };
  await until(() => clients.length === 1, 'a session');
  const c = clients[0]!;
  assert.is((await c.read({ channel: 3 })).channel, 3);
  const items: number[] = [];
  for await (const it of c.samples({ count: 4, failAt: 0 })) items.push(it.i);
  assert.equal(items, [0, 1, 2, 3]);
  const alarms: string[] = [];
  c.on('alarm', (a) => alarms.push(a.msg));
  await until(() => { sim.emitAlarm(2, 'hot'); return alarms.length > 0; }, 'an event');
  assert.is(alarms[0], 'hot');
  assert.is(dev.sessionCount, 1);
  await devices.close();
  bus.close();
  await sim.silence();
});

s('a restart mid-call: the call fails Unavailable, a new session starts, calls resume', async () => {
  const wire = await makeWire();
  const bus = gatewayBus(wire);
  const devices = new CanDevices(bus, { probeIntervalMs: 100, probeTimeoutMs: 200 });
  const sim = new SimCanDevice(wire, 10).start();
  const client = await connectCan(Thermo, devices, { node: 10, heartbeatMs: 0 });
  const states = record(client.device);
  const clientStates: string[] = [];
  client.onState((st) => clientStates.push(st));
  assert.is((await client.read({ channel: 1 })).channel, 1);
  const slow = client.sleep({ ms: 2000 }).then(() => null, (e: unknown) => e);
  await new Promise((r) => setTimeout(r, 20));
  await sim.restart();
  const err = await slow;
  assert.instance(err, CellError);
  assert.is((err as CellError).code, 401, `${(err as Error).message}`);
  await until(() => clientStates.includes('reopened'), 'the client reopened');
  assert.is((await client.read({ channel: 2 })).channel, 2);
  assert.ok(states.includes('restarted') && states.includes('identified'), states.join());
  assert.not.ok(states.includes('lost'), 'a restart is not a loss');
  assert.is(client.device.restarts, 1);
  await client.close();
  await devices.close();
  bus.close();
  await sim.silence();
});

s('a silent node: lost by heartbeat, calls fail Unavailable at once, back when it answers a probe', async () => {
  const wire = await makeWire();
  const bus = gatewayBus(wire);
  const client = await connectCan(Thermo, bus, { node: 11, heartbeatMs: 50, probeIntervalMs: 100, probeTimeoutMs: 100, openTimeoutMs: 5000 })
    .catch((e: unknown) => e);
  // Nobody at node 11 yet: connectCan waits for the first session; the node boots within it.
  assert.instance(client, CellError, 'no device: Unavailable');
  const sim = new SimCanDevice(wire, 11).start();
  const c = await connectCan(Thermo, new CanBus(wire.attach('gw2'), { node: 2, maxFrameBytes: 1024 }), { node: 11, heartbeatMs: 50, probeIntervalMs: 100, probeTimeoutMs: 100 });
  const states = record(c.device);
  assert.is((await c.read({ channel: 1 })).channel, 1);
  await sim.silence();
  await until(() => states.includes('lost'), 'lost by heartbeat', 3000);
  const e = await c.read({ channel: 1 }).then(() => null, (x: unknown) => x);
  assert.is((e as CellError).code, 401);
  sim.start(false); // back, without a broadcast: found by the next probe
  await until(() => c.isReady && states.lastIndexOf('identified') > states.indexOf('lost'), 'identified again', 3000);
  assert.is((await c.read({ channel: 4 })).channel, 4);
  await c.close();
  bus.close();
  await sim.silence();
});

s('foreign and unknown nodes: no learning with learn off, bounded by maxDevices', async () => {
  const wire = await makeWire();
  const bus = gatewayBus(wire);
  const devices = new CanDevices(bus, { learn: false, probeIntervalMs: 100, probeTimeoutMs: 100 });
  const sim = new SimCanDevice(wire, 20).start();
  await new Promise((r) => setTimeout(r, 50));
  assert.is(devices.devices().length, 0);
  assert.ok(devices.ignoredNodes >= 1);
  await devices.close();
  bus.close();
  await sim.silence();
});

s('the bus closes: sessions end, every device is lost, nothing is probed any more', async () => {
  const wire = await makeWire();
  const bus = gatewayBus(wire);
  const devices = new CanDevices(bus, { probeIntervalMs: 50, probeTimeoutMs: 100 });
  const sims = [new SimCanDevice(wire, 10).start(), new SimCanDevice(wire, 11).start()];
  await until(() => devices.devices().length === 2 && devices.devices().every((d) => d.status === 'up'), 'two up');
  const dev = devices.device(10);
  const closes: (CellError | null)[] = [];
  dev.onLink = (link) => { link.start({ onFrame: () => {}, onClose: (e) => closes.push(e) }); };
  await until(() => dev.session !== null, 'a session');
  const states = record(dev);
  bus.close();
  await until(() => devices.devices().every((d) => d.status === 'lost'), 'all lost');
  assert.ok(states.includes('lost'));
  assert.is(closes.length, 1, 'the session ended');
  const probes = dev.probes;
  await new Promise((r) => setTimeout(r, 200));
  assert.is(dev.probes, probes, 'no probes on a closed bus');
  await devices.close();
  for (const x of sims) await x.silence();
});

s('learning is bounded: maxDevices nodes at most, the others counted', async () => {
  const wire = await makeWire();
  const bus = gatewayBus(wire);
  const devices = new CanDevices(bus, { maxDevices: 2, probeIntervalMs: 100, probeTimeoutMs: 200 });
  const sims = [10, 11, 12, 13].map((n) => new SimCanDevice(wire, n).start());
  await until(() => devices.ignoredNodes >= 2, 'two ignored');
  assert.is(devices.devices().length, 2);
  await devices.close();
  bus.close();
  for (const x of sims) await x.silence();
});

s.run();
