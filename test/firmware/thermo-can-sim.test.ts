// The thermo cell on CAN (firmware/thermo-can: firmware/thermo/cell.ts on the CAN port,
// firmware/shared/rpc-can.ts): its wasm run in this process by hw-tests/lib/sim-can.ts as three
// nodes (10, 11, 12) of one in-process bus (test/can/bus-helpers.ts), called by a Node node (1)
// through CanBus/CanPeerLink and the typed client — classic frames, then CAN FD. Then the same on
// real kernel SocketCAN: a vcan in the CAN micro-VM (test/helpers/can-vm.ts), the devices on
// sockets of their own (hw-tests/lib/sim-can-vm-cases.ts), and the command-line simulator
// (hw-tests/lib/sim-can-device.mjs) as a process.
// Skips (with a printed reason) when asc is missing; the VM part when the VM or the addon is.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { makeWire } from '../can/bus-helpers.ts';
import { startCanSim, type CanSim } from '../../hw-tests/lib/sim-can.ts';
import { CanBus } from '../../src/transports/can/bus.ts';
import { CAN_FLAG_EXTENDED, CAN_FLAG_FD, type CanDriver } from '../../src/transports/can/driver.ts';
import { canId, canIdDst, canIdKind, canIdPort, canIdSrc } from '../../src/framing/can-header.ts';
import { canFrameCount } from '../../src/framing/can-transfer.ts';
import { CAN_TAIL_EOT, CAN_TAIL_SOT, CAN_TAIL_TOGGLE } from '../../src/wire/layouts.ts';
import { KIND_ERROR, KIND_REQUEST } from '../../src/wire/header.ts';
import { ERR_RPC_TIMEOUT, ERR_RPC_UNAVAILABLE, ERR_RPC_UNKNOWN_METHOD } from '../../src/wire/errors.ts';
import { callError, connect } from '../../src/rpc/index.ts';
import { ThermoDef, THERMO_FW_VERSION, cellFingerprint, simulatedCelsius } from '../../firmware/thermo/schema.ts';
import { canVmAvailable, canVmCaseTests } from '../helpers/can-vm.ts';
import { TapLink } from '../../hw-tests/lib/tap-link.ts';
import { canAddonStatus } from '../../src/transports/can/native.ts';
import { buildFirmwareWasm, reachable } from '../helpers/firmware-wasm.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: { memory: { buffer: ArrayBuffer } } };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;


/** The key check a compact `read` request carries: the low byte of its method key. */
const KEY_READ_LOW_BYTE = Number(ThermoDef.entries.find((e) => e.name === 'read')!.key & 0xffn);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

