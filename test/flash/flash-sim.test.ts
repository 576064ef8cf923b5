// `cell flash` against the simulator target (docs/flash.md §6, §8): a device process whose flash
// is a file, on one end of a socat pty pair; the host flashes through the other end with the
// real UART link. Skips when socat or the thermo wasm are missing.
//   CELL_FLASH_BREAKS=50 (default) flashes, each broken at a random point.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { startDevice, stampWasm, thermoWasm, skipReason, type Bench } from './helpers.ts';
import { buildManifest, checkImage, signManifest } from '../../src/flash/manifest.ts';
import { deviceInfo, flashImage, type DeviceInfo, type FlashEvent } from '../../src/flash/flash.ts';
import { startPtyPair } from '../../hw-tests/lib/pty.ts';
import { connectUart, openUart } from '../../src/uart/index.ts';
import type { Link } from '../../src/transports/link.ts';
import { Header, readHeader } from '../../src/wire/header.ts';
import { OP_INFO, OP_RESET } from '../../src/flash/boot-wire.ts';
import { ThermoDef } from '../../firmware/thermo/schema.ts';
import { prng } from '../helpers/prng.ts';
import { skipTest } from '../helpers/skip.ts';

const why = skipReason();
const wasm = thermoWasm();
const skip = why ?? ('skip' in wasm ? wasm.skip : null);
const base = skip === null ? (wasm as Uint8Array) : new Uint8Array(0);
if (skip !== null) console.log(`flash-sim: skipped (${skip})`);

const secret = ed25519.utils.randomSecretKey();
const pub = Buffer.from(ed25519.getPublicKey(secret)).toString('hex');

function release(version: string, padBytes = 0): { image: Uint8Array; manifest: Uint8Array } {
  const image = stampWasm(base, version, padBytes);
  return { image, manifest: signManifest(buildManifest(image, { version, board: 'sim' }), secret) };
}

const s = suite('flash: simulator target');
let b: Bench;

s.before(async () => { if (skip === null) b = await startDevice(); });
s.after(async () => { if (skip === null) await b.close(); });

s('a blank device stays in the bootloader; v1 is written, booted on trial, confirmed, and the app answers', async () => {
  if (skip !== null) return skipTest(`flash simulator: ${skip}`);
  assert.equal(await b.dev.waitBoot(0), { mode: 'bootloader', reason: 'no-image' });
  const v1 = release('1.0.0');
  checkImage(v1.image, v1.manifest, { trustedKeys: [pub] });
  const states: string[] = [];
  const r = await flashImage({ port: b.port, ...v1, onEvent: (e) => { if (e.type === 'state') states.push(e.state); } });
  assert.is(r.version, '1.0.0');
  assert.ok(r.confirmed);
  assert.equal(states, ['connected', 'writing', 'verifying', 'rebooting', 'confirming']);
  const d = await deviceInfo({ port: b.port });
  assert.is(d.mode, 'app');
  assert.is(d.activeSlot, r.slot);
  assert.is(d.slots[r.slot]!.version, '1.0.0');
  // The handover is real: the thermo app itself answers typed calls on the same line.
  const dev = await connectUart(ThermoDef, { path: b.port, openTimeoutMs: 5000, heartbeatMs: 0 });
  try {
    const info = await dev.info({});
    assert.is(info.name, 'thermo');
  } finally {
    await dev.close();
  }
});

s('an upgrade goes to the other slot; the running app is asked into the bootloader (ENTER_BOOT)', async () => {
  if (skip !== null) return skipTest(`flash simulator: ${skip}`);
  const v2 = release('2.0.0');
  const before = await deviceInfo({ port: b.port });
  const states: string[] = [];
  const r = await flashImage({ port: b.port, ...v2, onEvent: (e) => { if (e.type === 'state') states.push(e.state); } });
  assert.is(r.slot, 1 - before.activeSlot!);
  assert.ok(states.includes('entering-bootloader'));
  const again = await flashImage({ port: b.port, ...v2 });
  assert.ok(again.alreadyInstalled, 'flashing the same image again writes nothing');
});

