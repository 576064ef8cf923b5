// Verified boot in the portable bootloader (firmware/boot/loader.ts; docs/flash.md §5.4), through
// the raw boot protocol — not `cell flash`, whose host-side checks would refuse these images
// before the device saw them. A bootloader built with a trusted key (here: a test key) verifies
// the manifest's Ed25519 signature itself (@noble/curves, strict, as the C verifier of the native
// build) and keeps a monotonic minimum security version in its state record:
//   unsigned 712, garbage signature 713, another signer 714, a manifest field changed after
//   signing 713, an image byte flipped after signing 704 (at COMMIT), an older security version
//   717 — each leaving the running image (and, for BEGIN refusals, every flash byte) untouched;
//   a newer signed image installs and raises the minimum on CONFIRM; a signed --allow-downgrade
//   image installs and lowers it; a development bootloader (no key) still takes unsigned images.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { MemFlash, PowerCut } from './mem-flash.ts';
import { makeLoader, call, install, chunkPayload, PAGE, SLOT_PAGES, CHUNK } from './boot-driver.ts';
import { BootLayout } from '../../firmware/boot/flash.ts';
import { BOOT_STAY, type Bootloader } from '../../firmware/boot/loader.ts';
import type { NobleVerifier } from '../../firmware/boot/noble-verify.ts';
import { buildManifest, signManifest, type BuildOptions } from '../../src/flash/manifest.ts';
import { OP_BEGIN, OP_CHUNK, OP_COMMIT, OP_CONFIRM, OP_ENTER_BOOT, M_SIGNATURE, M_VERSION, SLOT_EMPTY } from '../../src/flash/boot-wire.ts';
import { prng } from '../helpers/prng.ts';

const pages = new BootLayout(PAGE, SLOT_PAGES).totalPages();
const SECRET = sha256(new TextEncoder().encode('cell boot test key'));
const PUB = ed25519.getPublicKey(SECRET);
const OTHER = sha256(new TextEncoder().encode('not the trusted key'));

function image(tag: number, n: number): Uint8Array {
  const r = prng(tag);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}
const signed = (img: Uint8Array, o: BuildOptions, key = SECRET): Uint8Array => signManifest(buildManifest(img, o), key);

const V1 = image(11, 3000);
const V2 = image(12, 2500);
const V3 = image(13, 2000);
const M1 = signed(V1, { version: '1.0.0', board: 'sim', securityVersion: 1 });
const M2 = signed(V2, { version: '2.0.0', board: 'sim', securityVersion: 2 });

const keyed = (f: MemFlash): Bootloader => makeLoader(f, CHUNK, PUB);

/** A reset, and what runs: [slot, major version] ([-1, -1]: stays in the bootloader). Confirms a trial when `confirm`. */
function reboot(f: MemFlash, confirm = true): [number, number] {
  const bl = keyed(f);
  const s = bl.boot();
  if (s < 0) return [-1, -1];
  bl.enterApp(s);
  if (confirm && bl.state.trial === s) assert.ok(call(bl, OP_CONFIRM).ok, 'CONFIRM');
  return [s, bl.state.slot(s).version >>> 24];
}

/** A device that confirmed v1 (security version 1), then a bootloader session over it. */
function deviceOnV1(): { f: MemFlash; bl: Bootloader } {
  const f = new MemFlash(PAGE, pages);
  const bl = keyed(f);
  assert.is(bl.boot(), BOOT_STAY);
  install(bl, V1, M1);
  assert.equal(reboot(f), [1, 1]);
  const b = keyed(f);
  assert.is(b.boot(), 1); // the bootloader with the state loaded, as after ENTER_BOOT
  return { f, bl: b };
}

const t = suite('verified boot: the bootloader checks signature and security version itself');

