// The bootloader's native qemu target (docs/flash.md §10): firmware/boot/native.ts through asc →
// wasm2c → gcc as the `-kernel` of qemu -M mps2-an385, the thermo app linked for the execution
// region as the slot image (scripts/build-boot.mjs), UART0 on a pty, driven by the host code of
// `cell flash` (flashImage). The bootloader is built with a test key as its trusted key
// (--trusted-key), so every image is signed with it (security version 1, from v4 on 2):
//   blank → v1 (the bootloader answers INFO, receives the image, SHA-256 checked, RESET → app)
//   → v2 through the app's resident boot service (ENTER_BOOT → bootloader), trial, CONFIRM
//   → v3 without CONFIRM, RESET from the app (SYSRESETREQ) → rolled back to v2
//   → qemu `system_reset` (the reset button): still v2, and a typed call answers after each step
//   → a reset in the middle of a transfer: v2 runs on, the flash starts over and v4 is installed
//   → power cycle (a new qemu process over the same flash file): an INFO sent right at power-on
//     is answered by the bootloader, which stays there (the recovery window); RESET → still v4
//   → images that cannot start, each refused with 710 (BootNoTrial) and rolled back to v4 by the
//     device itself: junk without a vector table (the bootloader panics and resets), an app that
//     faults (its fault handler resets), one that hangs with interrupts masked (the watchdog the
//     bootloader armed: NMI → reset), one whose NMI handler hangs too (the watchdog's own reset).
//   → verified boot, through the raw boot protocol (not flashImage, whose host checks would stop
//     these first): unsigned 712, garbage signature 713, another signer 714, a manifest field
//     changed after signing 713, an older security version 717, an image byte flipped after
//     signing 704 at COMMIT — v4 untouched and running after each; a newer signed v5 (security
//     version 3) installs and raises the device's minimum, v4 is then refused (717) and the app
//     keeps running; v4 signed with --allow-downgrade installs.
//   → boot attempts: the fault image installed and marked confirmed in the state record by hand
//     is started exactly 3 times (the record's sequence number counts the writes), then the
//     device falls back to v4 in the other slot and stays there; the hang image the same way,
//     with v4 marked rejected: 3 watchdog resets, then the bootloader answers INFO and stays.
// The "flash" is the machine RAM at 0x21000000, backed by a file (memory-backend-file). The build,
// the signed images and the rig (INFO, flashImage, typed call, raw sessions) are shared with the
// lm3s6965evb suite: boot-rig.ts.
// Skips (with a printed reason) when qemu, the arm toolchain, wabt or serialport are missing.
import { closeSync, openSync, readFileSync, readSync, writeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startQemu, type Qemu } from '../../hw-tests/lib/qemu.ts';
import { loadSerialPort, qemuUnavailable } from '../../hw-tests/lib/targets.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { flashImage, buildManifest, decodeDeviceInfo, type DeviceInfo } from '../../src/flash/index.ts';
import { BootClient } from '../../src/flash/client.ts';
import { OP_BEGIN, OP_COMMIT, OP_INFO, OP_RESET, M_SIGNATURE, M_VERSION, SLOT_REJECTED } from '../../src/flash/boot-wire.ts';
import { openUart } from '../../src/uart/index.ts';
import { BootState, StateStore } from '../../firmware/boot/state.ts';
import { MemFlash } from '../boot/mem-flash.ts';
import { bootRig, buildBoot, codeOf, image, root, sendChunks, sign, PUB_HEX, type Built } from './boot-rig.ts';

const BOARD = 'mps2-an385';

const missing = qemuUnavailable();
const built = missing ? { skip: missing } : buildBoot(BOARD);
const SerialPort = 'skip' in built ? built.skip : await loadSerialPort();