s('a trial that is not confirmed is rolled back by the next reset', async () => {
  if (skip !== null) return skipTest(`flash simulator: ${skip}`);
  const v3 = release('3.0.0');
  const r = await flashImage({ port: b.port, ...v3, confirm: false });
  assert.is(r.confirmed, false);
  let d = await deviceInfo({ port: b.port });
  assert.ok(d.trialRunning);
  assert.is(d.slots[d.runningSlot!]!.version, '3.0.0');
  const n = b.dev.boots.length;
  await b.dev.powerCycle();
  const ev = await b.dev.waitBoot(n);
  assert.is(ev.mode, 'app');
  assert.is(ev.version, 2 << 24, 'back on 2.0.0');
  d = await deviceInfo({ port: b.port });
  assert.is(d.slots[r.slot]!.state, 'rejected');
  assert.not.ok(d.trialRunning);
});

/**
 * The host's UART link, except that INFO requests sent within `silentMs` after a RESET are
 * dropped: a device that takes its time to come back (a real one hashes and copies its slot; qemu
 * loses the first INFO in the reset). The simulator itself answers at once.
 */
function slowRebootOpen(silentMs: number): (o: { path: string; baudRate: number; paceBaud: number }) => Promise<Link> {
  return async (o) => {
    const link = await openUart({ path: o.path, baudRate: o.baudRate, paceBaud: o.paceBaud, watchMs: 100, maxFrameBytes: 4096 });
    const h = new Header();
    let silentUntil = 0;
    return <Link>{
      io: (link as { io?: unknown }).io, // BootClient.close waits for the port's fd to close through it
      caps: link.caps,
      stats: link.stats,
      get closed() { return link.closed; },
      start: (handlers) => link.start(handlers),
      close: () => link.close(),
      send(frame: Uint8Array, len = frame.length): boolean {
        if (readHeader(frame, 0, len, len, h) >= 0) {
          if (h.keyLo === OP_INFO && performance.now() < silentUntil) return true;
          if (h.keyLo === OP_RESET) silentUntil = performance.now() + silentMs;
        }
        return link.send(frame, len);
      },
    };
  };
}

s('a device slow to answer after RESET: flashImage polls INFO until it does (no resume) and confirms', async () => {
  if (skip !== null) return skipTest(`flash simulator: ${skip}`);
  const events: FlashEvent[] = [];
  const r = await flashImage({ port: b.port, ...release('3.0.1'), open: slowRebootOpen(1500), onEvent: (e) => events.push(e) });
  assert.ok(r.confirmed);
  assert.is(r.resumes, 0, `no resume: ${JSON.stringify(events.filter((e) => e.type === 'resume'))}`);
  const d = await deviceInfo({ port: b.port });
  assert.is(d.slots[d.runningSlot!]!.version, '3.0.1');
  assert.not.ok(d.trialRunning);
});

s('an image that does not start (not a wasm module) is rolled back by the device itself: BootNoTrial (710), never flashed twice', async () => {
  if (skip !== null) return skipTest(`flash simulator: ${skip}`);
  const before = await deviceInfo({ port: b.port });
  const junk = new Uint8Array(4096).map((_, i) => (i * 151 + 7) & 0xff);
  const events: FlashEvent[] = [];
  // Slow to come back, as under qemu: the host must wait for the rolled-back device, not resume
  // and flash the image again (which ended in 501 after maxResumes rounds).
  const err = await flashImage({
    port: b.port, image: junk, manifest: buildManifest(junk, { version: '3.1.0', board: 'sim' }), open: slowRebootOpen(1500),
    onEvent: (e) => events.push(e),
  }).then(() => null, (e: unknown) => e as { code?: number; message?: string });
  assert.ok(err !== null, 'flashImage fails');
  assert.is(err!.code, 710, `${err!.code} ${err!.message}`);
  assert.is(events.filter((e) => e.type === 'state' && e.state === 'writing').length, 1, 'written once');
  const d = await deviceInfo({ port: b.port });
  assert.is(d.mode, 'app');
  assert.is(d.runningSlot, before.runningSlot);
  assert.is(d.activeSlot, before.activeSlot);
  assert.is(d.trialSlot, null);
  const other = 1 - before.runningSlot!;
  assert.is(d.slots[other]!.state, 'rejected');
  assert.is(d.slots[other]!.version, '3.1.0');
});

