// The README's mesh demo: a device cell callable by name (docs/gateway.md, docs/mesh.md).
// The thermo firmware runs simulated on one end of a pty pair (a stand-in for /dev/ttyUSB0);
// `cell gateway` opens the other end, learns the cell from the device's HELLO (its schema JSON
// from firmware/thermo/gen/schema.json, as the firmware has no room for it) and announces
// "thermo" in a libp2p mesh on loopback; then a second process calls it by name with the CLI,
// and a program on a third node gets a typed client by name, reads a stream, sees the device
// unplugged as a typed error and the same client working again after the replug.
// Nothing to start by hand; needs socat and the optional libp2p + serialport packages
// (scripts/setup.sh installs both). Run: node --import tsx examples/mesh-demo.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cell, startGateway } from './lib/demo-procs.ts';
import { deviceSimUnavailable, startDeviceSim, type DeviceSim } from '../hw-tests/mesh/device-sim.ts';
import { ThermoDef } from '../firmware/thermo/schema.ts';
import type { MeshNode } from '../src/mesh/index.ts';

const t0 = performance.now();
const ms = (): string => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

const why = await deviceSimUnavailable();
if (why !== null) {
  console.error(`mesh demo: cannot run here — ${why}\nfix: bash scripts/setup.sh (installs socat and the optional packages)`);
  process.exit(1);
}
let loaded: typeof import('../src/mesh/index.ts');
try {
  loaded = await import('../src/mesh/index.ts');
} catch (e) {
  console.error(`mesh demo: libp2p is not installed (${(e as Error).message.split('\n')[0]})\nfix: npm ci (libp2p is an optional peer dependency, installed in a dev checkout)`);
  process.exit(1);
}
const { startMeshNode } = loaded;

const keyDir = mkdtempSync(join(tmpdir(), 'cell-mesh-demo-'));
let device: DeviceSim | null = null;
let gateway: ReturnType<typeof startGateway> | null = null;
let node: MeshNode | null = null;
let failed = false;
try {
  console.log('Cell mesh demo: a sensor device on a serial line, callable by name through a gateway');
  device = await startDeviceSim();
  console.log(`\n(the thermo firmware, simulated, listens on a pty: the gateway opens ${device.hostPath} as it would /dev/ttyUSB0)`);

  gateway = startGateway(device.hostPath, join(keyDir, 'gateway'));
  const nodeEvent = await gateway.next('node', 60_000);
  const addr = (nodeEvent.addrs as string[]).find((a) => a.includes('/tcp/'))!;
  console.log(`  [${ms()}] node ${String(nodeEvent.peerId).slice(0, 16)}… listening on ${addr}`);
  const identified = await gateway.next('identified', 30_000);
  console.log(`  [${ms()}] ${String(identified.path)}: cell "${String(identified.cell)}" (${(identified.entries as string[]).join(', ')})`);
  await gateway.next('announced', 30_000);
  console.log(`  [${ms()}] "thermo" announced in the mesh`);

  // Any machine in the mesh: the CLI finds the cell by name (mDNS is off here: loopback only).
  const env = { CELL_MESH_BOOTSTRAP: addr, CELL_MESH_NO_MDNS: '1' };
  cell(['call', 'thermo', 'read', '{"channel": 1}'], env);
  cell(['status', '--mesh', '--no-mdns', '--bootstrap', addr, '--wait', '1500'], {});

  // A program: a typed client by name. tsc checks thermo.read's argument and result types.
  console.log('\n// a program on a third node: const thermo = await node.connect(ThermoDef)');
  node = await startMeshNode({ listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [addr], mdns: false, quic: false, dir: join(keyDir, 'caller') });
  const thermo = await node.connect(ThermoDef, { timeoutMs: 20_000 });
  const r = await thermo.read({ channel: 2 });
  console.log(`  thermo.read({ channel: 2 }) → channel ${r.channel}, ${r.celsius.toFixed(2)} °C, seq ${r.seq}`);
  const samples: string[] = [];
  for await (const s of thermo.samples({ count: 5 })) samples.push(s.celsius.toFixed(2));
  console.log(`  thermo.samples({ count: 5 }) → ${samples.join(', ')} °C (a server stream with credit, through the gateway)`);

  console.log('\n(the device is unplugged: socat and the simulator stop)');
  await device.unplug();
  await gateway.next('lost', 30_000);
  try {
    await thermo.read({ channel: 2 }, { deadlineMs: 3000 });
    throw new Error('a call to an unplugged device answered');
  } catch (e) {
    const err = e as { code?: number; name?: string; message?: string };
    if (err.code === undefined) throw e;
    console.log(`  thermo.read → typed error ${err.code} ${err.name}: ${err.message}`);
  }

  console.log('\n(plugged back in: the gateway probes it and announces it again)');
  await device.plug();
  await gateway.next('reannounced', 60_000);
  let again: { channel: number; celsius: number } | null = null;
  for (let i = 0; i < 50 && again === null; i++) {
    again = await thermo.read({ channel: 2 }, { deadlineMs: 2000 }).catch(() => null);
    if (again === null) await new Promise((res) => setTimeout(res, 100));
  }
  if (again === null) throw new Error('the device did not answer after the replug');
  console.log(`  [${ms()}] the same client: thermo.read({ channel: 2 }) → ${again.celsius.toFixed(2)} °C`);
  await thermo.close();
} catch (e) {
  failed = true;
  console.error(`\nmesh demo FAILED: ${(e as Error).stack ?? String(e)}`);
} finally {
  await node?.stop().catch(() => {});
  if (gateway !== null) {
    gateway.child.kill('SIGINT');
    await new Promise((res) => { if (gateway!.child.exitCode !== null) res(null); else gateway!.child.once('exit', res); });
  }
  await device?.stop().catch(() => {});
  rmSync(keyDir, { recursive: true, force: true });
}
console.log(failed ? '' : `\nmesh demo ok (${ms()})`);
process.exit(failed ? 1 : 0);
