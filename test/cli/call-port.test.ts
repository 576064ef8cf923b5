// `cell call --port /dev/ttyX <method> [json]` against the thermo device (docs/cli.md "cell call"):
// the simulator (its wasm in Node) on a socat pty, and the native image under qemu (mps2-an385).
// The device does not serve describe (16 KB flash budget), so the schema comes from --schema
// (firmware/thermo/gen/schema.json, written by the firmware build), checked against the device's
// HELLO keys. Skips with a reason when socat, qemu, the firmware toolchain or serialport are missing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPtyPair, ptyUnavailable, type PtyPair } from '../../hw-tests/lib/pty.ts';
import { startSim, type Sim } from '../../hw-tests/lib/sim.ts';
import { startQemu, qemuUnavailable, type Qemu } from '../../hw-tests/lib/qemu.ts';
import { buildFirmwareApp } from '../../hw-tests/lib/targets.ts';
import { ThermoDef } from '../../firmware/thermo/schema.ts';
import { describeCell } from '../../src/codec/schema-json.ts';
import type { CellDef } from '../../src/rpc/index.ts';
import { cliIn, cleanup, tempDir, ROOT } from './helpers.ts';

const test = suite('cell call --port (thermo device)');
const SCHEMA = join(ROOT, 'firmware', 'thermo', 'gen', 'schema.json');

const noPty = ptyUnavailable() ?? (await import('serialport').then(() => null, (e: Error) => `serialport not installed: ${e.message}`));
const built = noPty === null ? buildFirmwareApp('thermo') : { skip: noPty };

if ('skip' in built) {
  test.skip(`cell call --port (${built.skip})`, () => {});
} else {
  let pty: PtyPair | null = null;
  let sim: Sim | null = null;
  let qemu: Qemu | null = null;
  test.before(async () => {
    pty = await startPtyPair();
    sim = await startSim({ ptyPath: pty.pathA, wasm: built.wasm });
  });
  test.after(async () => {
    await sim?.kill();
    await pty?.close();
    await qemu?.kill();
    cleanup();
  });

  const port = (): string => pty!.pathB;

  test('calls a method and prints its answer as JSON', async () => {
    const r = await cliIn(['call', '--port', port(), '--schema', SCHEMA, 'read', '{"channel": 1}']);
    assert.is(r.code, 0, r.stderr);
    const v = JSON.parse(r.stdout) as { channel: number; celsius: number; seq: number };
    assert.is(v.channel, 1);
    assert.type(v.celsius, 'number');
    assert.ok(v.seq >= 1);
  });

  test('--json: one compact line; --baud accepted', async () => {
    const r = await cliIn(['call', '--port', port(), '--baud', '115200', '--schema', SCHEMA, '--json', 'setLed', '{"on": true}']);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, '{"on":true}\n');
  });

  test('a stream prints one line per item (--count)', async () => {
    const r = await cliIn(['call', '--port', port(), '--schema', SCHEMA, 'samples', '{"count": 3}']);
    assert.is(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { i: number });
    assert.equal(lines.map((l) => l.i), [0, 1, 2]);
  });

  test('without a method: lists what the device serves', async () => {
    const r = await cliIn(['call', '--port', port(), '--schema', SCHEMA]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /method read\(struct ReadReq\{channel:u8\}\)/);
    assert.match(r.stdout, /stream samples/);
  });

  test("the device's declared error: code 1001 and its payload, exit 1", async () => {
    const r = await cliIn(['call', '--port', port(), '--schema', SCHEMA, '--json', 'read', '{"channel": 9}']);
    assert.is(r.code, 1, r.stdout + r.stderr);
    assert.not.match(r.stdout, /"code":40[01]/, r.stdout);
    const e = (JSON.parse(r.stdout) as { error: { code: number; name: string; detail: { payload: { channel: number; reason: string } } } }).error;
    assert.is(e.code, 1001);
    assert.is(e.name, 'sensorFault');
    assert.equal(e.detail.payload, { channel: 9, reason: 'noSuchChannel' });
  });

  test('no schema file: 403 with a hint naming --schema', async () => {
    const cwd = process.cwd();
    process.chdir(tempDir()); // no .cell/schemas/thermo.json here
    try {
      const r = await cliIn(['call', '--port', port(), '--json', 'read', '{"channel": 1}']);
      assert.is(r.code, 1);
      const e = (JSON.parse(r.stdout) as { error: { code: number; fix?: string; hint?: string } }).error;
      assert.is(e.code, 403);
      assert.match(JSON.stringify(e), /--schema/);
    } finally {
      process.chdir(cwd);
    }
  });

  test('a schema file of other firmware is refused: 402, nothing sent', async () => {
    const d = describeCell(ThermoDef as CellDef) as unknown as { methods: { name: string; key: string }[] };
    d.methods[0]!.key = '0000000000000001';
    const f = join(tempDir(), 'stale.json');
    writeFileSync(f, JSON.stringify(d));
    const r = await cliIn(['call', '--port', port(), '--schema', f, '--json', 'read', '{"channel": 1}']);
    assert.is(r.code, 1);
    assert.is((JSON.parse(r.stdout) as { error: { code: number } }).error.code, 402);
  });

  test('a bad argument: exit 2 with the field', async () => {
    const r = await cliIn(['call', '--port', port(), '--schema', SCHEMA, 'read', '{"channel": 300}']);
    assert.is(r.code, 2);
    assert.match(r.stderr, /channel/);
  });

  test('no such port: 401 with a hint', async () => {
    const r = await cliIn(['call', '--port', '/dev/ttyCELLNONE', '--json', 'read']);
    assert.is(r.code, 1);
    const e = (JSON.parse(r.stdout) as { error: { code: number } }).error;
    assert.is(e.code, 401);
  });

  const noQemu = qemuUnavailable();
  if (noQemu !== null) test.skip(`qemu mps2-an385 (${noQemu})`, () => {});
  else {
    test('the native image under qemu (mps2-an385): read', async () => {
      qemu = await startQemu({ board: 'mps2-an385', elf: built.elfs['mps2-an385'], paused: false });
      // qemu notices a new reader of its pty at its next 1 s poll: HELLO may be answered ~1 s late
      const r = await cliIn(['call', '--port', qemu.ptyPath, '--schema', SCHEMA, '--deadline', '10000', 'read', '{"channel": 2}']);
      assert.is(r.code, 0, `${r.stderr}\n${qemu.log}`);
      assert.is((JSON.parse(r.stdout) as { channel: number }).channel, 2);
    });
  }
}

test.run();