s('the link is lost while the device reboots into an image that does not start: the resume finds it rejected → 710, not a second flash', async () => {
  if (skip !== null) return skipTest(`flash simulator: ${skip}`);
  const before = await deviceInfo({ port: b.port });
  const junk = new Uint8Array(4096).map((_, i) => (i * 97 + 5) & 0xff);
  const events: FlashEvent[] = [];
  // Silent for longer than reconnectMs after RESET: the wait gives up, the host reconnects (a new
  // link, answered again) and INFO shows the slot it reset into rejected.
  const err = await flashImage({
    port: b.port, image: junk, manifest: buildManifest(junk, { version: '3.2.0', board: 'sim' }), open: slowRebootOpen(4000),
    reconnectMs: 1000, onEvent: (e) => events.push(e),
  }).then(() => null, (e: unknown) => e as { code?: number; message?: string });
  assert.ok(err !== null, 'flashImage fails');
  assert.is(err!.code, 710, `${err!.code} ${err!.message}`);
  assert.ok(events.some((e) => e.type === 'resume'), 'resumed after the lost wait');
  assert.is(events.filter((e) => e.type === 'state' && e.state === 'writing').length, 1, 'written once');
  const d = await deviceInfo({ port: b.port });
  assert.is(d.runningSlot, before.runningSlot);
  assert.is(d.slots[1 - before.runningSlot!]!.state, 'rejected');
  assert.is(d.slots[1 - before.runningSlot!]!.version, '3.2.0');
});

s('tampered, truncated, wrongly signed and untrusted images are refused before the device is touched', async () => {
  if (skip !== null) return skipTest(`flash simulator: ${skip}`);
  const before = await deviceInfo({ port: b.port });
  const flashFile = readFileSync(join(b.dir, 'flash.bin'));
  const v4 = release('4.0.0');
  const tampered = v4.image.slice();
  tampered[100] ^= 1;
  const codeOf = (f: () => unknown): number => { try { f(); return 0; } catch (e) { return (e as { code: number }).code; } };
  assert.is(codeOf(() => checkImage(tampered, v4.manifest, { trustedKeys: [pub] })), 704);
  assert.is(codeOf(() => checkImage(v4.image.subarray(0, 4000), v4.manifest, { trustedKeys: [pub] })), 716);
  const other = ed25519.utils.randomSecretKey();
  const untrusted = signManifest(buildManifest(v4.image, { version: '4.0.0', board: 'sim' }), other);
  assert.is(codeOf(() => checkImage(v4.image, untrusted, { trustedKeys: [pub] })), 714);
  const forged = untrusted.slice();
  forged.set(ed25519.getPublicKey(secret), 64); // claims the trusted key, signature by another
  assert.is(codeOf(() => checkImage(v4.image, forged, { trustedKeys: [pub] })), 713);
  const unsigned = buildManifest(v4.image, { version: '4.0.0', board: 'sim' });
  assert.is(codeOf(() => checkImage(v4.image, unsigned, { trustedKeys: [pub] })), 712);
  assert.is(codeOf(() => checkImage(v4.image, unsigned, { trustedKeys: [], insecure: true })), 0, '--insecure accepts it');
  // Refusals by the device: another board, too large (the host checks too, before BEGIN).
  const wrongBoard = signManifest(buildManifest(v4.image, { version: '4.0.0', board: 'mps2-an385' }), secret);
  const err = await flashImage({ port: b.port, image: v4.image, manifest: wrongBoard }).catch((e: unknown) => e as { code: number });
  assert.is((err as { code: number }).code, 703);
  const huge = new Uint8Array(200 * 1024);
  const err2 = await flashImage({ port: b.port, image: huge, manifest: buildManifest(huge, { version: '4.0.0', board: 'sim' }) }).catch((e: unknown) => e as { code: number });
  assert.is((err2 as { code: number }).code, 702);
  // Refused from INFO alone: the app kept running, nothing was written.
  const after = await deviceInfo({ port: b.port });
  assert.is(after.mode, 'app');
  assert.is(after.runningSlot, before.runningSlot);
  assert.equal(after.slots, before.slots, 'slots untouched');
  assert.is(after.activeSlot, before.activeSlot);
  const now = readFileSync(join(b.dir, 'flash.bin'));
  assert.ok(now.equals(flashFile), 'flash byte-identical, state record included');
});

s('no bootloader on the line: BootNoAnswer (715) with a fix that says how to get into boot mode', async () => {
  if (skip !== null) return skipTest(`flash simulator: ${skip}`);
  const lone = await startPtyPair();
  try {
    const err = await deviceInfo({ port: lone.pathB, timeoutMs: 200 }).catch((e: unknown) => e as { code: number });
    assert.is((err as { code: number }).code, 715);
    const v = release('5.0.0');
    const e2 = await flashImage({ port: lone.pathB, ...v, requestTimeoutMs: 200 }).catch((e: unknown) => e as { code: number; detail?: { fix?: string } });
    assert.is((e2 as { code: number }).code, 715);
    assert.match(String((e2 as { detail?: { fix?: string } }).detail?.fix), /boot button/);
  } finally {
    await lone.close();
  }
});

