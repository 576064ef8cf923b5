// The README's CAN demo: three thermo sensor devices on one CAN bus — the thermo-can firmware
// itself (firmware/thermo-can, built to wasm and run by the simulator, hw-tests/lib/sim-can.ts),
// node ids 10, 11 and 12 — and a host at node 1 that finds them by their boot HELLOs and calls
// them with the typed client. The bus is the in-process memory bus paced at 500 kbit/s (a real
// bus: `ip link` + SocketCAN or an slcan adapter, docs/can.md). Shows the frames of one call on
// the wire, a stream, a typed error, and a device reset mid-use.
// Nothing to start by hand. Run: node --import tsx examples/can-demo.ts
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CanBus, CanDevices, MemoryCanBus, connectCan, type CanDriver } from '../src/can/index.ts';
import { callError } from '../src/rpc/index.ts';
import { canIdDst, canIdKind, canIdPort, canIdSrc } from '../src/framing/can-header.ts';
import { ThermoDef } from '../firmware/thermo/schema.ts';
import { startCanSim, type CanSim } from '../hw-tests/lib/sim-can.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const build = spawnSync(process.execPath, ['scripts/build-firmware.mjs', 'thermo-can', '--wasm-only', '--json'], { cwd: root, encoding: 'utf8' });
if (build.status !== 0) {
  console.error(`can demo: the firmware did not build:\n${build.stderr}\nfix: bash scripts/setup.sh (npm ci installs AssemblyScript)`);
  process.exit(1);
}
const wasm = `${root}${(JSON.parse(build.stdout) as { wasm: string }[])[0]!.wasm}`;

console.log('Cell CAN demo: three thermo devices (the thermo-can firmware, simulated) on a 500 kbit/s bus');
const wire = new MemoryCanBus({ bitrate: 500_000 });
const sims: CanSim[] = [10, 11, 12].map((node) => startCanSim({ wasm, node, driver: wire.attach(`dev${node}`) }));

// A tap on the bus: every frame, for the one call printed below.
const tap: CanDriver = wire.attach('tap');
let tapping = false;
const KINDS = ['', 'HELLO', 'REQUEST', 'RESPONSE', 'ERROR', 'EVENT', 'ITEM', 'END', 'CANCEL', 'PING', 'PONG', 'CREDIT', 'GOODBYE'];
tap.start({
  onFrame(id, _flags, data, off, len) {
    if (!tapping) return;
    const hex = Array.from(data.subarray(off, off + len), (b) => b.toString(16).padStart(2, '0')).join(' ');
    console.log(`  ${id.toString(16).padStart(8, '0')}  ${KINDS[canIdKind(id)]!.padEnd(8)} port ${canIdPort(id)}  ${canIdSrc(id)} → ${canIdDst(id)}  [${hex}]`);
  },
  onClose() {},
});

const bus = new CanBus(wire.attach('host'), { node: 1 });
const devices = new CanDevices(bus, { nodes: [10, 11, 12] });
let failed = false;
try {
  for (const node of [10, 11, 12]) {
    const id = await devices.device(node).whenIdentified(5000);
    console.log(`found node ${node}: cell "${id.name}", ${id.hello.entries.length} entries, max frame ${id.hello.maxFrameBytes} B`);
  }
  const thermo = await connectCan(ThermoDef, devices, { node: 10, heartbeatMs: 500 });
  const others = await Promise.all([11, 12].map((node) => connectCan(ThermoDef, devices, { node, heartbeatMs: 500 })));

  console.log('\n# read({channel: 1}) on node 10: the request is one classic frame, the answer two');
  tapping = true;
  const r = await thermo.read({ channel: 1 });
  await new Promise((res) => setTimeout(res, 5));
  tapping = false;
  console.log(`→ ${JSON.stringify(r)}`);

  for (const [i, c] of others.entries()) console.log(`node ${11 + i}: ${JSON.stringify(await c.read({ channel: 2 }))}`);

  console.log('\n# a stream: samples({count: 5}) from node 11');
  for await (const s of others[0]!.samples({ count: 5 })) console.log(`  sample ${s.i}: ${s.celsius} °C`);

  console.log('\n# a typed error: read({channel: 9}) — the device has 4 channels');
  try {
    await thermo.read({ channel: 9 });
  } catch (err) {
    const e = callError(ThermoDef.methods.read, err);
    console.log(`→ ${e.name} ${e.code}: ${e.code === 1001 ? JSON.stringify(e.payload) : e.message}`);
  }

  console.log('\n# node 10 is reset (its boot HELLO tells the host): the session starts again, calls go on');
  await sims[0]!.reset({ offMs: 50 });
  await new Promise((res) => setTimeout(res, 300));
  console.log(`→ after the reset: ${JSON.stringify(await thermo.read({ channel: 3 }))}`);

  console.log(`\nbus: ${wire.stats.frames} frames, ${(wire.stats.bits / 1000).toFixed(1)} kbit on the wire; host: ${bus.stats.transfersIn} transfers in, ${bus.stats.errTransfer} refused`);
  await thermo.close();
  for (const c of others) await c.close();
  console.log('\ncan demo ok');
} catch (err) {
  failed = true;
  console.error('can demo failed:', err);
} finally {
  devices.close();
  bus.close();
  for (const s of sims) s.stop();
  tap.close();
}
process.exit(failed ? 1 : 0);
