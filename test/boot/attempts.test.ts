// Boot attempts (firmware/boot/loader.ts boot()/healthy(); docs/flash.md §5.5): a *confirmed*
// app that never reports healthy (it faults, hangs into the watchdog, resets before its main loop
// gets going) is started BootConfig.maxAttempts times, then given up: the other slot if it is
// valid, verified and not below the anti-rollback minimum, else the bootloader. The count lives
// in the state record (byte 109) and is written before each jump, so a power cut at any flash
// operation of this bookkeeping neither bricks the device nor grants an extra start.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { MemFlash, PowerCut } from './mem-flash.ts';
import { makeLoader, call, install, bootAndConfirm, PAGE, SLOT_PAGES, CHUNK } from './boot-driver.ts';
import { BootLayout } from '../../firmware/boot/flash.ts';
import { BOOT_STAY, type Bootloader } from '../../firmware/boot/loader.ts';
import { buildManifest, signManifest } from '../../src/flash/manifest.ts';
import { OP_CONFIRM, OP_ENTER_BOOT, OP_INFO, SLOT_REJECTED, SLOT_VALID, BootInfo, decodeInfo } from '../../src/flash/boot-wire.ts';
import { prng } from '../helpers/prng.ts';

const pages = new BootLayout(PAGE, SLOT_PAGES).totalPages();
const MAX = 3;

function image(tag: number, n: number): Uint8Array {
  const r = prng(tag);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}
const V1 = image(21, 3000);
const V2 = image(22, 2600);
const V3 = image(23, 2200);
const M1 = buildManifest(V1, { version: '1.0.0', board: 'sim' });
const M2 = buildManifest(V2, { version: '2.0.0', board: 'sim' });
const M3 = buildManifest(V3, { version: '3.0.0', board: 'sim' });

/** A reset; the app started (if any) either crashes before it is healthy or reports healthy. */
function start(f: MemFlash, healthy: boolean, mk: (f: MemFlash) => Bootloader = makeLoader): number {
  const bl = mk(f);
  const s = bl.boot();
  if (s >= 0) {
    bl.enterApp(s);
    if (healthy) assert.is(bl.healthy(), 0);
  }
  return s;
}
const major = (f: MemFlash, s: number, mk: (f: MemFlash) => Bootloader = makeLoader): number => {
  const bl = mk(f);
  bl.boot();
  return bl.state.slot(s).version >>> 24;
};

/** v1 confirmed in slot 1, then v2 confirmed in slot 0: both slots valid, v2 active. */
function twoImages(): MemFlash {
  const f = new MemFlash(PAGE, pages);
  let bl = makeLoader(f);
  bl.boot();
  install(bl, V1, M1);
  assert.is(bootAndConfirm(makeLoader(f)), 1);
  bl = makeLoader(f);
  bl.boot();
  bl.enterApp(1);
  assert.ok(call(bl, OP_ENTER_BOOT).ok);
  bl = makeLoader(f);
  assert.is(bl.boot(), BOOT_STAY);
  install(bl, V2, M2);
  assert.is(bootAndConfirm(makeLoader(f)), 0);
  return f;
}

const t = suite('boot attempts: a confirmed app that never gets healthy is given up');

t(`crashing at every start: started exactly ${MAX} times, then the other slot; that one crashing too: ${MAX} starts, then the bootloader for good`, () => {
  const f = twoImages();
  const starts: number[] = [];
  for (let i = 0; i < 12; i++) starts.push(start(f, false));
  assert.equal(starts, [0, 0, 0, 1, 1, 1, -1, -1, -1, -1, -1, -1]);
  const bl = makeLoader(f);
  assert.is(bl.boot(), BOOT_STAY);
  assert.is(bl.state.s0.state, SLOT_REJECTED, 'v2 given up');
  assert.is(bl.state.s1.state, SLOT_REJECTED, 'v1 given up');
  assert.is(bl.state.active, 0xff);
  // INFO from the bootloader says so; a new image over the UART recovers the device.
  const info = new BootInfo();
  const r = call(bl, OP_INFO);
  decodeInfo(r.payload, 0, r.payload.length, info);
  assert.is(info.activeSlot, 0xff);
  install(bl, V3, M3);
  const s = bootAndConfirm(makeLoader(f));
  assert.is(major(f, s), 3);
  assert.is(start(f, true), s, 'v3 runs and reports healthy');
  assert.is(f.overwrites, 0);
});

