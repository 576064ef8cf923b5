// src/gateway/hotplug.ts and the gateway's hot-plug: device globs, the directory watcher on a real
// directory, and a real gateway with `{ glob: '<tmp>/ttyX*' }` and `{ serialNumber }` specs — the
// thermo firmware simulated on socat ptys plugged in and pulled out, real libp2p nodes, a mesh
// caller: plugged in → announced and callable by name; pulled → unplugged and withdrawn (the
// gateway no longer provides it); plugged again → announced again. No wall-clock assertions.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { DeviceWatcher, parseDeviceGlob } from '../../src/gateway/hotplug.ts';
import { startGateway, type Gateway, type GatewayEvent } from '../../src/gateway/gateway.ts';
import type { MeshNode } from '../../src/mesh/index.ts';
import { ThermoDef, THERMO_MAX_FRAME_BYTES } from '../../firmware/thermo/schema.ts';
import { buildThermoWasm, deviceSimUnavailable } from '../../hw-tests/mesh/device-sim.ts';
import { startSim, type Sim } from '../../hw-tests/lib/sim.ts';
import { spawnTracked, stopProcess } from '../../hw-tests/lib/procs.ts';
import { meshNodes, stopAll, until } from '../mesh/helpers.ts';

const codeOf = (e: unknown): number => (e as { code: number }).code;

// ---------------------------------------------------------------------------------------------
const globs = suite('gateway hot-plug: device globs');

globs('* and ? in the last segment; the directory is fixed', () => {
  const g = parseDeviceGlob('/dev/ttyUSB*');
  assert.is(g.dir, '/dev');
  assert.ok(g.re.test('ttyUSB0') && g.re.test('ttyUSB12') && g.re.test('ttyUSB'));
  assert.not.ok(g.re.test('ttyACM0') || g.re.test('xttyUSB0'));
  const q = parseDeviceGlob('/dev/serial/by-id/usb-FTDI_?.x*');
  assert.is(q.dir, '/dev/serial/by-id');
  assert.ok(q.re.test('usb-FTDI_A.x-port0'));
  assert.not.ok(q.re.test('usb-FTDI_AB.x') || q.re.test('usb-FTDI_AAx'), 'the dot is literal, ? is one character');
});

globs('globs it cannot watch are refused with the fix', () => {
  assert.throws(() => parseDeviceGlob('/dev/*/ttyUSB0'), /last path segment/);
  assert.throws(() => parseDeviceGlob('/dev/'), /name pattern/);
  assert.throws(() => parseDeviceGlob('/dev/ttyUSB[01]'), /only \* and \?/);
  assert.throws(() => parseDeviceGlob(''), /path pattern/);
});

globs.run();

// ---------------------------------------------------------------------------------------------
const watcher = suite('gateway hot-plug: the directory watcher');

