// `cell keys gen`, `cell sign`, `cell flash` (docs/flash.md §7): refusals with their code and a
// fix that says what to do, before any port is opened; and one real flash into the simulator
// with --json events. The simulator part skips without socat or the thermo wasm.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliIn } from './helpers.ts';
import { skipTest } from '../helpers/skip.ts';
import { startDevice, stampWasm, thermoWasm, skipReason } from '../flash/helpers.ts';
import { buildFirmwareWasm } from '../helpers/firmware-wasm.ts';
import { provisioningRecord, DEVICE_ID, DEVICE_KEY } from '../firmware/secure-host.ts';
import { writeKeyFile } from '../../src/transports/secure-keys.ts';

const s = suite('cell keys / sign / flash');
// Not helpers.tempDir: the CLI suites share one process under `npm test`, and another file's
// cleanup() (its after hook) removes every registered temp dir, this one too, before these run.
const dir = mkdtempSync(join(tmpdir(), 'cell-flash-cli-'));
s.after(() => { rmSync(dir, { recursive: true, force: true }); });
const image = join(dir, 'app.wasm');
const wasm = thermoWasm();
writeFileSync(image, 'skip' in wasm ? new Uint8Array(64).fill(1) : stampWasm(wasm, 'cli'));
const errOf = (stdout: string): { name: string; code?: number; fix?: string; message: string } =>
  (JSON.parse(stdout.trim().split('\n').pop()!) as { error: { name: string; code?: number; fix?: string; message: string } }).error;

s('keys gen writes a 0600 secret key and a public key, and refuses to overwrite them', async () => {
  const r = await cliIn(['keys', 'gen', '--out', join(dir, 'pub'), '--json']);
  assert.is(r.code, 0, r.stderr);
  const o = JSON.parse(r.stdout) as { publicKey: string; keyFile: string };
  assert.match(o.publicKey, /^[0-9a-f]{64}$/);
  assert.is(readFileSync(join(dir, 'pub.pub'), 'utf8').trim(), o.publicKey);
  const again = await cliIn(['keys', 'gen', '--out', join(dir, 'pub')]);
  assert.is(again.code, 1);
  assert.match(again.stderr, /--force/);
});

s('flash refuses an unsigned image before opening the port, and the fix says how to sign', async () => {
  const r = await cliIn(['flash', '--port', '/dev/nonexistent-cell-port', image, '--json']);
  assert.is(r.code, 1);
  const e = errOf(r.stdout);
  assert.is(e.code, 712);
  assert.is(e.name, 'BootUnsigned');
  assert.match(e.fix!, /cell sign/);
  assert.match(e.fix!, /--insecure/);
});