t('the fallback is the previous image while it is valid: v2 crashing, v1 healthy → v1 stays active', () => {
  const f = twoImages();
  for (let i = 0; i < MAX; i++) assert.is(start(f, false), 0);
  for (let i = 0; i < 10; i++) assert.is(start(f, true), 1, `v1, start ${i}`);
  assert.is(major(f, 1), 1);
});

t(`only one image: ${MAX} starts, then the bootloader (a record write per boot, none more)`, () => {
  const f = new MemFlash(PAGE, pages);
  const bl = makeLoader(f);
  bl.boot();
  install(bl, V1, M1);
  assert.is(bootAndConfirm(makeLoader(f)), 1);
  const ops0 = f.ops;
  for (let i = 0; i < MAX; i++) assert.is(start(f, false), 1);
  assert.is(f.ops - ops0, MAX * 2, 'one erase + one program per counted start');
  assert.is(start(f, false), BOOT_STAY);
  assert.is(start(f, false), BOOT_STAY);
});

t('a healthy signal resets the count: crash, crash, healthy, crash, crash, healthy … never falls back', () => {
  const f = twoImages();
  for (let round = 0; round < 5; round++) {
    assert.is(start(f, false), 0);
    assert.is(start(f, false), 0);
    assert.is(start(f, true), 0);
  }
  const bl = makeLoader(f);
  bl.boot();
  assert.is(bl.state.attempts, 1, 'the start just counted');
  bl.enterApp(0);
  const ops = f.ops;
  assert.is(bl.healthy(), 0);
  assert.is(bl.state.attempts, 0);
  assert.is(bl.healthy(), 0, 'a second signal');
  assert.is(f.ops - ops, 2, 'writes once (erase + program), the second signal writes nothing');
});

t('a trial is not counted (it has its single start) and its CONFIRM is a healthy signal', () => {
  const f = twoImages();
  assert.is(start(f, false), 0);
  assert.is(start(f, false), 0); // two starts of v2 counted
  let bl = makeLoader(f);
  bl.boot();
  bl.enterApp(0);
  bl.healthy();
  assert.ok(call(bl, OP_ENTER_BOOT).ok);
  bl = makeLoader(f);
  assert.is(bl.boot(), BOOT_STAY);
  install(bl, V3, M3); // into slot 1 (not active)
  bl = makeLoader(f);
  assert.is(bl.boot(), 1);
  assert.is(bl.state.attempts, 0, 'the trial start did not count');
  bl.enterApp(1);
  assert.is(bl.healthy(), 0, 'a healthy signal from a trial does nothing…');
  assert.is(bl.state.trial, 1, '…and does not confirm it');
  assert.ok(call(bl, OP_CONFIRM).ok);
  assert.is(bl.state.active, 1);
  assert.is(bl.state.attempts, 0);
  for (let i = 0; i < MAX; i++) assert.is(start(f, false), 1);
  assert.is(start(f, false), 0, 'then v2 (still valid) takes over');
});

t('the anti-rollback minimum holds for the fallback: a crashing v2 (security 2) does not fall back to v1 (security 1)', () => {
  const SECRET = sha256(new TextEncoder().encode('cell boot test key'));
  const PUB = ed25519.getPublicKey(SECRET);
  const keyed = (f: MemFlash): Bootloader => makeLoader(f, CHUNK, PUB);
  const f = new MemFlash(PAGE, pages);
  let bl = keyed(f);
  bl.boot();
  install(bl, V1, signManifest(buildManifest(V1, { version: '1.0.0', board: 'sim', securityVersion: 1 }), SECRET));
  assert.is(bootAndConfirm(keyed(f)), 1);
  bl = keyed(f);
  bl.boot();
  bl.enterApp(1);
  call(bl, OP_ENTER_BOOT);
  bl = keyed(f);
  bl.boot();
  install(bl, V2, signManifest(buildManifest(V2, { version: '2.0.0', board: 'sim', securityVersion: 2 }), SECRET));
  assert.is(bootAndConfirm(keyed(f)), 0);
  for (let i = 0; i < MAX; i++) assert.is(start(f, false, keyed), 0);
  bl = keyed(f);
  assert.is(bl.boot(), BOOT_STAY, 'v1 is below the minimum: the bootloader, not v1');
  assert.is(bl.state.s1.state, SLOT_VALID, 'v1 is still there');
  assert.is(bl.state.minSecurityVersion, 2);
});