const wasm = buildFirmwareWasm('thermo-can');
if (typeof wasm !== 'string') {
  console.log(`\n  thermo on CAN (simulator): SKIPPED — ${wasm.skip.split('\n').join('\n    ')}\n`);
  const s = suite('thermo cell on CAN (sim)');
  s.skip('the thermo-can wasm on an in-process bus', () => {});
  s.run();
} else {
  const statics = suite('thermo-can firmware: static checks');
  statics('poll() never allocates: ~lib/rt/stub/__new is reachable from the start function only', () => {
    const wat = `${root}build/firmware/thermo-can/app.wat`;
    assert.ok(existsSync(wat), 'asc wrote the .wat');
    const text = readFileSync(wat, 'utf8');
    const fromPoll = reachable(text, '$firmware/thermo-can/app/poll');
    assert.ok(fromPoll.size > 10, 'the call graph was read');
    assert.ok([...fromPoll].some((f) => f.includes('CanReassembler#push')), 'the CAN port is in the image');
    assert.not.ok([...fromPoll].some((f) => f.startsWith('$~lib/rt/stub/')), [...fromPoll].filter((f) => f.includes('stub')).join());
    assert.ok(reachable(text, '$start:firmware/thermo-can/app').has('$~lib/rt/stub/__new'), 'the start function allocates');
  });
  statics('the start function\'s allocations fit the native wasm memory (firmware.json wasmMemoryBytes)', () => {
    const cfg = JSON.parse(readFileSync(`${root}firmware/thermo-can/firmware.json`, 'utf8')) as { wasmMemoryBytes: number };
    const inst = new Wasm.Instance(new Wasm.Module(readFileSync(wasm)), { env: new Proxy({}, { get: () => () => 0 }) });
    const mem = new Uint8Array(inst.exports.memory.buffer);
    let last = 0;
    for (let i = 0; i < mem.length; i++) if (mem[i] !== 0) last = i;
    const used = ((last + 16) | 15) + 1;
    console.log(`  thermo-can wasm: ${readFileSync(wasm).length} B; start function uses ~${used} of ${cfg.wasmMemoryBytes} B of memory`);
    assert.ok(used + 128 <= cfg.wasmMemoryBytes, `~${used} B allocated at start-up, wasmMemoryBytes ${cfg.wasmMemoryBytes}`);
  });
  statics.run();

  const module = new Wasm.Module(readFileSync(wasm));
  for (const fd of [false, true]) canSuite(fd);
  vmSuite(wasm);

  function canSuite(fd: boolean): void {
    const mode = fd ? 'FD' : 'classic';
    const t = suite(`thermo cell on CAN (sim, ${mode}): three devices and a Node caller`);
    const NODES = [10, 11, 12];
    let host: CanBus;
    let second: CanBus;
    let devs: CanSim[] = [];
    let raw: CanDriver;
    const rawFrames: Array<{ id: number; data: Uint8Array }> = [];
    const hellos: Array<{ node: number; answer: boolean }> = [];
    const peers: number[] = [];
    const dev = (n: number) => devs[NODES.indexOf(n)]!;

    t.before(async () => {
      const wire = await makeWire(fd);
      host = new CanBus(wire.attach('host'), { node: 1, fd, maxFrameBytes: 512 });
      host.onHello = (node, answer) => { hellos.push({ node, answer }); };
      host.onPeer = (node) => { peers.push(node); };
      host.start();
      second = new CanBus(wire.attach('second'), { node: 2, fd, maxFrameBytes: 512 });
      second.start();
      raw = wire.attach('raw-node-5');
      raw.start({ onFrame: (id, _f, data, off, len) => { if (canIdDst(id) === 5) rawFrames.push({ id, data: data.slice(off, off + len) }); }, onClose: () => {} });
      devs = NODES.map((node) => startCanSim({ wasm: module, node, driver: wire.attach(`dev${node}`) }));
    });
    t.after(() => {
      host.close();
      second.close();
      for (const d of devs) d.stop();
      raw.close();
    });

    t('every device broadcasts its HELLO at boot; the caller\'s bus sees each node (onHello, onPeer)', async () => {
      await until('three boot HELLOs', () => NODES.every((n) => hellos.some((h) => h.node === n && !h.answer)));
      assert.equal([...peers].sort(), NODES);
      for (const d of devs) assert.is(d.stats.panics, 0, d.log);
    });

    t('read, setLed, configure, info through the typed client; frames per call', async () => {
      const c = await connect(ThermoDef, host.peer(10), { heartbeatMs: 0, deadlineMs: 2000 });
      // connect took the boot HELLO; the answer to the client's own HELLO is still on its way.
      await until('the HELLO answer', () => hellos.some((h) => h.node === 10 && h.answer));
      await sleep(10);
      const out0 = host.stats.framesOut;
      const dev0 = dev(10).stats.framesOut;
      const r = await c.read({ channel: 1 });
      const reqFrames = host.stats.framesOut - out0;
      const resFrames = dev(10).stats.framesOut - dev0;
      assert.is(r.channel, 1);
      assert.is(r.celsius, simulatedCelsius(1, r.seq));
      assert.is(reqFrames, 1, 'a read request (1 payload byte) is one frame');
      // Cyphal/CAN for the same 9 payload bytes: 7 + 2 + its 2-byte CRC → 2 classic frames, 1 FD frame.
      const cyphal = fd ? 1 : 2;
      assert.ok(resFrames <= cyphal, `the Reading reply took ${resFrames} frames, Cyphal/CAN ${cyphal}`);
      assert.is(resFrames, canFrameCount(9, fd));
      console.log(`  ${mode}: read = ${reqFrames} request frame + ${resFrames} reply frame(s) (Cyphal/CAN: 1 + ${cyphal})`);
      const r2 = await c.read({ channel: 2 });
      assert.is(r2.seq, r.seq + 1);
      assert.equal(await c.setLed({ on: true }), { on: true });
      assert.equal(await c.setLed({ on: false }), { on: false });
      assert.equal(await c.configure({ intervalMs: 5, alarmAbove: 30.5 }), { ok: true });
      assert.equal(await c.configure({ intervalMs: 0, alarmAbove: 30.5 }), { ok: false });
      const i0 = host.stats.framesOut;
      const d0 = dev(10).stats.framesOut;
      assert.equal(await c.info({}), { name: 'thermo', fwVersion: THERMO_FW_VERSION, schema: cellFingerprint(ThermoDef) });
      console.log(`  ${mode}: info = ${host.stats.framesOut - i0} request + ${dev(10).stats.framesOut - d0} reply frames`);
      await c.close();
    });

    t('read of channel 9 fails with the declared sensorFault (1001) and its payload', async () => {
      const c = await connect(ThermoDef, host.peer(11), { heartbeatMs: 0, deadlineMs: 2000 });
      try {
        await c.read({ channel: 9 });
        assert.unreachable('read should fail');
      } catch (e) {
        const err = callError(ThermoDef.methods.read, e);
        assert.is(err.code, 1001);
        if (err.code === 1001) assert.equal(err.payload, { channel: 9, reason: 'noSuchChannel' });
      }
      await c.close();
    });

    t('the samples stream with credit, one device streaming while the others answer', async () => {
      const c12 = await connect(ThermoDef, host.peer(12), { heartbeatMs: 0, deadlineMs: 2000 });
      const c11 = await connect(ThermoDef, host.peer(11), { heartbeatMs: 0, deadlineMs: 2000 });
      assert.equal(await c12.configure({ intervalMs: 2, alarmAbove: 80 }), { ok: true });
      const items: Array<{ i: number; celsius: number }> = [];
      let reads = 0;
      let other: Awaited<ReturnType<typeof connect<typeof ThermoDef>>> | null = null;
      for await (const s of c12.samples({ count: 12 }, { credit: 3, deadlineMs: 5000 })) {
        items.push(s);
        if ((await c11.read({ channel: 0 })).channel === 0) reads++;
        // Mid-stream, a second caller (node 2) connects to the streaming device (its HELLO) and
        // calls it: the stream of node 1 goes on.
        if (s.i === 4) {
          other = await connect(ThermoDef, second.peer(12), { heartbeatMs: 0, deadlineMs: 2000 });
          assert.is((await other.read({ channel: 1 })).channel, 1);
        }
      }
      await other!.close();
      assert.equal(items.map((s) => s.i), [...Array(12).keys()]);
      for (const s of items) assert.is(s.celsius, simulatedCelsius(0, s.i));
      assert.is(reads, 12);
      assert.is(host.peer(12).callsInFlight, 0);
      await c12.close();
      await c11.close();
    });

    t('a compact request with a stale key check is answered UnknownMethod (hand-made frame)', async () => {
      rawFrames.length = 0;
      // REQUEST to node 10, port 0 (read), key check = the low key byte + 1, payload channel 1, transfer id 7.
      const data = Uint8Array.of((KEY_READ_LOW_BYTE + 1) & 0xff, 1, CAN_TAIL_SOT | CAN_TAIL_EOT | CAN_TAIL_TOGGLE | 7);
      raw.send(canId(4, KIND_REQUEST, 0, 10, 5), CAN_FLAG_EXTENDED | (fd ? CAN_FLAG_FD : 0), data, 0, data.length);
      await until('an answer to node 5', () => rawFrames.length > 0);
      await sleep(20);
      assert.is(rawFrames.length, 1, 'one frame');
      const f = rawFrames[0]!;
      assert.is(canIdKind(f.id), KIND_ERROR);
      assert.is(canIdSrc(f.id), 10);
      assert.is(canIdPort(f.id), 0, 'answered on the compact call\'s port');
      assert.is(f.data[f.data.length - 1]! & 0x1f, 7, 'and transfer id');
      assert.is(f.data[0]! | (f.data[1]! << 8), ERR_RPC_UNKNOWN_METHOD);
      // The same frame with the right key check is served: a RESPONSE.
      rawFrames.length = 0;
      data[0] = KEY_READ_LOW_BYTE;
      data[2] = CAN_TAIL_SOT | CAN_TAIL_EOT | CAN_TAIL_TOGGLE | 8;
      raw.send(canId(4, KIND_REQUEST, 0, 10, 5), CAN_FLAG_EXTENDED | (fd ? CAN_FLAG_FD : 0), data, 0, data.length);
      await until('a RESPONSE to node 5', () => rawFrames.some((x) => (x.data[x.data.length - 1]! & CAN_TAIL_EOT) !== 0));
      assert.is(canIdKind(rawFrames[0]!.id), 3);
    });

    t('the ops counters over CAN (channel 2, explicit): transfers, and reassembly faults counted', async () => {
      const tap = new TapLink(host.peer(12), 2000);
      const c = await connect(ThermoDef, tap, { heartbeatMs: 0, deadlineMs: 2000 });
      try {
        const before = await tap.counters();
        assert.ok(before.framesOk > 0 && before.requests > 0 && before.txFrames > 0, JSON.stringify(before));
        const flags = CAN_FLAG_EXTENDED | (fd ? CAN_FLAG_FD : 0);
        const id = canId(4, KIND_REQUEST, 0, 12, 5);
        // A two-frame transfer whose CRC is wrong; then a frame with no start (an orphan).
        const a = Uint8Array.of(KEY_READ_LOW_BYTE, 1, 2, 3, 4, 5, 6, CAN_TAIL_SOT | CAN_TAIL_TOGGLE | 9);
        const b = Uint8Array.of(7, 0xde, 0xad, CAN_TAIL_EOT | 9);
        raw.send(id, flags, a, 0, a.length);
        raw.send(id, flags, b, 0, b.length);
        const orphan = Uint8Array.of(1, 2, CAN_TAIL_EOT | 10);
        raw.send(id, flags, orphan, 0, orphan.length);
        await sleep(20);
        const after = await tap.counters();
        assert.is(after.errCrc - before.errCrc, 1, 'the bad CRC');
        assert.is(after.errCobs - before.errCobs, 1, 'the orphan (sequence faults)');
        assert.ok(after.rxBytes > before.rxBytes);
        assert.is(after.rxPeak, 0, 'no frame refused by can_write');
        console.log(`  ${mode}: device 12 ops ${JSON.stringify({ framesOk: after.framesOk, errCrc: after.errCrc, errCobs: after.errCobs, rxBytes: after.rxBytes, txFrames: after.txFrames, ignored: after.ignored })}`);
      } finally {
        await c.close();
      }
    });

    t('a device reset mid-call: the call fails (Timeout), the next call works after the new HELLO', async () => {
      const c = await connect(ThermoDef, host.peer(10), { heartbeatMs: 0, deadlineMs: 2000 });
      await c.read({ channel: 0 });
      const boots = dev(10).stats.boots;
      const hellosBefore = hellos.filter((h) => h.node === 10 && !h.answer).length;
      const resetting = dev(10).reset({ offMs: 400 });
      await sleep(5);
      try {
        await c.read({ channel: 0 }, { deadlineMs: 200 });
        assert.unreachable('the device was in reset');
      } catch (e) {
        assert.is((e as { code?: number }).code, ERR_RPC_TIMEOUT);
      }
      await resetting;
      await until('the HELLO of the new boot', () => hellos.filter((h) => h.node === 10 && !h.answer).length > hellosBefore);
      assert.is(dev(10).stats.boots, boots + 1);
      const r = await c.read({ channel: 3 });
      assert.is(r.seq, 1, 'a fresh device: its read counter starts again');
      assert.is(r.celsius, simulatedCelsius(3, 1));
      await c.close();
    });

    t('a device reset under a heartbeat: the call fails Unavailable, a new connection works after the HELLO', async () => {
      const c = await connect(ThermoDef, host.peer(11), { heartbeatMs: 50, deadlineMs: 2000 });
      await c.read({ channel: 0 });
      const hellosBefore = hellos.filter((h) => h.node === 11 && !h.answer).length;
      const resetting = dev(11).reset({ offMs: 400 });
      try {
        await c.read({ channel: 0 }, { deadlineMs: 1000 });
        assert.unreachable('the device was in reset');
      } catch (e) {
        const code = (e as { code?: number }).code;
        assert.ok(code === ERR_RPC_UNAVAILABLE || code === ERR_RPC_TIMEOUT, `code ${code}`);
      }
      await resetting;
      await until('the HELLO of the new boot', () => hellos.filter((h) => h.node === 11 && !h.answer).length > hellosBefore);
      await c.close();
      const c2 = await connect(ThermoDef, host.peer(11), { heartbeatMs: 50, deadlineMs: 2000 });
      assert.is((await c2.read({ channel: 1 })).seq, 1);
      await c2.close();
    });

    t('no device panicked', () => {
      for (const d of devs) assert.is(d.stats.panics, 0, d.log);
    });

    t.run();
  }
}

