// Verified boot on the simulator target (hw-tests/lib/boot-sim-device.ts with --trusted-key;
// docs/flash.md §5.4, §6): a device process whose bootloader trusts one publisher key, driven over
// a real pty through the raw boot protocol (BootClient) and through flashImage. The device itself
// refuses unsigned (712), forged (713), foreign (714) and older (717) images and keeps running
// its app; a newer signed image installs, a signed --allow-downgrade one too. Skips when socat or
// the thermo wasm are missing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ed25519 } from '@noble/curves/ed25519.js';
import { appRuns, codeOf, startDevice, stampWasm, thermoWasm, skipReason, type Bench } from './helpers.ts';
import { buildManifest, signManifest, type BuildOptions } from '../../src/flash/manifest.ts';
import { decodeDeviceInfo, flashImage, type DeviceInfo } from '../../src/flash/flash.ts';
import { BootClient } from '../../src/flash/client.ts';
import { M_SIGNATURE, OP_BEGIN, OP_ENTER_BOOT, OP_INFO, OP_RESET } from '../../src/flash/boot-wire.ts';
import { openUart } from '../../src/uart/index.ts';
import { skipTest } from '../helpers/skip.ts';

const why = skipReason();
const wasm = thermoWasm();
const skip = why ?? ('skip' in wasm ? wasm.skip : null);
const base = skip === null ? (wasm as Uint8Array) : new Uint8Array(0);
if (skip !== null) console.log(`verified-sim: skipped (${skip})`);

const secret = ed25519.utils.randomSecretKey();
const pub = Buffer.from(ed25519.getPublicKey(secret)).toString('hex');
const other = ed25519.utils.randomSecretKey();

function release(version: string, o: Partial<BuildOptions> = {}, key = secret): { image: Uint8Array; manifest: Uint8Array } {
  const image = stampWasm(base, version);
  return { image, manifest: signManifest(buildManifest(image, { version, board: 'sim', ...o }), key) };
}

const s = suite('flash: verified boot on the simulator target');
let b: Bench;
s.before(async () => { if (skip === null) b = await startDevice({ trustedKey: pub }); });
s.after(async () => { if (skip === null) await b.close(); });


s('signed v1 (security version 1) flashes; raw BEGINs of unsigned 712, forged 713, foreign 714, older 717 are refused and v1 runs on', async () => {
  if (skip !== null) return skipTest(`verified boot simulator: ${skip}`);
  const v1 = release('1.0.0', { securityVersion: 1 });
  assert.ok((await flashImage({ port: b.port, ...v1 })).confirmed);
  const v2 = release('2.0.0', { securityVersion: 2 });
  const forged = v2.manifest.slice();
  forged[M_SIGNATURE + 5] ^= 0x10;
  const c = new BootClient(await openUart({ path: b.port }));
  try {
    await c.request(OP_ENTER_BOOT, null, 2000);
    let d: DeviceInfo | null = null;
    for (let i = 0; i < 50 && d?.mode !== 'bootloader'; i++) d = decodeDeviceInfo(await c.request(OP_INFO, null, 2000));
    assert.is(d!.mode, 'bootloader');
    const before = JSON.stringify(d!.slots);
    assert.is(await codeOf(c.request(OP_BEGIN, buildManifest(v2.image, { version: '2.0.0', board: 'sim', securityVersion: 2 }), 2000)), 712);
    assert.is(await codeOf(c.request(OP_BEGIN, forged, 2000)), 713);
    assert.is(await codeOf(c.request(OP_BEGIN, release('2.0.0', { securityVersion: 2 }, other).manifest, 2000)), 714);
    assert.is(await codeOf(c.request(OP_BEGIN, release('0.9.0', { securityVersion: 0 }).manifest, 2000)), 717);
    d = decodeDeviceInfo(await c.request(OP_INFO, null, 2000));
    assert.is(JSON.stringify(d.slots), before, 'the slots are as before');
    await c.request(OP_RESET, null, 2000);
  } finally {
    await c.close();
  }
  await appRuns(b, '1.0.0');
});

s('a newer signed image raises the minimum; the older one is then refused by the device (717) and the app keeps running; a signed downgrade installs', async () => {
  if (skip !== null) return skipTest(`verified boot simulator: ${skip}`);
  assert.ok((await flashImage({ port: b.port, ...release('2.0.0', { securityVersion: 2 }) })).confirmed);
  const d = await appRuns(b, '2.0.0');
  // INFO (boot protocol 2) says what the device enforces: a trusted key, the raised minimum.
  assert.is(d.protocol, 2);
  assert.is(d.verifiedBoot, true);
  assert.is(d.minSecurityVersion, 2);
  assert.is(d.slots[d.runningSlot!]!.securityVersion, 2);
  const old = release('1.0.0', { securityVersion: 1 });
  assert.is(await codeOf(flashImage({ port: b.port, ...old })), 717);
  await appRuns(b, '2.0.0');
  const r = await flashImage({ port: b.port, ...release('1.0.0', { securityVersion: 1, allowDowngrade: true }) });
  assert.ok(r.confirmed);
  await appRuns(b, '1.0.0');
  assert.is(b.dev.log.includes('crash'), false, b.dev.log);
});

s.run();
