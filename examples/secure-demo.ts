// The README's secure demo: a device whose UART speaks only sealed frames (docs/security.md).
// A fleet key and the device's provisioning record are made with `cell keys`; the thermo-secure
// firmware runs simulated on a pty with that record "flashed" into its key page; `cell call`
// without the key is refused by the device, with it the call works; then `cell gateway --key`
// announces the device in a libp2p mesh on loopback and a second process calls it by name, and
// the device is reset: a new session (a new boot counter from its flash) and calls go on.
// Nothing to start by hand; needs socat and the optional libp2p + serialport packages
// (scripts/setup.sh installs both). Run: node --import tsx examples/secure-demo.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cell, startGateway } from './lib/demo-procs.ts';
import { deviceSimUnavailable, startDeviceSim, type DeviceSim } from '../hw-tests/mesh/device-sim.ts';

const t0 = performance.now();
const ms = (): string => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
const SCHEMA = 'firmware/thermo/gen/schema.json';

const why = await deviceSimUnavailable();
if (why !== null) {
  console.error(`secure demo: cannot run here — ${why}\nfix: bash scripts/setup.sh (installs socat and the optional packages)`);
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'cell-secure-demo-'));
const fleet = join(dir, 'fleet.key');
const record = join(dir, 'thermo-0042.rec');
let device: DeviceSim | null = null;
let gateway: ReturnType<typeof startGateway> | null = null;
let failed = false;
try {
  console.log('Cell secure demo: a sensor device whose serial line carries only sealed frames');
  cell(['keys', 'fleet', '--out', fleet], {});
  cell(['keys', 'device', '--fleet', fleet, '--id', '7e57000000000042', '--record', record], {});

  device = await startDeviceSim(undefined, { record, flash: join(dir, 'thermo-0042.flash') });
  console.log(`\n(the thermo-secure firmware, simulated, with ${record} in its key page, listens on a pty: ${device.hostPath})`);

  console.log('\n# without the key: the device answers nothing in plaintext but "open a session"');
  cell(['call', '--port', device.hostPath, '--schema', SCHEMA, 'read', '{"channel": 1}'], {}, 1);
  console.log('\n# with the fleet key: ChaCha20-Poly1305 on every frame, 12 bytes each');
  cell(['call', '--port', device.hostPath, '--key', fleet, '--schema', SCHEMA, 'read', '{"channel": 1}'], {});

  gateway = startGateway(device.hostPath, join(dir, 'gateway'), ['--key', fleet]);
  const nodeEvent = await gateway.next('node', 60_000);
  const addr = (nodeEvent.addrs as string[]).find((a) => a.includes('/tcp/'))!;
  const opened = await gateway.next('secure', 30_000);
  console.log(`  [${ms()}] ${String(opened.message)}`);
  await gateway.next('announced', 30_000);
  console.log(`  [${ms()}] "thermo" announced in the mesh`);
  const env = { CELL_MESH_BOOTSTRAP: addr, CELL_MESH_NO_MDNS: '1' };
  cell(['call', 'thermo', 'read', '{"channel": 2}'], env);

  console.log('\n(the device is reset: it asks for a new session; its boot counter, kept in flash, has grown)');
  await device.sim.reset();
  for (;;) {
    const e = await gateway.next('secure', 30_000);
    console.log(`  [${ms()}] ${String(e.message)}`);
    if (e.what === 'open') break;
  }
  cell(['call', 'thermo', 'read', '{"channel": 3}'], env);
} catch (e) {
  failed = true;
  console.error(`\nsecure demo FAILED: ${(e as Error).stack ?? String(e)}`);
} finally {
  if (gateway !== null) {
    gateway.child.kill('SIGINT');
    await new Promise((res) => { if (gateway!.child.exitCode !== null) res(null); else gateway!.child.once('exit', res); });
  }
  await device?.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
console.log(failed ? '' : `\nsecure demo ok (${ms()})`);
process.exit(failed ? 1 : 0);
