// The secured thermo cell (firmware/thermo-secure) in the simulator: its wasm in Node
// (hw-tests/lib/sim.ts) with a provisioning record file and a boot-counter flash file, on a socat
// pty pair; the host speaks through SecureLink (role 'host', src/transports/secure-link.ts).
//  - the typed client (connect(ThermoDef)) calls read and info through sealed frames;
//  - a plaintext request gets no answer but a REQUEST, and is counted;
//  - 200 resets (190 reset-button presses, 10 power cycles = new processes on the same files): each
//    session's (boot counter, session number) is logged, and none repeats;
//  - without a record the same image is a plain thermo device.
// docs/firmware.md §"Link security on the device". Skips (with a printed reason) when socat, asc
// or serialport are missing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SerialPort as SerialPortType } from 'serialport';
import { connect } from '../../src/rpc/index.ts';
import { StreamLink } from '../../src/transports/stream.ts';
import { ThermoDef, cellFingerprint, simulatedCelsius, THERMO_MAX_FRAME_BYTES } from '../../firmware/thermo/schema.ts';
import { closePort, loadSerialPort, openPort, simUnavailable } from '../../hw-tests/lib/targets.ts';
import { startPtyPair, type PtyPair } from '../../hw-tests/lib/pty.ts';
import { startSim, type Sim } from '../../hw-tests/lib/sim.ts';
import { SecureHost, plaintextProbe, plaintextBootProbe, isRequest, provisioningRecord, DEVICE_ID_HEX } from './secure-host.ts';
import { buildFirmwareWasm, reachable } from '../helpers/firmware-wasm.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
// The WebAssembly global, typed here: tsconfig's lib (ES2022, no DOM) does not declare it.
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: { memory: { buffer: ArrayBuffer } } };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
const RESETS = 200;
const POWER_CYCLE_EVERY = 20;


const missing = simUnavailable();
const wasm = missing ? { skip: missing } : buildFirmwareWasm('thermo-secure');
const SerialPort = typeof wasm === 'string' ? await loadSerialPort() : wasm.skip;

