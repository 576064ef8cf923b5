// The portable bootloader's state machine (firmware/boot/loader.ts, state.ts; docs/flash.md §5),
// run in Node over a RAM flash that can lose power at any erase or program.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sha256 } from '@noble/hashes/sha2.js';
import { MemFlash, PowerCut } from './mem-flash.ts';
import { makeLoader, call, install, bootAndConfirm, chunkPayload, PAGE, SLOT_PAGES, CHUNK } from './boot-driver.ts';
import { BootLayout } from '../../firmware/boot/flash.ts';
import { Sha256 } from '../../firmware/boot/sha256.ts';
import { BOOT_STAY } from '../../firmware/boot/loader.ts';
import { buildManifest } from '../../src/flash/manifest.ts';
import {
  OP_BEGIN, OP_CHUNK, OP_COMMIT, OP_CONFIRM, OP_ENTER_BOOT, OP_INFO, OP_STATUS, SLOT_REJECTED, SLOT_VALID,
  BootInfo, decodeInfo, MODE_APP,
} from '../../src/flash/boot-wire.ts';
import { prng } from '../helpers/prng.ts';

const pages = new BootLayout(PAGE, SLOT_PAGES).totalPages();

function image(tag: number, n: number): Uint8Array {
  const r = prng(tag);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

const V1 = image(1, 3000);
const V2 = image(2, 3500);
const M1 = buildManifest(V1, { version: '1.0.0', board: 'sim' });
const M2 = buildManifest(V2, { version: '2.0.0', board: 'sim' });

/** What runs after a boot, checked against the flash: the slot's image hashes to its record. */
function runningVersion(flash: MemFlash): number {
  const bl = makeLoader(flash);
  const s = bl.boot();
  if (s < 0) return -1;
  assert.ok(bl.verifySlot(s), 'the chosen slot verifies');
  bl.enterApp(s);
  assert.is(bl.healthy(), 0, 'and the app reports healthy (its start count back to 0)');
  return bl.state.slot(s).version >>> 24;
}

/** A reset after which the app runs and reports healthy: the slot run. */
function healthyBoot(flash: MemFlash): number {
  const bl = makeLoader(flash);
  const s = bl.boot();
  if (s >= 0) { bl.enterApp(s); bl.healthy(); }
  return s;
}

const sha = suite('firmware/boot/sha256.ts');
sha('matches @noble/hashes on lengths around the block boundaries, fed in uneven pieces', () => {
  const h = new Sha256();
  for (const n of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 4097]) {
    const b = image(n + 10, n);
    h.init();
    for (let off = 0; off < n; off += 37) h.update(b, off, Math.min(37, n - off));
    const d = new Uint8Array(32);
    h.final(d, 0);
    assert.equal(d, sha256(b), `n=${n}`);
  }
});
sha.run();

const sm = suite('bootloader: install, trial, confirm, rollback');

sm('a blank device stays in the bootloader; the first image boots on trial and becomes active on CONFIRM', () => {
  const f = new MemFlash(PAGE, pages);
  const bl = makeLoader(f);
  assert.is(bl.boot(), BOOT_STAY);
  install(bl, V1, M1);
  const s = bl.boot();
  assert.is(bl.state.trial, s);
  bl.enterApp(s);
  const info = new BootInfo();
  const r = call(bl, OP_INFO);
  assert.is(decodeInfo(r.payload, 0, r.payload.length, info), 64);
  assert.is(info.mode, MODE_APP);
  assert.is(info.flags & 1, 1, 'trial running');
  assert.ok(call(bl, OP_CONFIRM).ok);
  assert.is(bl.state.active, s);
  assert.is(bl.state.trial, 0xff);
  assert.is(runningVersion(f), 1);
  assert.is(f.overwrites, 0, 'never programs a byte that was not erased');
});