watcher('nodes appearing and disappearing are reported once each; dangling links and fixed paths are not devices; serial numbers through list()', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cell-hp-'));
  const seen: string[] = [];
  let serial: { path: string; serialNumber: string }[] = [];
  let lists = 0;
  const w = new DeviceWatcher(
    [{ index: 0, glob: parseDeviceGlob(join(dir, 'ttyQ*')) }, { index: 1, serialNumber: 'ab-1', list: async () => { lists++; return serial; } }],
    { added: (i, p) => seen.push(`+${i} ${p.slice(dir.length + 1)}`), removed: (i, p) => seen.push(`-${i} ${p.slice(dir.length + 1)}`), notice: () => {} },
    new Set([join(dir, 'ttyQfixed')]),
    { pollMs: 100, devDir: dir },
  );
  try {
    await w.ready;
    assert.equal(seen, []);
    writeFileSync(join(dir, 'ttyQ1'), '');
    writeFileSync(join(dir, 'ttyQfixed'), '');
    writeFileSync(join(dir, 'other'), '');
    symlinkSync(join(dir, 'nowhere'), join(dir, 'ttyQdangling'));
    await until(() => seen.length >= 1, 'ttyQ1 added');
    assert.equal(seen, ['+0 ttyQ1']);
    serial = [{ path: join(dir, 'usbX'), serialNumber: 'AB-1' }];
    writeFileSync(join(dir, 'usbX'), ''); // a new name in devDir: list() again, case-insensitive match
    await until(() => seen.length >= 2, 'serial device added');
    assert.equal(seen, ['+0 ttyQ1', '+1 usbX']);
    const listsBefore = lists;
    await w.scan();
    await w.scan();
    assert.is(lists, listsBefore, 'no list() while the directory is unchanged');
    rmSync(join(dir, 'ttyQ1'));
    rmSync(join(dir, 'usbX'));
    await until(() => seen.length >= 4, 'both removed');
    assert.equal(seen.slice(2).sort(), ['-0 ttyQ1', '-1 usbX']);
    assert.is(w.present.size, 0);
  } finally {
    w.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

watcher.run();

// ---------------------------------------------------------------------------------------------
const real = suite('gateway hot-plug: devices plugged in and pulled out of a running gateway');
const why = await deviceSimUnavailable();

/** A device on the end of a new socat pty pair: the host side appears as `<dir>/<host>`. */
async function plug(dir: string, host: string, wasm: string): Promise<{ unplug(): Promise<void> }> {
  const devEnd = join(dir, `sim-${host}`);
  const hostEnd = join(dir, host);
  const child: ChildProcess = spawnTracked('socat', ['-d', '-d', `pty,raw,echo=0,link=${devEnd}`, `pty,raw,echo=0,link=${hostEnd}`]);
  let log = '';
  child.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  await until(() => {
    if (child.exitCode !== null) throw new Error(`socat exited:\n${log}`);
    return log.includes('starting data transfer loop') && existsSync(devEnd) && existsSync(hostEnd);
  }, 'socat pty pair', 10_000);
  const sim: Sim = await startSim({ ptyPath: devEnd, wasm });
  return { async unplug() { await sim.kill(); await stopProcess(child); } };
}

if (why !== null) {
  console.log(`\n  gateway hot-plug: SKIPPED — ${why}\n`);
  real.skip('plug, call, unplug, plug again', () => {});
} else {
  const wasm = buildThermoWasm() as string;
  let dir: string;
  let nodes: MeshNode[] = [];
  let gw: Gateway;
  const events: GatewayEvent[] = [];
  const count = (pred: (e: GatewayEvent) => boolean): number => events.filter(pred).length;
  const waitFor = (what: string, pred: (e: GatewayEvent) => boolean, n = 1): Promise<void> =>
    until(() => count(pred) >= n, `${what} (events: ${events.map((e) => `${e.event} ${'path' in e ? e.path.slice(dir.length + 1) : ''}`).join(', ')})`, 60_000);

  real.before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cell-hotplug-'));
    nodes = await meshNodes(2);
    const usb = join(dir, 'usb-sim7');
    gw = startGateway({
      node: nodes[1]!,
      devices: [
        { glob: join(dir, 'ttyX*'), maxFrameBytes: THERMO_MAX_FRAME_BYTES },
        { serialNumber: 'SIM-7', maxFrameBytes: THERMO_MAX_FRAME_BYTES, list: async () => (existsSync(usb) ? [{ path: usb, serialNumber: 'sim-7' }] : []) },
      ],
      hotplug: { pollMs: 250, devDir: dir },
      onEvent: (e) => events.push(e),
    });
  });
  real.after(async () => {
    await gw?.close();
    await stopAll(nodes);
    rmSync(dir, { recursive: true, force: true });
  });

  real('no device at start; a glob match plugged in is announced and called by name; pulled, it is withdrawn; plugged again, announced again', async () => {
    const [caller, g] = nodes as [MeshNode, MeshNode];
    const x0 = join(dir, 'ttyX0');
    await gw.whenAnnounced(10_000); // nothing present: nothing to wait for
    assert.equal(gw.devices(), []);

    let device = await plug(dir, 'ttyX0', wasm);
    await waitFor('announced', (e) => e.event === 'announced' && e.path === x0);
    const plugged = events.find((e) => e.event === 'plugged')!;
    assert.equal({ ...plugged, atMs: 0, message: '' }, { event: 'plugged', path: x0, match: join(dir, 'ttyX*'), message: '', atMs: 0 });
    let thermo = await caller.connect(ThermoDef, { timeoutMs: 30_000 });
    assert.is((await thermo.read({ channel: 1 }, { deadlineMs: 10_000 })).channel, 1);
    await thermo.close();
    assert.equal(gw.devices().map((d) => [d.path, d.cell, d.announced, d.hotplug]), [[x0, 'thermo', true, true]]);

    await device.unplug();
    await waitFor('unplugged', (e) => e.event === 'unplugged' && e.path === x0);
    const un = events.find((e) => e.event === 'unplugged') as Extract<GatewayEvent, { event: 'unplugged' }>;
    assert.is(un.cell, 'thermo');
    assert.not.ok(events.some((e) => e.event === 'lost'), 'an unplugged hot-plug device is not "lost, waiting for it"');
    assert.equal(gw.devices(), []);
    // withdrawn: the gateway's node no longer serves the name; peers learn it by identify push
    assert.is((await caller.probe(g.peerId, 'thermo')).load, null);
    await until(async () => {
      const found: string[] = [];
      await caller.findProviders('thermo', (p) => found.push(p.source), { dht: false });
      return found.length === 0;
    }, 'the caller no longer sees thermo among the gateway\'s protocols', 30_000);
    const e = await caller.connect(ThermoDef, { timeoutMs: 3000 }).then(() => null, (x: unknown) => x);
    assert.is(codeOf(e), 401, 'nobody provides thermo now');
    const st = gw.status().devices.find((d) => d.device === x0)!;
    assert.equal([st.present, st.up, st.announced, st.methods.find((m) => m.method === 'read')!.calls], [false, false, false, 1], 'counters kept after the unplug');

    device = await plug(dir, 'ttyX0', wasm);
    await waitFor('announced again', (e) => e.event === 'announced' && e.path === x0, 2);
    assert.is(count((e) => e.event === 'plugged' && e.path === x0), 2);
    thermo = await caller.connect(ThermoDef, { timeoutMs: 30_000 });
    assert.is((await thermo.read({ channel: 2 }, { deadlineMs: 10_000 })).channel, 2);
    await thermo.close();
    const st2 = gw.status().devices.find((d) => d.device === x0)!;
    assert.equal([st2.present, st2.up, st2.announced, st2.reconnects, st2.methods.find((m) => m.method === 'read')!.calls], [true, true, true, 1, 2]);

    await device.unplug();
    await waitFor('unplugged again', (e) => e.event === 'unplugged' && e.path === x0, 2);
  });

  real('a device given by serial number: found through list() when it appears, announced; pulled, withdrawn', async () => {
    const [caller] = nodes as [MeshNode, MeshNode];
    const usb = join(dir, 'usb-sim7');
    const device = await plug(dir, 'usb-sim7', wasm);
    await waitFor('announced', (e) => e.event === 'announced' && e.path === usb);
    const p = events.find((e) => e.event === 'plugged' && e.path === usb) as Extract<GatewayEvent, { event: 'plugged' }>;
    assert.is(p.match, 'serial number SIM-7');
    const thermo = await caller.connect(ThermoDef, { timeoutMs: 30_000 });
    assert.is((await thermo.read({ channel: 3 }, { deadlineMs: 10_000 })).channel, 3);
    await thermo.close();
    assert.ok(gw.status().devices.some((d) => d.device === 'serial:SIM-7' && d.path === usb && d.present));
    await device.unplug();
    await waitFor('unplugged', (e) => e.event === 'unplugged' && e.path === usb);
    assert.equal(gw.devices(), []);
  });
}
real.run();