if (typeof wasm !== 'string' || typeof SerialPort === 'string') {
  const why = typeof wasm !== 'string' ? wasm.skip : (SerialPort as string);
  console.log(`\n  thermo-secure simulator: SKIPPED — ${why.split('\n').join('\n    ')}\n`);
  const s = suite('thermo-secure on sim');
  s.skip('sealed calls, plaintext refused, 200 resets without a repeated boot counter', () => {});
  s.run();
} else {
  const t = suite('thermo-secure on sim: sealed frames, boot counter');
  const dir = mkdtempSync(join(tmpdir(), 'cell-sec-sim-'));
  const recordFile = join(dir, 'record.bin');
  const flashFile = join(dir, 'counter.bin');
  let pty: PtyPair | null = null;
  let sim: Sim | null = null;
  let port: SerialPortType | null = null;
  const SP = SerialPort; // narrowed here, for the helpers below

  t.before(async () => {
    writeFileSync(recordFile, provisioningRecord());
    pty = await startPtyPair();
    sim = await startSim({ ptyPath: pty.pathA, wasm, secRecord: recordFile, secFlash: flashFile });
  });
  t.after(async () => {
    await closePort(port);
    await sim?.kill();
    await pty?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const diag = (): string => (sim ? `\nsimulator log:\n${sim.log}` : '');

  t('poll() never allocates: ~lib/rt/stub/__new is reachable from the start function only', () => {
    const wat = `${root}build/firmware/thermo-secure/app.wat`;
    if (!existsSync(wat)) return;
    const text = readFileSync(wat, 'utf8');
    const fromPoll = reachable(text, '$firmware/thermo-secure/app/poll');
    assert.ok(fromPoll.size > 10, 'the call graph was read');
    assert.ok([...fromPoll].some((f) => f.includes('SecureSession#unseal')) || text.includes('unseal'), 'the secure path is in the image');
    assert.not.ok([...fromPoll].some((f) => f.startsWith('$~lib/rt/stub/')), [...fromPoll].filter((f) => f.includes('stub')).join());
  });

  t('the start function\'s allocations fit the native wasm memory (firmware.json wasmMemoryBytes)', () => {
    // The simulator gives the module a whole 64 KiB page; the boards give it wasmMemoryBytes, and
    // an app that allocates more boot-loops with "!panic trap oob". Estimate what the start
    // function allocated: the last nonzero byte after instantiation (the last object, the view of
    // `out`'s buffer, ends with its nonzero byteLength), plus the allocator's 16-byte alignment.
    const cfg = JSON.parse(readFileSync(`${root}firmware/thermo-secure/firmware.json`, 'utf8')) as { wasmMemoryBytes: number };
    const env = new Proxy({}, { get: (_t, k) => (k === 'sec_flash_page_bytes' ? () => 1024 : () => 0) });
    const inst = new Wasm.Instance(new Wasm.Module(readFileSync(wasm)), { env });
    const mem = new Uint8Array(inst.exports.memory.buffer);
    let last = 0;
    for (let i = 0; i < mem.length; i++) if (mem[i] !== 0) last = i;
    const used = ((last + 16) | 15) + 1;
    console.log(`  wasm memory: start function uses ~${used} of ${cfg.wasmMemoryBytes} B`);
    assert.ok(used + 128 <= cfg.wasmMemoryBytes, `~${used} B allocated at start-up, wasmMemoryBytes ${cfg.wasmMemoryBytes}`);
  });

  t('the typed client calls read and info through sealed frames', async () => {
    port = await openPort(SerialPort, pty!.pathB);
    const host = new SecureHost(port);
    const client = await connect(ThermoDef, host.tap, { deadlineMs: 5000 });
    try {
      const r1 = await client.read({ channel: 1 });
      const r2 = await client.read({ channel: 2 });
      assert.is(r2.seq, r1.seq + 1);
      assert.is(r1.celsius, simulatedCelsius(1, r1.seq));
      const info = await client.info({});
      assert.is(info.name, 'thermo');
      assert.is(info.schema, cellFingerprint(ThermoDef));
      const s = host.opened[0]!;
      assert.ok(s !== undefined, 'a session opened');
      assert.is(host.secure.deviceId, DEVICE_ID_HEX);
      const c = await host.counters();
      assert.is(c.bootCounter, s.bootCounter, 'the ops counters report this boot\'s counter');
      assert.ok(c.sessions >= 1);
      assert.is(c.badTags, 0);
      assert.is(c.replays, 0);
      // Everything the device sent after ACCEPT was sealed: the host refused no plaintext.
      assert.is(host.secure.counters.plaintextRefused, 0);
      assert.is(host.secure.counters.badTags, 0);
      console.log(`  sealed session: boot counter ${s.bootCounter}, session ${s.session}; read ${JSON.stringify(r1)}`);
    } catch (e) {
      throw new Error(`${(e as Error).message}${diag()}`);
    } finally {
      const p = port;
      await client.close();
      await closePort(p);
      port = null;
    }
  });

  /**
   * Send plaintext frames with `probe` (after the REQUEST rate limit, 200 ms), then open a sealed
   * session on a fresh port: what the device answered, the session, and its ops counters then.
   */
  async function probeThenSeal(probe: typeof plaintextProbe) {
    port = await openPort(SP, pty!.pathB);
    await new Promise((r) => setTimeout(r, 250));
    const p1 = port;
    const seen = await probe(p1);
    await closePort(p1);
    const p2 = await openPort(SP, pty!.pathB);
    port = p2;
    const host = new SecureHost(p2);
    host.start();
    try {
      const session = await host.waitOpened(0);
      return { seen, session, counters: await host.counters() };
    } finally {
      host.close();
      await closePort(p2);
      port = null;
    }
  }

  t('a plaintext request gets no answer but a REQUEST, and is counted', async () => {
    const { seen, counters: c } = await probeThenSeal(plaintextProbe);
    assert.ok(seen.length >= 1, 'the device answered with a REQUEST');
    assert.ok(seen.every(isRequest), `only REQUESTs: ${JSON.stringify(seen)}`);
    assert.ok(c.plaintextRefused >= 1, `plaintextRefused ${c.plaintextRefused}`);
    assert.is(c.requests, 3, 'only the sealed calls of the first test (read, read, info) reached the app (same boot)');
  });

  t('plaintext ENTER_BOOT and RESET from the wire are ignored: REQUESTs only, the app keeps running', async () => {
    const { seen, session: s, counters: c } = await probeThenSeal(plaintextBootProbe);
    assert.ok(seen.every(isRequest), `only REQUESTs: ${JSON.stringify(seen)}`);
    // Same boot (no reset happened), and the boot channel never saw the frames.
    assert.is(c.bootCounter, s.bootCounter);
    assert.ok(c.plaintextRefused >= 2, `plaintextRefused ${c.plaintextRefused}`);
    assert.ok(c.uptimeMs > 500, `uptime ${c.uptimeMs} ms: the device did not restart`);
  });

  t(`${RESETS} resets (reset button and power cycles): every session's (boot counter, session) is new`, async () => {
    port = await openPort(SerialPort, pty!.pathB);
    const host = new SecureHost(port);
    host.start();
    const log: string[] = [];
    const seen = new Set<string>();
    const t0 = Date.now();
    try {
      let prev = await host.waitOpened(0);
      let opened = host.opened.length;
      for (let i = 1; i <= RESETS; i++) {
        if (i % POWER_CYCLE_EVERY === 0) await sim!.restart();
        else await sim!.reset();
        const s = await host.waitOpened(opened - 1 + 1).catch((e: Error) => { throw new Error(`reset ${i}: ${e.message}${diag()}`); });
        opened = host.opened.length;
        assert.ok(s.bootCounter > prev.bootCounter, `reset ${i}: boot counter ${s.bootCounter} after ${prev.bootCounter}`);
        if (i % 50 === 0) {
          const r = await host.read(3);
          assert.is(r.seq, 1, 'a fresh device: the first read since its reset');
          const c = await host.counters();
          assert.is(c.bootCounter, s.bootCounter);
        }
        prev = s;
      }
      for (const s of host.opened) {
        const k = `${s.bootCounter}:${s.session}`;
        assert.not.ok(seen.has(k), `(boot counter, session) ${k} repeated`);
        seen.add(k);
        log.push(k);
      }
      assert.ok(host.opened.length >= RESETS + 1);
      console.log(`  ${RESETS} resets in ${Date.now() - t0} ms, ${host.opened.length} sessions (boot counter:session): ${log.join(' ')}`);
    } finally {
      const p = port;
      host.close();
      await closePort(p);
      port = null;
    }
  });

  t('without a record the same image is a plain thermo device (plaintext HELLO, calls answered)', async () => {
    await sim!.kill();
    sim = await startSim({ ptyPath: pty!.pathA, wasm, secFlash: flashFile });
    port = await openPort(SerialPort, pty!.pathB);
    const client = await connect(ThermoDef, new StreamLink(port, { mtu: THERMO_MAX_FRAME_BYTES }), { deadlineMs: 5000 });
    try {
      const r = await client.read({ channel: 0 });
      assert.is(r.seq, 1);
    } finally {
      const p = port;
      await client.close();
      await closePort(p);
      port = null;
    }
  });

  t.run();
}