s('sign writes <image>.manifest; an untrusted signer is 714, a changed image 704, both with fixes', async () => {
  const r = await cliIn(['sign', image, '--board', 'sim', '--version', '1.2.3', '--key', join(dir, 'pub.key'), '--json']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is((JSON.parse(r.stdout) as { version: string }).version, '1.2.3');
  const u = await cliIn(['flash', '--port', '/dev/nonexistent-cell-port', image, '--json']);
  assert.is(errOf(u.stdout).code, 714);
  assert.match(errOf(u.stdout).fix!, /trusted_keys/);
  writeFileSync(join(dir, 'cell.toml'), `name = "x"\n[flash]\ntrusted_keys = ["${readFileSync(join(dir, 'pub.pub'), 'utf8').trim()}"]\n`);
  const copy = join(dir, 'changed.wasm');
  const bytes = readFileSync(image);
  bytes[bytes.length - 1] ^= 1;
  writeFileSync(copy, bytes);
  writeFileSync(`${copy}.manifest`, readFileSync(`${image}.manifest`));
  const t = await cliIn(['flash', '--port', '/dev/nonexistent-cell-port', copy, '--dir', dir, '--json']);
  assert.is(errOf(t.stdout).code, 704);
  const missing = await cliIn(['sign', image, '--board', 'sim']);
  assert.is(missing.code, 2, 'usage error: --version missing');
});

s('flash --json into the simulator: state and progress events, then done; --info shows the slot', async () => {
  if (skipReason() !== null || 'skip' in wasm) return skipTest(`flash into the simulator: ${skipReason() ?? (wasm as { skip: string }).skip}`);
  const b = await startDevice();
  try {
    const r = await cliIn(['flash', '--port', b.port, image, '--dir', dir, '--json']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; bytesDone?: number; version?: string });
    assert.ok(lines.some((l) => l.type === 'progress' && l.bytesDone === readFileSync(image).length), 'a final progress event');
    const done = lines.at(-1)!;
    assert.is(done.type, 'done');
    assert.is(done.version, '1.2.3');
    const i = await cliIn(['flash', '--port', b.port, '--info']);
    assert.is(i.code, 0);
    assert.match(i.stdout, /version 1\.2\.3.*\[active\]/);
    assert.match(i.stdout, /verified boot: off \(a development bootloader/);
  } finally {
    await b.close();
  }
});

s('sign --security-version / --allow-downgrade into a simulator whose bootloader trusts the key: an older image is refused by the device (717, the fix names --allow-downgrade), a signed downgrade goes on', async () => {
  if (skipReason() !== null || 'skip' in wasm) return skipTest(`verified boot through the CLI: ${skipReason() ?? (wasm as { skip: string }).skip}`);
  const pub = readFileSync(join(dir, 'pub.pub'), 'utf8').trim();
  const b = await startDevice({ trustedKey: pub });
  const key = join(dir, 'pub.key');
  const img = (v: string): string => {
    const p = join(dir, `sec-${v}.wasm`);
    writeFileSync(p, stampWasm((wasm as Uint8Array), `sec ${v}`));
    return p;
  };
  try {
    const v2 = img('2');
    let r = await cliIn(['sign', v2, '--board', 'sim', '--version', '2.0.0', '--security-version', '2', '--key', key, '--json']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.is((JSON.parse(r.stdout) as { securityVersion: number }).securityVersion, 2);
    r = await cliIn(['flash', '--port', b.port, v2, '--dir', dir, '--json']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    const v1 = img('1');
    r = await cliIn(['sign', v1, '--board', 'sim', '--version', '1.0.0', '--security-version', '1', '--key', key]);
    assert.is(r.code, 0, r.stdout + r.stderr);
    r = await cliIn(['flash', '--port', b.port, v1, '--dir', dir, '--json']);
    assert.is(r.code, 1);
    const e = errOf(r.stdout);
    assert.is(e.code, 717);
    assert.is(e.name, 'BootRollback');
    assert.match(e.fix!, /--allow-downgrade/);
    r = await cliIn(['sign', v1, '--board', 'sim', '--version', '1.0.0', '--security-version', '1', '--allow-downgrade', '--key', key, '--json']);
    assert.is((JSON.parse(r.stdout) as { allowDowngrade: boolean }).allowDowngrade, true);
    r = await cliIn(['flash', '--port', b.port, v1, '--dir', dir, '--json']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    const i = await cliIn(['flash', '--port', b.port, '--info']);
    assert.match(i.stdout, /version 1\.0\.0 \(security 1\).*\[active\]/);
    assert.match(i.stdout, /verified boot: on .*minimum security version 1/);
  } finally {
    await b.close();
  }
});

s('flash --key into a secured device: sealed boot commands to its app; without the key --info names it secured (804, the fix names --key)', async () => {
  const secWasm = skipReason() === null ? buildFirmwareWasm('thermo-secure') : { skip: skipReason()! };
  if (typeof secWasm !== 'string') return skipTest(`secured flash through the CLI: ${secWasm.skip}`);
  writeFileSync(join(dir, 'record.bin'), provisioningRecord());
  const linkKey = join(dir, 'device.key');
  writeKeyFile(linkKey, { kind: 'device', deviceId: DEVICE_ID, key: DEVICE_KEY });
  const b = await startDevice({ secRecordFile: join(dir, 'record.bin'), secFlashFile: join(dir, 'counter.bin') });
  try {
    const img = join(dir, 'secure.wasm');
    writeFileSync(img, stampWasm(new Uint8Array(readFileSync(secWasm)), 'secure cli'));
    let r = await cliIn(['sign', img, '--board', 'sim', '--version', '1.0.0', '--key', join(dir, 'pub.key')]);
    assert.is(r.code, 0, r.stdout + r.stderr);
    // A blank device: the bootloader takes the image in plaintext, the new app is confirmed sealed.
    r = await cliIn(['flash', '--port', b.port, img, '--dir', dir, '--key', linkKey, '--json']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.is((JSON.parse(r.stdout.trim().split('\n').pop()!) as { confirmed: boolean }).confirmed, true);
    r = await cliIn(['flash', '--port', b.port, '--info', '--json']);
    assert.is(r.code, 1, r.stdout + r.stderr);
    const e = errOf(r.stdout);
    assert.is(e.code, 804);
    assert.match(e.fix!, /--key/);
    r = await cliIn(['flash', '--port', b.port, '--info', '--key', linkKey]);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /app running from slot \d/);
    assert.match(r.stdout, /version 1\.0\.0.*\[active\]/);
  } finally {
    await b.close();
  }
});

s.run();