sm('a trial that is not confirmed is rolled back at the next reset, and the slot is marked rejected', () => {
  const f = new MemFlash(PAGE, pages);
  let bl = makeLoader(f);
  bl.boot();
  install(bl, V1, M1);
  bootAndConfirm(bl);
  bl = makeLoader(f);
  bl.boot();
  bl.enterApp(0);
  assert.ok(call(bl, OP_ENTER_BOOT).ok);
  assert.is(bl.action, 1, 'ENTER_BOOT resets');
  bl = makeLoader(f);
  assert.is(bl.boot(), BOOT_STAY, 'ENTER_BOOT: the next boot stays in the bootloader');
  install(bl, V2, M2);
  bl = makeLoader(f);
  const t = bl.boot();
  assert.is(bl.state.slot(t).version >>> 24, 2, 'the trial runs');
  bl = makeLoader(f); // reset without CONFIRM
  const back = bl.boot();
  assert.is(bl.state.slot(back).version >>> 24, 1, 'rolled back');
  assert.is(bl.state.slot(t).state, SLOT_REJECTED);
  assert.is(healthyBoot(f), back, 'and stays there');
  assert.is(healthyBoot(f), back);
  assert.is(healthyBoot(f), back);
});

sm('refusals leave the device as it was: wrong board, too large, bad CRC, bad offset, incomplete, not in boot mode', () => {
  const f = new MemFlash(PAGE, pages);
  let bl = makeLoader(f);
  bl.boot();
  install(bl, V1, M1);
  bootAndConfirm(bl);
  bl = makeLoader(f);
  const s = bl.boot();
  bl.enterApp(s);
  assert.is(call(bl, OP_BEGIN, M2).code, 707, 'BEGIN while the app runs');
  // The bootloader with the state loaded, without the STAY flag's record write: boot(), no enterApp().
  bl = makeLoader(f);
  bl.boot();
  const before = f.mem.slice();
  const other = buildManifest(V2, { version: '2.0.0', board: 'other-board' });
  assert.is(call(bl, OP_BEGIN, other).code, 703);
  const huge = buildManifest(new Uint8Array(PAGE * SLOT_PAGES + 1), { version: '2.0.0', board: 'sim' });
  assert.is(call(bl, OP_BEGIN, huge).code, 702);
  assert.is(call(bl, OP_CHUNK, chunkPayload(V2, 0)).code, 705, 'CHUNK without BEGIN');
  assert.is(call(bl, OP_COMMIT).code, 705);
  assert.is(call(bl, OP_BEGIN, M2.subarray(0, 100)).code, 711, 'a truncated manifest');
  assert.equal(f.mem, before, 'nothing written so far');
  assert.ok(call(bl, OP_BEGIN, M2).ok);
  const bad = chunkPayload(V2, 0);
  bad[20] ^= 1;
  assert.is(call(bl, OP_CHUNK, bad).code, 701, 'chunk CRC');
  assert.is(call(bl, OP_CHUNK, chunkPayload(V2, 100)).code, 709, 'unaligned offset');
  const short = chunkPayload(V2, 0).subarray(0, 50);
  assert.is(call(bl, OP_CHUNK, short).code, 709, 'a cut chunk: its length does not fit the image');
  assert.ok(call(bl, OP_CHUNK, chunkPayload(V2, 0)).ok);
  assert.ok(call(bl, OP_CHUNK, chunkPayload(V2, 0)).ok, 'a duplicate is acknowledged, not rewritten');
  assert.is(call(bl, OP_COMMIT).code, 706);
  const st = call(bl, OP_STATUS);
  assert.is(st.payload[10], 1, 'one chunk received');
  assert.is(st.payload[12], 1, 'bitmap: chunk 0');
  assert.is(f.overwrites, 0);
  // The active image is untouched by all this.
  assert.is(runningVersion(f), 1);
});

