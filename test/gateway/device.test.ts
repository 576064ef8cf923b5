// src/gateway/device.ts: a DeviceUpstream finds out which cell is on a serial port (the thermo
// firmware simulated on a socat pty), then hands every later session to its consumer — here a
// typed client per session, standing in for the mesh proxy — and probes again after an
// unplug/replug. Skips (with the reason) without socat, serialport or the firmware toolchain.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DeviceUpstream, type DeviceIdentity } from '../../src/gateway/device.ts';
import { deviceSimUnavailable, startDeviceSim, type DeviceSim } from '../../hw-tests/mesh/device-sim.ts';
import { connect, type Client } from '../../src/rpc/index.ts';
import type { Link } from '../../src/transports/link.ts';
import { ThermoDef, THERMO_MAX_FRAME_BYTES } from '../../firmware/thermo/schema.ts';

const test = suite('gateway: DeviceUpstream');
const why = await deviceSimUnavailable();

async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

if (why !== null) {
  console.log(`\n  gateway device upstream: SKIPPED — ${why}\n`);
  test.skip('probe, hand over, probe again after a replug', () => {});
} else {
  let dev: DeviceSim;
  let up: DeviceUpstream;
  const links: Link[] = [];
  let client: Client<typeof ThermoDef> | null = null;
  const states: string[] = [];
  const ids: [DeviceIdentity, boolean][] = [];

  test.before(async () => {
    dev = await startDeviceSim();
    up = new DeviceUpstream({ path: dev.hostPath, maxFrameBytes: THERMO_MAX_FRAME_BYTES });
    up.onState((s) => states.push(s));
    up.onIdentity((id, again) => ids.push([id, again]));
  });
  test.after(async () => {
    await client?.close();
    await up?.close();
    await dev?.stop();
  });

  test('the probe learns the cell name and method table from the HELLO; firmware serves no describe', async () => {
    const id = await up.whenIdentified(20_000);
    assert.is(id.name, 'thermo');
    assert.is(id.path, dev.hostPath);
    assert.equal(id.hello.entries.map((e) => e.name).sort(), ThermoDef.entries.map((e) => e.name).sort());
    for (const e of ThermoDef.entries) assert.is(id.hello.entries.find((x) => x.name === e.name)!.key, e.key, e.name);
    assert.is(id.description, null);
    assert.ok(up.probes >= 1);
    assert.ok(states.includes('open') && states.includes('identified'), states.join());
  });

  test('sessions after the probe go to the consumer (also one that arrives late): calls work', async () => {
    up.onLink = (link) => {
      links.push(link);
      void connect(ThermoDef, link, { heartbeatMs: 0 }).then((c) => { client = c; }, () => {});
    };
    await until(() => client !== null, 'a client on the handed-over session');
    const r = await client!.read({ channel: 1 }, { deadlineMs: 10_000 });
    assert.is(r.channel, 1);
    assert.is(links.length, 1, 'one session handed over');
  });

  test('unplug → lost, replug → probed again (again = true) and a new session handed over', async () => {
    const before = links.length;
    const c0 = client;
    await dev.unplug();
    await until(() => states.includes('lost'), 'lost');
    await dev.plug();
    await until(() => ids.length >= 2, 'identified again');
    assert.is(ids[1]![1], true);
    assert.is(ids[1]![0].name, 'thermo');
    await until(() => links.length > before && client !== c0, 'a new client on the new session');
    const r = await client!.read({ channel: 2 }, { deadlineMs: 10_000 });
    assert.is(r.channel, 2);
    assert.ok(states.includes('reopened'), states.join());
  });
}
test.run();