t('BEGIN refuses unsigned (712), garbage signature (713), another signer (714), a field changed after signing (713), an older security version (717): not one flash byte changes', () => {
  const { f, bl } = deviceOnV1();
  const before = f.mem.slice();
  const cases: [string, Uint8Array, number][] = [];
  cases.push(['unsigned', buildManifest(V2, { version: '2.0.0', board: 'sim', securityVersion: 2 }), 712]);
  const garbage = M2.slice();
  garbage.set(image(99, 64), M_SIGNATURE);
  cases.push(['garbage signature', garbage, 713]);
  cases.push(['signature zero, key set', (() => { const m = M2.slice(); m.fill(0, M_SIGNATURE); return m; })(), 712]);
  cases.push(['another signer', signed(V2, { version: '2.0.0', board: 'sim', securityVersion: 2 }, OTHER), 714]);
  const otherSigTrustedKey = signed(V2, { version: '2.0.0', board: 'sim', securityVersion: 2 }, OTHER);
  otherSigTrustedKey.set(PUB, 64);
  cases.push(['another signer claiming the trusted key', otherSigTrustedKey, 713]);
  const version = M2.slice();
  version[M_VERSION + 3] = 9; // 9.0.0 after signing
  cases.push(['version changed after signing', version, 713]);
  const sec = M2.slice();
  sec[7] = 200; // security version raised after signing
  cases.push(['security version changed after signing', sec, 713]);
  const flag = M1.slice();
  flag[5] = 1; // ALLOW_DOWNGRADE set after signing
  cases.push(['downgrade flag set after signing', flag, 713]);
  const hash = M2.slice();
  hash[40] ^= 1;
  cases.push(['hash changed after signing', hash, 713]);
  cases.push(['older security version, properly signed', signed(V2, { version: '2.0.0', board: 'sim', securityVersion: 0 }), 717]);
  for (const [what, m, code] of cases) {
    const r = call(bl, OP_BEGIN, m);
    assert.is(r.ok, false, what);
    assert.is(r.code, code, `${what}: ${r.code}`);
    assert.is(call(bl, OP_CHUNK, chunkPayload(V2, 0)).code, 705, `${what}: no session was opened`);
  }
  assert.equal(f.mem, before, 'the flash is byte for byte as before');
  assert.equal(reboot(f), [1, 1], 'v1 runs on');
});

t('an image byte flipped after signing: BEGIN passes (the manifest is genuine), COMMIT refuses it (704), v1 runs on', () => {
  const { f, bl } = deviceOnV1();
  const tampered = V2.slice();
  tampered[1234] ^= 0x20;
  assert.ok(call(bl, OP_BEGIN, M2).ok);
  for (let off = 0; off < tampered.length; off += CHUNK) assert.ok(call(bl, OP_CHUNK, chunkPayload(tampered, off)).ok);
  assert.is(call(bl, OP_COMMIT).code, 704);
  assert.is(bl.state.s0.state, SLOT_EMPTY);
  assert.equal(reboot(f), [1, 1]);
  assert.equal(reboot(f), [1, 1]);
});

t('a signed newer image installs, boots on trial, and CONFIRM raises the minimum; after that v1 is refused (717) and never booted as a fallback', () => {
  const { f, bl } = deviceOnV1();
  install(bl, V2, M2);
  const v = bl.verifier as NobleVerifier;
  assert.is(v.calls, 2, 'the signature is verified at BEGIN and again before COMMIT');
  assert.is(bl.state.minSecurityVersion, 1, 'v1 confirmed: minimum 1');
  assert.equal(reboot(f), [0, 2], 'v2 on trial, confirmed');
  const b = keyed(f);
  assert.is(b.boot(), 0);
  assert.is(b.state.minSecurityVersion, 2, 'the minimum follows the confirmed image');
  assert.is(call(b, OP_BEGIN, M1).code, 717, 'v1 (security version 1) again');
  // The old slot still holds v1 and its record says valid, but it may not run any more: with
  // slot 0 damaged, the device stays in the bootloader rather than fall back to v1.
  f.mem[new BootLayout(PAGE, SLOT_PAGES).slotAddr(0) + 10] ^= 1;
  assert.equal(reboot(f), [-1, -1]);
});

t('a trial that is not confirmed does not raise the minimum (it rolls back to v1, which may still run)', () => {
  const { f, bl } = deviceOnV1();
  install(bl, V2, M2);
  assert.equal(reboot(f, false), [0, 2]);
  assert.equal(reboot(f), [1, 1], 'rolled back');
  const b = keyed(f);
  b.boot();
  assert.is(b.state.minSecurityVersion, 1);
});