sm('COMMIT refuses an image whose SHA-256 differs from the manifest (every chunk CRC was right)', () => {
  const f = new MemFlash(PAGE, pages);
  const bl = makeLoader(f);
  bl.boot();
  const lie = buildManifest(V2, { version: '2.0.0', board: 'sim' });
  lie[40] ^= 0xff; // another hash
  assert.ok(call(bl, OP_BEGIN, lie).ok);
  for (let off = 0; off < V2.length; off += CHUNK) assert.ok(call(bl, OP_CHUNK, chunkPayload(V2, off)).ok);
  assert.is(call(bl, OP_COMMIT).code, 704);
  assert.is(makeLoader(f).boot(), BOOT_STAY, 'nothing bootable was made of it');
});

sm('power cut at every flash operation of a whole update (BEGIN, chunks, COMMIT, trial boot, CONFIRM): always boots v1 or v2', () => {
  // Reference run: how many erase/program operations an update takes.
  const base = new MemFlash(PAGE, pages);
  let bl = makeLoader(base);
  bl.boot();
  install(bl, V1, M1);
  bootAndConfirm(bl);
  const start = base.mem.slice();
  const update = (f: MemFlash): void => {
    let b = makeLoader(f);
    b.boot();
    b.state.flags |= 1; // as if ENTER_BOOT: in the bootloader
    b = makeLoader(f);
    b.boot();
    install(b, V2, M2);
    b = makeLoader(f);
    bootAndConfirm(b);
  };
  const ref = new MemFlash(PAGE, pages);
  ref.mem.set(start);
  update(ref);
  const total = ref.ops;
  assert.ok(total > 20, `${total} operations`);
  let sawV1 = 0;
  let sawV2 = 0;
  for (let k = 0; k <= total; k++) {
    const f = new MemFlash(PAGE, pages);
    f.mem.set(start);
    f.budget = k;
    try {
      update(f);
    } catch (e) {
      if (!(e instanceof PowerCut)) throw e;
    }
    f.budget = -1;
    // Power back: it must boot a valid image, and keep doing so across resets (a trial that was
    // cut before CONFIRM rolls back on the next one).
    for (let reset = 0; reset < 3; reset++) {
      const v = runningVersion(f);
      assert.ok(v === 1 || v === 2, `cut after ${k} ops, reset ${reset}: runs v${v}`);
      if (reset === 2) { if (v === 1) sawV1++; else sawV2++; }
    }
    // And a new update over whatever is left works.
    const g = makeLoader(f);
    const s = g.boot();
    g.enterApp(s);
    if (g.state.trial === s) call(g, OP_CONFIRM);
    const h = makeLoader(f);
    h.boot();
    h.state.flags = 0;
    assert.is(f.overwrites, 0, `cut after ${k}: no program over unerased bytes`);
  }
  assert.ok(sawV1 > 0 && sawV2 > 0, `both outcomes occur (v1 ${sawV1}, v2 ${sawV2})`);
});

sm('a corrupt state record: the other (older) copy is used; both gone: nothing boots without a record', () => {
  const f = new MemFlash(PAGE, pages);
  let bl = makeLoader(f);
  bl.boot();
  install(bl, V1, M1);
  bootAndConfirm(bl);
  bl = makeLoader(f);
  const s = bl.boot();
  bl.enterApp(s);
  assert.ok(call(bl, OP_ENTER_BOOT).ok); // copy N: STAY set
  bl = makeLoader(f);
  assert.is(bl.boot(), BOOT_STAY); // copy N+1: STAY cleared
  const page = bl.state.page;
  f.mem[page * PAGE + 30] ^= 0x40; // corrupt the newest copy
  assert.is(makeLoader(f).boot(), BOOT_STAY, 'copy N (STAY set) is back in force');
  assert.is(runningVersion(f), 1, 'then the app runs again');
  f.mem.fill(0xff, 0, 2 * PAGE); // both copies erased
  const g = makeLoader(f);
  assert.is(g.boot(), BOOT_STAY, 'no record: nothing is trusted without its hash in a record');
  assert.is(g.state.s0.state === SLOT_VALID || g.state.s1.state === SLOT_VALID, false);
});

sm.run();