if ('skip' in built || typeof SerialPort === 'string') {
  const why = 'skip' in built ? built.skip : (SerialPort as string);
  console.log(`\n  bootloader under qemu: SKIPPED — ${why.split('\n').join('\n    ')}\n`);
  const s = suite('bootloader under qemu');
  s.skip('flash, reboot into the new image, rollback', () => {});
  s.run();
} else {
  console.log(`  boot-${BOARD}: wasm ${built.bootWasmBytes} B, flash ${built.boot.flash} B, RAM ${built.boot.ram} B; thermo slot image ${built.slotBinBytes} B`);
  const base = new Uint8Array(readFileSync(`${root}${built.slotBin}`));
  assert.is(built.trustedKey, PUB_HEX, 'the bootloader under test trusts the test key');
  /** Security versions: 1 up to v3, 2 for v4, 3 for v5. */
  const secOf = (v: string): number => (v < '4' ? 1 : v < '5' ? 2 : 3);
  const images = Object.fromEntries(['1.0.0', '2.0.0', '3.0.0', '4.0.0', '5.0.0'].map((v) => {
    const img = image(base, v);
    return [v, { image: img, manifest: sign(img, { version: v, board: BOARD, securityVersion: secOf(v) }) }];
  })) as Record<string, { image: Uint8Array; manifest: Uint8Array }>;

  /** The watchdog period the bootloader arms (firmware/boot/qemu/boot-qemu.h). */
  const wdogMs = Number(/#define BOOT_WDOG_MS (\d+)u/.exec(readFileSync(`${root}firmware/boot/qemu/boot-qemu.h`, 'utf8'))![1]);

  const s = suite('bootloader under qemu (mps2-an385)');
  let qemu: Qemu | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'cell-boot-qemu-'));
  const flashFile = join(dir, 'flash.bin');
  const rig = bootRig(() => qemu!);
  const { port, flashOpts, info, typedCall, waitFor, raw, enterBoot } = rig;
  const hold = rig.hold;
  const flash = (v: string, confirm = true) => rig.flash(images[v]!, v, confirm);

  s.before(async () => {
    qemu = await startQemu({
      board: BOARD, elf: `${root}${built.bootElf}`, paused: true,
      extraArgs: ['-object', `memory-backend-file,id=flash,size=16M,mem-path=${flashFile},share=on`, '-machine', 'memory-backend=flash'],
    });
    hold();
    await qemu.cont();
  });
  s.after(async () => {
    rig.release();
    await qemu?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  s('blank: the bootloader answers INFO (board, slot size, no image)', async () => {
    const d = await info();
    assert.is(d.mode, 'bootloader');
    assert.is(d.board, BOARD);
    assert.is(d.maxImageBytes, 64 * 1024);
    assert.is(d.runningSlot, null);
    assert.is(d.activeSlot, null);
  });

  s('flash v1: written, SHA-256 checked, reboot into it, confirmed; a typed call answers', async () => {
    const r = await flash('1.0.0');
    assert.is(r.slot, 1, 'a blank device fills slot 1 (BEGIN takes the slot that is not active)');
    assert.is(r.version, '1.0.0');
    assert.ok(r.confirmed);
    const d = await info();
    assert.is(d.mode, 'app');
    assert.is(d.runningSlot, 1);
    assert.is(d.activeSlot, 1);
    assert.is(d.trialSlot, null);
    assert.is(d.slots[1]!.version, '1.0.0');
    await typedCall();
  });

  s('flash v2 from the running app (ENTER_BOOT): trial in slot 0, CONFIRM makes it permanent', async () => {
    const r = await flash('2.0.0');
    assert.is(r.slot, 0);
    assert.ok(r.confirmed);
    const d = await info();
    assert.is(d.mode, 'app');
    assert.is(d.runningSlot, 0);
    assert.is(d.activeSlot, 0);
    assert.is(d.slots[0]!.version, '2.0.0');
    assert.is(d.slots[1]!.version, '1.0.0');
    await typedCall();
  });

  s('flash v3 without CONFIRM: runs on trial; a reset (RESET from the app: SYSRESETREQ) rolls back to v2', async () => {
    const r = await flash('3.0.0', false);
    assert.is(r.slot, 1);
    assert.not.ok(r.confirmed);
    let d = await info();
    assert.is(d.runningSlot, 1);
    assert.is(d.trialSlot, 1);
    assert.is(d.slots[1]!.version, '3.0.0');
    assert.ok(d.trialRunning);
    // A healthy app feeds the watchdog the bootloader armed from its main loop: well past two
    // periods (NMI, then the watchdog's reset) it still runs on trial — a reset would have rolled
    // it back.
    await new Promise((r) => setTimeout(r, 2.5 * wdogMs));
    d = await info();
    assert.is(d.runningSlot, 1);
    assert.ok(d.trialRunning, 'still on trial after 2.5 watchdog periods');
    // The app's resident boot service answers RESET and the device resets itself.
    const c = new BootClient(await openUart({ path: port() }));
    try { await c.request(OP_RESET, null, 3000); } finally { await c.close(); }
    d = await waitFor('v2 back in slot 0', (x) => x.mode === 'app' && x.runningSlot === 0);
    assert.is(d.activeSlot, 0);
    assert.is(d.trialSlot, null);
    assert.is(d.slots[0]!.version, '2.0.0');
    assert.is(d.slots[1]!.state, 'rejected');
    await typedCall();
  });

  s('qemu system_reset (reset button): the confirmed v2 boots again', async () => {
    await qemu!.reset();
    const d = await waitFor('the app after system_reset', (x) => x.mode === 'app');
    assert.is(d.runningSlot, 0);
    assert.is(d.activeSlot, 0);
    assert.is(d.slots[0]!.version, '2.0.0');
    await typedCall();
  });

  s('a reset in the middle of the transfer: the old image runs on, flashImage starts over and completes', async () => {
    let resetAt = -1;
    const r = await flashImage({
      port: port(), ...images['4.0.0']!, ...flashOpts,
      onEvent: (e) => {
        if (e.type === 'progress' && resetAt < 0 && e.bytesDone > 0 && e.bytesDone < e.bytesTotal) {
          resetAt = e.bytesDone;
          void qemu!.reset();
        }
      },
    });
    assert.ok(resetAt > 0, 'the reset happened during the transfer');
    assert.ok(r.resumes >= 1, `resumed after the reset (resumes ${r.resumes})`);
    console.log(`  reset at ${resetAt} of ${r.imageBytes} B: ${r.resumes} resume(s), ${r.chunksSent} chunks sent, ${r.retransmits} retransmits, ${r.totalMs.toFixed(0)} ms`);
    assert.is(r.slot, 1);
    assert.ok(r.confirmed);
    const d = await info();
    assert.is(d.runningSlot, 1);
    assert.is(d.activeSlot, 1);
    assert.is(d.slots[1]!.version, '4.0.0');
    await typedCall();
  });

  s('power cycle (a new qemu process, the same flash file): a raw INFO right at power-on keeps the device in the bootloader (recovery window); after RESET the confirmed v4 boots', async () => {
    await qemu!.restart(); // a new pty, started paused
    hold();
    const c = new BootClient(await openUart({ path: port() }));
    let held: DeviceInfo | null = null;
    let tries = 0;
    try {
      await qemu!.cont();
      const t0 = performance.now();
      // INFO again every 100 ms until answered: the first answer must come from the bootloader.
      while (held === null && performance.now() - t0 < 10_000) {
        tries++;
        try { held = decodeDeviceInfo(await c.request(OP_INFO, null, 100)); } catch { /* not yet */ }
      }
      assert.ok(held !== null, 'INFO answered after the power cycle');
      console.log(`  power-on: INFO answered after ${(performance.now() - t0).toFixed(0)} ms (${tries} sent), mode ${held!.mode}`);
      assert.is(held!.mode, 'bootloader', 'held in the bootloader by the recovery window');
      assert.is(held!.activeSlot, 1, 'with the confirmed v4 valid and active');
      assert.is(held!.slots[1]!.state, 'valid');
      // It stays there (the window is over, no app was started) …
      await new Promise((r) => setTimeout(r, 600));
      assert.is(decodeDeviceInfo(await c.request(OP_INFO, null, 3000)).mode, 'bootloader');
      // … until RESET: a warm reset has no window.
      await c.request(OP_RESET, null, 3000);
    } finally {
      await c.close();
    }
    const d = await waitFor('the app after the power cycle', (x) => x.mode === 'app');
    assert.is(d.runningSlot, 1);
    assert.is(d.activeSlot, 1);
    assert.is(d.slots[1]!.version, '4.0.0');
    assert.is(d.slots[0]!.version, '2.0.0');
    await typedCall();
  });


  /** Flash an image that cannot start: 710, and the device runs the confirmed v4 again. */
  const refused = async (what: string, img: Uint8Array, version: string): Promise<void> => {
    const states: string[] = [];
    const err = await flashImage({
      port: port(), image: img, manifest: sign(img, { version, board: BOARD, securityVersion: 2 }), ...flashOpts,
      onEvent: (e) => { if (e.type === 'state') states.push(e.state); },
    }).then(() => null, (e: unknown) => e as { code?: number; message?: string });
    assert.ok(err !== null, `${what}: flashImage must fail`);
    assert.is(err!.code, 710, `${what}: BootNoTrial (the device rolled back), got ${err!.code} ${err!.message}\n${qemu?.log ?? ''}`);
    assert.ok(states.includes('rebooting'), `${what}: written, committed and booted (${states.join(' → ')})`);
    console.log(`  ${what}: 710 (${err!.message})`);
    const d = await waitFor('v4 back', (x) => x.mode === 'app');
    assert.is(d.runningSlot, 1);
    assert.is(d.activeSlot, 1);
    assert.is(d.trialSlot, null);
    assert.not.ok(d.trialRunning);
    assert.is(d.slots[1]!.version, '4.0.0');
    assert.is(d.slots[0]!.state, 'rejected');
    assert.is(d.slots[0]!.version, version);
    await typedCall();
  };
  const testImage = (kind: keyof Built['testImages']): Uint8Array => new Uint8Array(readFileSync(`${root}${built.testImages[kind]}`));

  s('an image that cannot start (junk: no vector table): the bootloader resets, the next boot rolls back (710)', async () => {
    await refused('junk', new Uint8Array(4096).map((_, i) => (i * 151 + 7) & 0xff), '9.9.9');
  });

  s('an app that faults before it is confirmed: its fault handler resets, rolled back (710)', async () => {
    await refused('fault', testImage('fault'), '9.9.1');
  });

  s('an app that hangs with interrupts masked: the watchdog (NMI → reset) gets it out, rolled back (710)', async () => {
    await refused('hang', testImage('hang'), '9.9.2');
  });

  s('an app that hangs in its NMI handler too: the watchdog\'s own reset gets it out, rolled back (710)', async () => {
    await refused('hang-nmi', testImage('hang-nmi'), '9.9.3');
  });

  // ---- verified boot through the raw boot protocol ----

  /** The slots as INFO reports them (state, version, size, hash prefix). */
  const slots = (d: DeviceInfo): string => JSON.stringify({ active: d.activeSlot, trial: d.trialSlot, slots: d.slots });
  s('verified boot, raw protocol: unsigned 712, garbage signature 713, another signer 714, a field changed after signing 713, older security version 717, a flipped image byte 704 — v4 untouched and running', async () => {
    const v5 = images['5.0.0']!;
    const garbage = v5.manifest.slice();
    garbage.set(new Uint8Array(64).map((_, i) => (i * 37 + 11) & 0xff), M_SIGNATURE);
    const changed = v5.manifest.slice();
    changed[M_VERSION] ^= 1; // the patch number, after signing
    const cases: [string, Uint8Array, number][] = [
      ['unsigned', buildManifest(v5.image, { version: '5.0.0', board: BOARD, securityVersion: 3 }), 712],
      ['garbage signature', garbage, 713],
      ['another signer', sign(v5.image, { version: '5.0.0', board: BOARD, securityVersion: 3 }, sha256(new TextEncoder().encode('someone else'))), 714],
      ['a field changed after signing', changed, 713],
      ['older security version (v3, properly signed)', images['3.0.0']!.manifest, 717],
    ];
    await raw(async (c) => {
      const before = await enterBoot(c);
      const ms: Record<string, number> = {};
      for (const [what, m, code] of cases) {
        const t0 = performance.now();
        assert.is(await codeOf(c.request(OP_BEGIN, m, 5000)), code, what);
        ms[what] = performance.now() - t0;
      }
      // An image byte flipped after signing: the manifest is genuine (BEGIN passes, the signature
      // is verified), the slot's SHA-256 is not the signed one (COMMIT: 704).
      const tampered = v5.image.slice();
      tampered[100] ^= 0x01;
      const t0 = performance.now();
      assert.is(await codeOf(c.request(OP_BEGIN, v5.manifest, 10_000)), 0, 'BEGIN of the genuine manifest');
      const beginMs = performance.now() - t0;
      await sendChunks(c, tampered);
      assert.is(await codeOf(c.request(OP_COMMIT, null, 10_000)), 704, 'COMMIT of the tampered image');
      console.log(`  BEGIN round trips under qemu: ${Object.entries(ms).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(', ')}; a genuine manifest (verified, slot erased) ${beginMs.toFixed(0)} ms`);
      const after = decodeDeviceInfo(await c.request(OP_INFO, null, 3000));
      assert.is(after.activeSlot, 1);
      assert.equal(after.slots[1], before.slots[1], 'the v4 slot is untouched');
      await c.request(OP_RESET, null, 3000);
    });
    const d = await waitFor('v4 back after the refusals', (x) => x.mode === 'app');
    assert.is(d.runningSlot, 1);
    assert.is(d.slots[1]!.version, '4.0.0');
    assert.is(d.slots[1]!.state, 'valid');
    await typedCall();
  });

  s('verified boot: a newer signed image (v5, security version 3) installs; then v4 is refused (717) and the app keeps running; v4 signed with --allow-downgrade installs', async () => {
    await flash('5.0.0');
    let d = await info();
    assert.is(d.runningSlot, 0);
    assert.is(d.slots[0]!.version, '5.0.0');
    const before = slots(d);
    const err = await flashImage({ port: port(), ...images['4.0.0']!, ...flashOpts }).then(() => null, (e: { code?: number }) => e);
    assert.is(err?.code, 717, 'v4 (security version 2) after v5 (3) was confirmed');
    d = await waitFor('the app after the refusal', (x) => x.mode === 'app');
    assert.is(d.runningSlot, 0);
    assert.is(slots(d), before, 'slots as before');
    await typedCall();
    const down = images['4.0.0']!.image;
    const r = await flashImage({ port: port(), image: down, manifest: sign(down, { version: '4.0.0', board: BOARD, securityVersion: 2, allowDowngrade: true }), ...flashOpts });
    assert.ok(r.confirmed);
    d = await info();
    assert.is(d.slots[d.runningSlot!]!.version, '4.0.0');
    await typedCall();
    // The minimum followed the downgrade down to 2: v3 (security version 1) is still refused.
    const err3 = await flashImage({ port: port(), ...images['3.0.0']!, ...flashOpts }).then(() => null, (e: { code?: number }) => e);
    assert.is(err3?.code, 717);
    await waitFor('the app after the refusal', (x) => x.mode === 'app');
  });

  // ---- boot attempts (docs/flash.md §5.5) ----

  /** The state record in the flash file (pages 0–1 of the RAM at 0x21000000), read and written
   *  through the portable StateStore over a copy. */
  const PAGE_BYTES = 1024;
  const recordPages = (): { mf: MemFlash; st: BootState; store: StateStore } => {
    const mf = new MemFlash(PAGE_BYTES, 2);
    const fd = openSync(flashFile, 'r');
    try { readSync(fd, mf.mem, 0, 2 * PAGE_BYTES, 0); } finally { closeSync(fd); }
    const store = new StateStore(mf);
    const st = new BootState();
    assert.is(store.load(st), 0);
    return { mf, st, store };
  };

  s('boot attempts: a *confirmed* app that faults at every start is started 3 times, then the device falls back to the other slot (v4) and stays there', async () => {
    const img = testImage('fault');
    const manifest = sign(img, { version: '9.9.4', board: BOARD, securityVersion: 2 });
    let seq0 = 0;
    await raw(async (c) => {
      await enterBoot(c);
      assert.is(await codeOf(c.request(OP_BEGIN, manifest, 10_000)), 0);
      await sendChunks(c, img);
      assert.is(await codeOf(c.request(OP_COMMIT, null, 10_000)), 0);
      // Confirmed by hand (as if it had answered CONFIRM once and broke later): the record says
      // active = the fault image, no trial, no start counted.
      const { mf, st, store } = recordPages();
      assert.is(st.trial, 0);
      st.active = st.trial;
      st.trial = 0xff;
      st.flags = 0;
      st.attempts = 0;
      assert.is(store.save(st), 0);
      seq0 = st.seq;
      const fd = openSync(flashFile, 'r+');
      try { writeSync(fd, mf.mem, 0, 2 * PAGE_BYTES, 0); } finally { closeSync(fd); }
      await c.request(OP_RESET, null, 3000);
    });
    const t0 = performance.now();
    let d = await waitFor('the fallback to v4 in slot 1', (x) => x.mode === 'app' && x.runningSlot === 1);
    const ms = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 1500)); // past the app's healthy signal (500 ms)
    d = await info();
    assert.is(d.activeSlot, 1);
    assert.is(d.slots[1]!.version, '4.0.0');
    assert.is(d.slots[0]!.state, 'rejected');
    assert.is(d.slots[0]!.version, '9.9.4');
    const { st } = recordPages();
    // Record writes since the hand-made copy: 3 counted starts of the fault image, the fallback
    // (slot 0 rejected, slot 1 active, its start counted), v4's healthy signal (count back to 0).
    assert.is(st.seq - seq0, 5, `record writes ${st.seq - seq0}: exactly 3 starts of the fault image`);
    assert.is(st.attempts, 0, 'v4 reported healthy');
    console.log(`  confirmed fault image: 3 starts, fallback to v4 in ${ms.toFixed(0)} ms (RESET → INFO from v4)`);
    await typedCall();
    // And it stays there across resets.
    await qemu!.reset();
    d = await waitFor('v4 after system_reset', (x) => x.mode === 'app');
    assert.is(d.runningSlot, 1);
    await typedCall();
  });

  s('boot attempts: a confirmed app that hangs at every start, with no valid fallback: 3 watchdog resets, then the bootloader answers INFO and stays', async () => {
    const img = testImage('hang');
    const manifest = sign(img, { version: '9.9.5', board: BOARD, securityVersion: 2 });
    let seq0 = 0;
    await raw(async (c) => {
      await enterBoot(c);
      assert.is(await codeOf(c.request(OP_BEGIN, manifest, 10_000)), 0);
      await sendChunks(c, img);
      assert.is(await codeOf(c.request(OP_COMMIT, null, 10_000)), 0);
      // Confirmed by hand, and the other slot (v4) made unusable: rejected in the record.
      const { mf, st, store } = recordPages();
      assert.is(st.trial, 0);
      st.slot(1).state = SLOT_REJECTED;
      st.active = st.trial;
      st.trial = 0xff;
      st.flags = 0;
      st.attempts = 0;
      assert.is(store.save(st), 0);
      seq0 = st.seq;
      const fd = openSync(flashFile, 'r+');
      try { writeSync(fd, mf.mem, 0, 2 * PAGE_BYTES, 0); } finally { closeSync(fd); }
      await c.request(OP_RESET, null, 3000);
    });
    const t0 = performance.now();
    // 3 starts, each ended by the watchdog (NMI after 2 s → panic → reset); then the bootloader.
    let d: DeviceInfo | null = null;
    for (let i = 0; i < 80 && d === null; i++) {
      await new Promise((r) => setTimeout(r, 250));
      try { const x = await info(); if (x.mode === 'bootloader') d = x; } catch { /* hung app: no answer */ }
    }
    const ms = performance.now() - t0;
    assert.ok(d !== null, `the bootloader answers INFO (${ms.toFixed(0)} ms)\n${qemu?.log ?? ''}`);
    assert.is(d!.activeSlot, null, 'the hang image given up');
    assert.is(d!.slots[0]!.state, 'rejected');
    assert.is(d!.slots[0]!.version, '9.9.5');
    const { st } = recordPages();
    assert.is(st.seq - seq0, 4, `record writes ${st.seq - seq0}: 3 starts counted, then the give-up`);
    console.log(`  confirmed hang image, no fallback: 3 watchdog resets, bootloader answering after ${ms.toFixed(0)} ms`);
    // It stays there: a reset (warm: no window) boots nothing.
    await qemu!.reset();
    d = await waitFor('the bootloader after system_reset', (x) => x.mode === 'bootloader');
    assert.is(d.activeSlot, null);
  });

  s.run();
}