t('a signed --allow-downgrade image installs below the minimum, and its CONFIRM lowers it; unconfirmed, it rolls back and the minimum stays', () => {
  const { f, bl } = deviceOnV1();
  install(bl, V2, M2);
  assert.equal(reboot(f), [0, 2]);
  const M3 = signed(V3, { version: '1.5.0', board: 'sim', securityVersion: 1, allowDowngrade: true });
  // Unconfirmed first: rolled back to v2, minimum still 2.
  let b = keyed(f);
  b.boot();
  install(b, V3, M3);
  assert.equal(reboot(f, false), [1, 1]);
  assert.equal(reboot(f), [0, 2]);
  b = keyed(f);
  b.boot();
  assert.is(b.state.minSecurityVersion, 2);
  // Again, confirmed this time.
  install(b, V3, M3);
  assert.equal(reboot(f), [1, 1]);
  b = keyed(f);
  assert.is(b.boot(), 1);
  assert.is(b.state.minSecurityVersion, 1, 'lowered by the signed downgrade');
  assert.is(b.state.slot(1).version >>> 16, 0x0105);
  // And a newer image goes on as usual.
  install(b, V2, M2);
  assert.equal(reboot(f), [0, 2]);
});

t('the minimum survives in the record across resets and a damaged newest copy falls back to the previous one (still two copies, CRC each)', () => {
  const { f, bl } = deviceOnV1();
  install(bl, V2, M2);
  assert.equal(reboot(f), [0, 2]);
  const b = keyed(f);
  b.boot();
  assert.is(b.state.minSecurityVersion, 2);
  assert.is(f.mem[b.state.page * PAGE + 108], 2, 'record byte 108');
  assert.is(f.mem[b.state.page * PAGE + 109], 1, 'record byte 109: the start boot() just counted');
  assert.ok(f.mem.subarray(b.state.page * PAGE + 110, b.state.page * PAGE + 124).every((x) => x === 0), '110..123 zero');
});

t('a development bootloader (no trusted key) still installs unsigned images, and a keyed one refuses what it installed', () => {
  const f = new MemFlash(PAGE, pages);
  const dev = makeLoader(f);
  dev.boot();
  install(dev, V1, buildManifest(V1, { version: '1.0.0', board: 'sim' }));
  const s = dev.boot();
  assert.ok(s >= 0);
  const k = keyed(new MemFlash(PAGE, pages));
  k.boot();
  assert.is(call(k, OP_BEGIN, buildManifest(V1, { version: '1.0.0', board: 'sim' })).code, 712);
});

