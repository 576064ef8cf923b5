// Flashing a secured device (docs/flash.md §4.1): the bootloader simulator
// (hw-tests/lib/boot-sim-device.ts) with a key page and boot-counter pages, running the
// firmware/thermo-secure wasm from its slots, over a real pty. The app takes boot commands only
// sealed; the bootloader (with a trusted publisher key) speaks plaintext and checks signatures.
// flashImage with the link key goes both ways; without it, the device is named as secured (804)
// and keeps running; a plaintext ENTER_BOOT never reaches the bootloader behind the app.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { appRuns, codeOf, startDevice, stampWasm, skipReason, type Bench } from './helpers.ts';
import { buildManifest, signManifest, type BuildOptions } from '../../src/flash/manifest.ts';
import { deviceInfo, flashImage } from '../../src/flash/flash.ts';
import { BootClient } from '../../src/flash/client.ts';
import { OP_ENTER_BOOT } from '../../src/flash/boot-wire.ts';
import { KeyRing } from '../../src/transports/secure-keys.ts';
import { openUart } from '../../src/uart/index.ts';
import { buildFirmwareWasm } from '../helpers/firmware-wasm.ts';
import { provisioningRecord, DEVICE_ID, DEVICE_KEY } from '../firmware/secure-host.ts';
import { skipTest } from '../helpers/skip.ts';

const why = skipReason();
const built = why === null ? buildFirmwareWasm('thermo-secure') : { skip: why };
const skip = typeof built === 'string' ? null : built.skip;
const base = typeof built === 'string' ? new Uint8Array(readFileSync(built)) : new Uint8Array(0);
if (skip !== null) console.log(`flash secure-sim: skipped (${skip})`);

const publisher = ed25519.utils.randomSecretKey();
const keys = new KeyRing().add({ kind: 'device', deviceId: DEVICE_ID, key: DEVICE_KEY });
const wrongKeys = new KeyRing().add({ kind: 'device', deviceId: DEVICE_ID, key: DEVICE_KEY.map((b) => b ^ 0x5a) });

function release(version: string, o: Partial<BuildOptions> = {}): { image: Uint8Array; manifest: Uint8Array } {
  const image = stampWasm(base, version);
  return { image, manifest: signManifest(buildManifest(image, { version, board: 'sim', ...o }), publisher) };
}

const s = suite('flash: a secured device (sealed boot commands to the app, plaintext bootloader)');
let b: Bench;
let dir = '';
s.before(async () => {
  if (skip !== null) return;
  dir = mkdtempSync(join(tmpdir(), 'cell-flash-sec-'));
  writeFileSync(join(dir, 'record.bin'), provisioningRecord());
  b = await startDevice({
    trustedKey: Buffer.from(ed25519.getPublicKey(publisher)).toString('hex'),
    secRecordFile: join(dir, 'record.bin'),
    secFlashFile: join(dir, 'counter.bin'),
  });
});
s.after(async () => {
  if (skip !== null) return;
  await b?.close();
  rmSync(dir, { recursive: true, force: true });
});


s('a blank device: v1 goes in through the plaintext bootloader and is confirmed sealed by the secured app', async () => {
  if (skip !== null) return skipTest(`secured flash simulator: ${skip}`);
  const r = await flashImage({ port: b.port, ...release('1.0.0', { securityVersion: 1 }), keys });
  assert.ok(r.confirmed, 'CONFIRM reached the app sealed');
  const d = await appRuns(b, '1.0.0', keys);
  assert.is(d.trialRunning, false);
  // INFO without the key: the app names itself secured instead of staying silent.
  assert.is(await codeOf(deviceInfo({ port: b.port })), 804);
});

s('v2 over the running secured app: ENTER_BOOT and CONFIRM sealed, the bootloader in between plaintext', async () => {
  if (skip !== null) return skipTest(`secured flash simulator: ${skip}`);
  const since = b.dev.boots.length;
  const states: string[] = [];
  const r = await flashImage({ port: b.port, ...release('2.0.0', { securityVersion: 2 }), keys, onEvent: (e) => { if (e.type === 'state') states.push(e.state); } });
  assert.ok(r.confirmed);
  assert.ok(states.includes('entering-bootloader'), states.join(' '));
  const boots = b.dev.boots.slice(since);
  assert.equal(boots[0], { mode: 'bootloader', reason: 'requested' }, JSON.stringify(boots));
  await appRuns(b, '2.0.0', keys);
});

s('without the key: 804 before anything changes, and the app keeps running', async () => {
  if (skip !== null) return skipTest(`secured flash simulator: ${skip}`);
  const since = b.dev.boots.length;
  const e = await flashImage({ port: b.port, ...release('3.0.0', { securityVersion: 3 }) }).then(() => null, (x: Error & { code?: number }) => x);
  assert.is(e?.code, 804, String(e));
  assert.match(e!.message, /secured/);
  assert.is(b.dev.boots.length, since, 'no reset');
  await appRuns(b, '2.0.0', keys);
});

s('a plaintext ENTER_BOOT never reaches the bootloader behind the secured app', async () => {
  if (skip !== null) return skipTest(`secured flash simulator: ${skip}`);
  const since = b.dev.boots.length;
  const c = new BootClient(await openUart({ path: b.port }));
  try {
    assert.is(await codeOf(c.request(OP_ENTER_BOOT, null, 1000)), 400, 'no answer (Timeout)');
  } finally {
    await c.close();
  }
  await new Promise((r) => setTimeout(r, 300));
  assert.is(b.dev.boots.length, since, 'no reset');
  await appRuns(b, '2.0.0', keys);
});

s('a key that does not fit: the session is refused (809) and the app keeps running', async () => {
  if (skip !== null) return skipTest(`secured flash simulator: ${skip}`);
  const since = b.dev.boots.length;
  assert.is(await codeOf(flashImage({ port: b.port, ...release('3.0.0', { securityVersion: 3 }), keys: wrongKeys, requestTimeoutMs: 500, maxResumes: 0 })), 809);
  assert.is(b.dev.boots.length, since, 'no reset');
  await appRuns(b, '2.0.0', keys);
  assert.is(b.dev.log.includes('crash'), false, b.dev.log);
});

s.run();