/** The thermo-can wasm on a real kernel vcan (classic vcan0, FD vcan1) in the CAN micro-VM: one boot for all cases. */
function vmSuite(wasmPath: string): void {
  const CASES: [string, string][] = [
    ['classic', 'three simulated devices and a caller on vcan0 (one socket each): read, info, sensorFault, samples, a reset'],
    ['fd', 'the same on an FD vcan'],
    ['cli', 'the command-line simulator (sim-can-device.mjs --can vcan0 --node 13): boot HELLO, read, "reset"'],
  ];
  const vm = canVmAvailable();
  const addon = canAddonStatus();
  const why = !vm.ok ? vm.reason : !addon.available ? addon.reason : '';
  const v = suite('thermo cell on CAN: real kernel SocketCAN (micro-VM)');
  canVmCaseTests(v, {
    label: 'thermo on CAN in the VM',
    cases: CASES,
    skipReason: why,
    run: {
      interfaces: [{ name: 'vcan0' }, { name: 'vcan1', fd: true }],
      commands: [{
        script: fileURLToPath(new URL('../../hw-tests/lib/sim-can-vm-cases.ts', import.meta.url)),
        argv: [wasmPath, fileURLToPath(new URL('../../hw-tests/lib/sim-can-device.mjs', import.meta.url))],
      }],
      timeoutMs: 180_000,
    },
  });
  v.run();
}
