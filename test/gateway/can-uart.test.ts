// UART and CAN devices behind one gateway (docs/gateway.md §9): the thermo firmware simulated on
// a socat pty (as in the other gateway suites) and a Node thermo device on node 10 of an
// in-process CAN bus, both announced by one gateway on a real libp2p node and called by name
// from another. Skips (with the reason) where the UART simulator cannot run.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type Gateway, type GatewayEvent } from '../../src/gateway/gateway.ts';
import { CanBus } from '../../src/transports/can/bus.ts';
import type { MeshNode } from '../../src/mesh/index.ts';
import { ThermoDef, THERMO_MAX_FRAME_BYTES } from '../../firmware/thermo/schema.ts';
import { deviceSimUnavailable, startDeviceSim, type DeviceSim } from '../../hw-tests/mesh/device-sim.ts';
import { Thermo } from '../rpc/fixtures/thermo.ts';
import { makeWire } from '../can/bus-helpers.ts';
import { SimCanDevice } from '../can/sessions-helpers.ts';
import { meshNodes, stopAll, until } from '../mesh/helpers.ts';

const test = suite('gateway: UART and CAN devices behind one gateway');
const why = await deviceSimUnavailable();

if (why !== null) {
  console.log(`\n  gateway UART + CAN: SKIPPED — ${why}\n`);
  test.skip('a UART device and a CAN device, both called by name', () => {});
} else {
  let dev: DeviceSim;
  let nodes: MeshNode[] = [];
  let gw: Gateway | null = null;
  let bus: CanBus | null = null;
  let can: SimCanDevice | null = null;
  const events: GatewayEvent[] = [];

  test.before(async () => {
    dev = await startDeviceSim();
    nodes = await meshNodes(2);
  });
  test.after(async () => {
    await gw?.close();
    bus?.close();
    await can?.silence();
    await stopAll(nodes);
    await dev?.stop();
  });

  test('a UART device and a CAN device, both called by name', async () => {
    const wire = await makeWire();
    bus = new CanBus(wire.attach('gw'), { node: 0, maxFrameBytes: 1024 });
    can = new SimCanDevice(wire, 10).start();
    gw = startGateway({
      node: nodes[1]!,
      devices: [{ path: dev.hostPath, maxFrameBytes: THERMO_MAX_FRAME_BYTES }],
      // Both run a cell named "thermo": the CAN one is announced under another name.
      can: [{ bus, names: { 10: 'thermo-can' }, probeIntervalMs: 200, probeTimeoutMs: 300 }],
      onEvent: (e) => events.push(e),
    });
    await until(() => events.filter((e) => e.event === 'announced').length === 2, 'both announced', 30_000);
    const uart = await nodes[0]!.connect(ThermoDef, { timeoutMs: 30_000 });
    const onCan = await nodes[0]!.connect(Thermo, { name: 'thermo-can', timeoutMs: 30_000 });
    for (let i = 0; i < 5; i++) {
      assert.is((await uart.read({ channel: i % 4 }, { deadlineMs: 10_000 })).channel, i % 4);
      assert.is((await onCan.read({ channel: i % 4 }, { deadlineMs: 10_000 })).channel, i % 4);
    }
    const paths = gw.devices().map((d) => d.path);
    assert.ok(paths.includes(dev.hostPath) && paths.includes('gw:10'), paths.join());
    assert.is(gw.status().devices.length, 2);
    await uart.close();
    await onCan.close();
  });
}

test.run();