t('maxAttempts 0: no limit and no record write at boot', () => {
  const f = new MemFlash(PAGE, pages);
  const mk = (g: MemFlash): Bootloader => { const b = makeLoader(g); b.config.maxAttempts = 0; return b; };
  const bl = mk(f);
  bl.boot();
  install(bl, V1, M1);
  bootAndConfirm(mk(f));
  const ops = f.ops;
  for (let i = 0; i < 10; i++) assert.is(start(f, false, mk), 1);
  assert.is(f.ops, ops);
});

t('power cut at every flash operation of the bookkeeping (counted starts, the fallback, healthy): never bricked, never an extra start', () => {
  // Scenario: v2 (slot 0, active) crashes at every start; v1 (slot 1) is healthy. Uncut, it is
  // 3 starts of v2, then v1 for good. Cut at operation k, then power back and go on the same way.
  const base = twoImages();
  const start0 = base.mem.slice();
  const run = (f: MemFlash, log: number[], n: number): void => {
    for (let i = 0; i < n; i++) {
      const bl = makeLoader(f);
      const s = bl.boot();
      if (s < 0) { log.push(s); continue; }
      log.push(s); // a start: the jump happened (every write before it returned)
      bl.enterApp(s);
      if (s === 1) bl.healthy(); // v1 gets going; v2 crashes before its healthy signal
    }
  };
  const ref = new MemFlash(PAGE, pages);
  ref.mem.set(start0);
  const refLog: number[] = [];
  run(ref, refLog, 6);
  assert.equal(refLog, [0, 0, 0, 1, 1, 1]);
  const total = ref.ops;
  assert.ok(total >= 12, `${total} operations`);
  for (let k = 0; k <= total; k++) {
    const f = new MemFlash(PAGE, pages);
    f.mem.set(start0);
    f.budget = k;
    const log: number[] = [];
    try {
      run(f, log, 6);
    } catch (e) {
      if (!(e instanceof PowerCut)) throw e;
    }
    f.budget = -1;
    run(f, log, 8);
    const v2Starts = log.filter((s) => s === 0).length;
    assert.ok(v2Starts <= MAX, `cut after ${k} ops: v2 started ${v2Starts} times`);
    assert.ok(!log.includes(BOOT_STAY), `cut after ${k} ops: never stuck in the bootloader (${log.join(',')})`);
    assert.equal(log.slice(-5), [1, 1, 1, 1, 1], `cut after ${k} ops: ends on v1 (${log.join(',')})`);
    assert.is(f.overwrites, 0, `cut after ${k}: no program over unerased bytes`);
  }
});

t.run();

const w = suite('recovery window, the portable part: prepare() and hold()');

w('prepare() loads the record and rolls a started trial back (what boot() would do first); INFO then shows it; hold() spends a STAY flag', () => {
  const f = twoImages();
  let bl = makeLoader(f);
  bl.boot();
  bl.enterApp(0);
  assert.ok(call(bl, OP_ENTER_BOOT).ok);
  bl = makeLoader(f);
  assert.is(bl.boot(), BOOT_STAY);
  install(bl, V3, M3); // slot 1, trial
  assert.is(makeLoader(f).boot(), 1); // the trial starts (TRIAL_STARTED saved), then the power goes
  bl = makeLoader(f);
  assert.is(bl.prepare(), 0);
  const info = new BootInfo();
  const r = call(bl, OP_INFO);
  decodeInfo(r.payload, 0, r.payload.length, info);
  assert.is(info.mode, 1, 'bootloader');
  assert.is(info.trialSlot, 0xff, 'the started trial is rolled back');
  assert.is(info.slot1.state, SLOT_REJECTED);
  assert.is(info.activeSlot, 0);
  // A STAY flag pending (ENTER_BOOT from the app, then a power cycle and a frame in the window).
  bl = makeLoader(f);
  assert.is(bl.boot(), 0);
  bl.enterApp(0);
  bl.healthy();
  assert.ok(call(bl, OP_ENTER_BOOT).ok);
  bl = makeLoader(f);
  assert.is(bl.prepare(), 0);
  assert.is(bl.state.flags & 1, 1);
  assert.is(bl.hold(), 0);
  assert.is(bl.state.flags & 1, 0, 'spent');
  assert.is(makeLoader(f).boot(), 0, 'so the next reset boots the app');
  // Without a trial or STAY, prepare() and hold() write nothing.
  const ops = f.ops;
  bl = makeLoader(f);
  assert.is(bl.prepare(), 0);
  assert.is(bl.hold(), 0);
  assert.is(f.ops, ops);
});

w.run();