t('50 random power cuts (seeded) in a whole signed update — ENTER_BOOT, BEGIN, chunks, COMMIT, trial boot, CONFIRM, healthy: the device always boots a valid image of the allowed security version', () => {
  const start = deviceOnV1().f.mem.slice();
  // 32-byte chunks: ~80 CHUNKs, so the update has enough flash operations to pick 50 from.
  const C = 32;
  const kc = (f: MemFlash): Bootloader => makeLoader(f, C, PUB);
  /** The update as the host drives it, every flash operation of it countable. */
  const update = (f: MemFlash): void => {
    let b = kc(f);
    const s = b.boot();
    b.enterApp(s);
    b.healthy();
    assert.ok(call(b, OP_ENTER_BOOT).ok);
    b = kc(f);
    assert.is(b.boot(), BOOT_STAY);
    install(b, V2, M2, C);
    b = kc(f);
    const t = b.boot();
    b.enterApp(t);
    assert.ok(call(b, OP_CONFIRM).ok);
    b.healthy();
  };
  const ref = new MemFlash(PAGE, pages);
  ref.mem.set(start);
  update(ref);
  const total = ref.ops;
  assert.ok(total >= 60, `${total} flash operations`);
  assert.equal(reboot(ref), [0, 2]);
  const r = prng(0x5eed17);
  const cuts = new Set<number>();
  while (cuts.size < 50) cuts.add(Math.floor(r() * total)); // cut at operation k+1 of total
  const seen = { v1: 0, v2: 0 };
  for (const k of [...cuts].sort((a, b) => a - b)) {
    const f = new MemFlash(PAGE, pages);
    f.mem.set(start);
    f.budget = k;
    try {
      update(f);
      assert.unreachable(`the power cut after ${k} of ${total} operations did not happen`);
    } catch (e) {
      if (!(e instanceof PowerCut)) throw e;
    }
    f.budget = -1;
    // Power back: whatever runs verifies, is v1 or v2, and is not below the record's minimum, at
    // every one of 4 resets (a committed trial runs and is confirmed, as a resuming host does).
    let last = -1;
    for (let reset = 0; reset < 4; reset++) {
      const bl = keyed(f);
      const s = bl.boot();
      assert.ok(s >= 0, `cut after ${k} of ${total} ops, reset ${reset}: an image boots`);
      assert.ok(bl.verifySlot(s), `cut after ${k}: the slot verifies`);
      const v = bl.state.slot(s).version >>> 24;
      assert.ok(v === 1 || v === 2, `cut after ${k}: v${v}`);
      assert.ok(bl.state.slot(s).securityVersion >= bl.state.minSecurityVersion, `cut after ${k}: not below the minimum`);
      bl.enterApp(s);
      // A trial that runs is confirmed (the host's resume does that) — it ran at most once.
      if (bl.state.trial === s) assert.ok(call(bl, OP_CONFIRM).ok); else bl.healthy();
      last = v;
    }
    if (last === 1) seen.v1++; else seen.v2++;
    assert.is(f.overwrites, 0, `cut after ${k}: no program over unerased bytes`);
    // And the update, run again from there, completes (v2 confirmed, minimum 2).
    const b = keyed(f);
    if (b.boot() !== 0 || b.state.slot(0).version >>> 24 !== 2 || b.state.minSecurityVersion !== 2) {
      const again = keyed(f);
      const s = again.boot();
      again.enterApp(s);
      if (again.state.active !== 0 || again.state.slot(0).version >>> 24 !== 2) {
        assert.ok(call(again, OP_ENTER_BOOT).ok);
        const g = kc(f);
        assert.is(g.boot(), BOOT_STAY);
        install(g, V2, M2, C);
        assert.equal(reboot(f), [0, 2], `cut after ${k}: the update run again`);
      }
    }
    const after = keyed(f);
    assert.is(after.boot(), 0);
    assert.is(after.state.minSecurityVersion, 2, `cut after ${k}: minimum 2 once v2 is confirmed`);
  }
  console.log(`  50 cuts in ${total} flash operations: settled on v1 ${seen.v1}, v2 ${seen.v2}`);
  assert.ok(seen.v1 > 0 && seen.v2 > 0, 'both outcomes occur');
});

t('host and device agree: checkImage and the bootloader accept and refuse the same manifests', async () => {
  const { checkImage } = await import('../../src/flash/manifest.ts');
  const { f } = deviceOnV1();
  void f;
  const r = prng(5);
  for (let i = 0; i < 40; i++) {
    const m = M2.slice();
    if (i > 0) m[Math.floor(r() * 160)] ^= 1 << Math.floor(r() * 8);
    const host = ((): number => {
      try { checkImage(V2, m, { trustedKeys: [Array.from(PUB, (x) => x.toString(16).padStart(2, '0')).join('')] }); return 0; } catch (e) { return (e as { code: number }).code; }
    })();
    const dev = keyed(new MemFlash(PAGE, pages));
    dev.boot();
    const d = call(dev, OP_BEGIN, m);
    const devCode = d.ok ? 0 : d.code;
    // The host also hashes the image (704) where the device waits for COMMIT; the host verifies
    // with the manifest's key before it asks whether that key is trusted (713), the device
    // compares the key with its own first (714: no verification needed to refuse it).
    if (host === 704) assert.is(devCode, 713, `flip ${i}: a hash changed after signing`);
    else if (host === 713 && m.subarray(64, 96).some((x, j) => x !== PUB[j])) assert.is(devCode, 714, `flip ${i}: the key`);
    else assert.is(devCode, host, `flip ${i}`);
  }
});

t.run();