s(`${Number(process.env.CELL_FLASH_BREAKS ?? 50)} flashes broken at a random point (link unplugged or device power-cycled): the device always boots a valid image`, async () => {
  if (skip !== null) return skipTest(`flash simulator: ${skip}`);
  const N = Number(process.env.CELL_FLASH_BREAKS ?? 50);
  const rand = prng(0xf1a5);
  const known = new Map<string, number>(); // version → its release
  let last = await deviceInfo({ port: b.port });
  let completed = 0, failed = 0, resumedWithChunks = 0, resumes = 0;
  const outcomes: string[] = [];
  for (let i = 0; i < N; i++) {
    const version = `6.${i}.0`;
    const rel = release(version, 1024 + Math.floor(rand() * 4096)); // 9-13 KiB: ~100-150 ms on the line at 921600
    known.set(version, i);
    const mode = rand() < 0.5 ? 'link' : 'reset';
    const atMs = Math.floor(rand() * 300);
    const events: FlashEvent[] = [];
    const tIter = performance.now();
    const run = flashImage({ port: b.port, ...rel, paceBaud: 921600, onEvent: (e) => events.push(e), requestTimeoutMs: 300 })
      .then((r) => ({ ok: true as const, r }), (e: unknown) => ({ ok: false as const, e: e as { code?: number; message?: string } }));
    await sleep(atMs);
    if (mode === 'link') await b.pty.restart(); else await b.dev.powerCycle();
    const res = await run;
    resumes += events.filter((e) => e.type === 'resume').length;
    if (events.some((e) => e.type === 'state' && e.state === 'resuming' && ((e.detail as { received?: number }).received ?? 0) > 0)) resumedWithChunks++;
    // Whatever happened: the device must run a valid image — the new one or the one before.
    let d: DeviceInfo = await deviceInfo({ port: b.port, timeoutMs: 500 }).catch(async () => {
      await sleep(500);
      return deviceInfo({ port: b.port }).catch((e: Error) => {
        throw new Error(`flash ${i} (${mode} at ${atMs} ms, ${res.ok ? 'ok' : `${res.e.code} ${res.e.message}`}): ${e.message}\n${b.dev.log.slice(-1500)}`);
      });
    });
    if (d.mode !== 'app') {
      // Left in the bootloader (reset right after ENTER_BOOT): a power cycle boots the app.
      const n = b.dev.boots.length;
      await b.dev.powerCycle();
      const ev = await b.dev.waitBoot(n);
      assert.is(ev.mode, 'app', `flash ${i}: boots an app after a power cycle\n${b.dev.log.slice(-1500)}`);
      d = await deviceInfo({ port: b.port });
    }
    const running = d.slots[d.runningSlot!]!;
    assert.is(running.state, 'valid', `flash ${i}`);
    const prev = last.slots[last.runningSlot!]!.version;
    if (res.ok) {
      completed++;
      assert.is(running.version, version, `flash ${i} succeeded: runs ${version}`);
      assert.not.ok(d.trialRunning, `flash ${i}: confirmed`);
    } else {
      failed++;
      assert.ok(running.version === version || running.version === prev, `flash ${i} (${mode} at ${atMs} ms, ${res.e.code} ${res.e.message}): runs ${running.version}, expected ${version} or ${prev}`);
      if (d.trialRunning) {
        // Cut between RESET and CONFIRM: left on trial, the next reset rolls back.
        const n = b.dev.boots.length;
        await b.dev.powerCycle();
        const ev = await b.dev.waitBoot(n);
        assert.is(ev.version, last.slots[last.runningSlot!]!.version === prev ? ev.version : ev.version);
        d = await deviceInfo({ port: b.port });
      }
    }
    outcomes.push(`${mode}@${atMs}:${res.ok ? 'ok' : res.e.code}:${Math.round(performance.now() - tIter)}ms`);
    last = d;
  }
  if (process.env.CELL_FLASH_VERBOSE) console.log(outcomes.join('\n'));
  console.log(`  ${N} broken flashes: ${completed} completed (resumed ${resumes} times, ${resumedWithChunks} resumed a partial transfer), ${failed} failed cleanly`);
  assert.ok(completed > N / 2, `most flashes complete by resuming: ${outcomes.join(' ')}`);
  assert.ok(resumedWithChunks > 0, 'some resumed a partial transfer');
});

s.run();
