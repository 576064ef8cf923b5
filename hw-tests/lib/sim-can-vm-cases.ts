// Runs inside the CAN micro-VM (test/helpers/can-vm.ts) for test/firmware/thermo-can-sim.test.ts:
// the thermo-can firmware as three simulated nodes (10, 11, 12: hw-tests/lib/sim-can.ts, one
// SocketCAN socket each) on a real kernel vcan, called by a Node node (1) through CanBus on a
// socket of its own; then the command-line simulator (hw-tests/lib/sim-can-device.mjs, node 13)
// as a process. Classic on vcan0, FD on vcan1. Each case prints one line `CASE <json>`.
//   node <bundle> <thermo-can.wasm> <sim-can-device.mjs> [case,case...]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startCanSim, type CanSim } from './sim-can.ts';
import { openSocketCan } from '../../src/transports/can/socketcan.ts';
import { CanBus } from '../../src/transports/can/bus.ts';
import { callError, connect } from '../../src/rpc/index.ts';
import { ThermoDef, simulatedCelsius } from '../../firmware/thermo/schema.ts';

interface WasmApi { Module: new (bytes: Uint8Array) => object }
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
const [wasmPath, cliPath, only] = process.argv.slice(2) as [string, string, string | undefined];
const module = new Wasm.Module(readFileSync(wasmPath));

function check(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

async function busCase(ifname: string, fd: boolean): Promise<Record<string, unknown>> {
  const host = new CanBus(openSocketCan(ifname, { fd }), { node: 1, fd, maxFrameBytes: 512 });
  const hellos: Array<{ node: number; answer: boolean }> = [];
  host.onHello = (node, answer) => { hellos.push({ node, answer }); };
  host.start();
  const devs: CanSim[] = [10, 11, 12].map((node) => startCanSim({ wasm: module, node, driver: openSocketCan(ifname, { fd }) }));
  const figures: Record<string, unknown> = {};
  try {
    await until(() => [10, 11, 12].every((n) => hellos.some((h) => h.node === n && !h.answer)), 5000, 'three boot HELLOs');
    for (const node of [10, 11, 12]) {
      const c = await connect(ThermoDef, host.peer(node), { heartbeatMs: 0, deadlineMs: 3000 });
      await until(() => hellos.some((h) => h.node === node && h.answer), 3000, 'the HELLO answer');
      await sleep(20);
      const out0 = host.stats.framesOut;
      const in0 = host.stats.framesIn;
      const r = await c.read({ channel: 2 });
      check(r.channel === 2 && r.celsius === simulatedCelsius(2, r.seq), `read → ${JSON.stringify(r)}`);
      figures.readFrames = `${host.stats.framesOut - out0} + ${host.stats.framesIn - in0}`;
      const info = await c.info({});
      check(info.name === 'thermo', `info → ${info.name}`);
      try {
        await c.read({ channel: 9 });
        throw new Error('read(9) answered');
      } catch (e) {
        const err = callError(ThermoDef.methods.read, e);
        check(err.code === 1001, `read(9) → ${err.code}`);
      }
      const items: number[] = [];
      for await (const s of c.samples({ count: 6 }, { credit: 2, deadlineMs: 5000 })) items.push(s.i);
      check(items.join() === '0,1,2,3,4,5', `samples → ${items.join()}`);
      await c.close();
    }
    // The reset button, held for 300 ms: a call meanwhile times out; after the new HELLO the next works.
    const c = await connect(ThermoDef, host.peer(11), { heartbeatMs: 0, deadlineMs: 3000 });
    const before = hellos.filter((h) => h.node === 11 && !h.answer).length;
    const resetting = devs[1]!.reset({ offMs: 300 });
    let code = 0;
    try { await c.read({ channel: 0 }, { deadlineMs: 150 }); } catch (e) { code = (e as { code: number }).code; }
    check(code === 400, `a call to the device in reset → ${code}`);
    await resetting;
    await until(() => hellos.filter((h) => h.node === 11 && !h.answer).length > before, 3000, 'the HELLO after the reset');
    check((await c.read({ channel: 1 })).seq === 1, 'a fresh device after the reset');
    await c.close();
    for (const d of devs) check(d.stats.panics === 0, d.log);
    figures.deviceFramesOut = devs.map((d) => d.stats.framesOut);
    figures.rxLost = devs.map((d) => d.stats.rxLost);
    return figures;
  } finally {
    host.close();
    for (const d of devs) d.stop();
  }
}

async function cliCase(ifname: string, fd: boolean): Promise<Record<string, unknown>> {
  const host = new CanBus(openSocketCan(ifname, { fd }), { node: 1, fd, maxFrameBytes: 512 });
  const hellos: number[] = [];
  host.onHello = (node, answer) => { if (!answer) hellos.push(node); };
  host.start();
  const t0 = Date.now();
  const child = spawn(process.execPath, [cliPath, '--wasm', wasmPath, '--can', ifname, '--node', '13', ...(fd ? ['--fd'] : [])], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  try {
    await until(() => out.includes('ready node 13') || child.exitCode !== null, 60_000, `the CLI's "ready" (stderr: ${err})`);
    check(out.includes('ready node 13'), `the CLI exited ${child.exitCode}: ${err}`);
    const readyMs = Date.now() - t0;
    await until(() => hellos.includes(13), 5000, 'the CLI device\'s boot HELLO');
    const c = await connect(ThermoDef, host.peer(13), { heartbeatMs: 0, deadlineMs: 3000 });
    const r = await c.read({ channel: 3 });
    check(r.channel === 3 && r.seq === 1, `read → ${JSON.stringify(r)}`);
    child.stdin.write('reset\n');
    await until(() => out.includes('reset done'), 5000, 'reset done');
    await until(() => hellos.filter((n) => n === 13).length >= 2, 5000, 'the HELLO after "reset"');
    check((await c.read({ channel: 3 })).seq === 1, 'a fresh device after "reset"');
    await c.close();
    return { readyMs };
  } finally {
    child.kill('SIGTERM');
    host.close();
  }
}

const CASES: Array<[string, () => Promise<Record<string, unknown>>]> = [
  ['classic', () => busCase('vcan0', false)],
  ['fd', () => busCase('vcan1', true)],
  ['cli', () => cliCase('vcan0', false)],
];
for (const [name, fn] of CASES) {
  if (only !== undefined && !only.split(',').includes(name)) continue;
  console.error(`case ${name}: start`);
  const t0 = Date.now();
  try {
    const figures = await fn();
    console.log(`CASE ${JSON.stringify({ name, ok: true, ms: Date.now() - t0, ...figures })}`);
  } catch (e) {
    console.log(`CASE ${JSON.stringify({ name, ok: false, error: (e as Error).stack ?? String(e), ms: Date.now() - t0 })}`);
  }
}
process.exit(0);
