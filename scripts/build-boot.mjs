#!/usr/bin/env node
// The native bootloader (docs/flash.md §10) for the boards mps2-an385 and lm3s6965evb (<board>);
// per board:
//   build/firmware/boot-<board>.elf           the bootloader (firmware/boot/native.ts → asc → wasm2c
//                                             → gcc with firmware/boot/qemu/boot-main.c and the Ed25519
//                                             verifier firmware/boot/ed25519/); qemu -kernel. Without a
//                                             trusted key: a development bootloader (no signature check)
//   build/firmware/boot-<board>-<key8>.elf    the same with a trusted publisher key built in
//                                             (<key8>: its first 8 hex digits): verifies signatures
//   build/firmware/thermo-<board>-slot.elf    the thermo app linked for the execution region
//   build/firmware/thermo-<board>-slot.bin    … as a raw image for a slot (what `cell flash` sends)
//   build/firmware/boot-test-{fault,hang,hang-nmi}-<board>.bin  test images that fault or hang
//                                             before they could be confirmed (firmware/boot/qemu/test-app.c)
// The lm3s6965evb bootloader above is the qemu build (its flash a host file over semihosting,
// firmware/boot/lm3s/flash-semihost.c); the silicon build (the chip's flash controller,
// firmware/boot/lm3s/flash-lm3s.c; never run on a chip) is boot-lm3s6965evb-silicon[-<key8>].elf.
// Uses the thermo object scripts/build-firmware.mjs compiles (it is built first if needed).
//
// Usage: node scripts/build-boot.mjs [--board <board>] [--trusted-key <hex | file.pub>] [--recovery-ms <n>] [--json] [--force]
//   Without --board: every board (--json: an array of results; with --board: that board's object).
//   The trusted key may also come from CELL_BOOT_TRUSTED_KEY (hex or a .pub file); --trusted-key wins.
//   --recovery-ms (or CELL_BOOT_RECOVERY_MS): the power-on recovery window, default 300, 0 = none;
//   a non-default length is built as boot-…-w<n>.elf.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ASC_FLAGS, CC_FLAGS, LD_FLAGS, buildFirmware, checkTools, footprint, mtime, newestMtime as newest, run } from './build-firmware.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = join(root, 'build', 'firmware');
const work = join(outDir, 'boot');
const rtDir = join(root, 'firmware', 'runtime');
const qDir = join(root, 'firmware', 'boot', 'qemu');
const edDir = join(root, 'firmware', 'boot', 'ed25519');
const lmDir = join(root, 'firmware', 'boot', 'lm3s');
/**
 * Per board: the directory of its linker scripts, the board header boot-main.c and boot-app.c
 * include (BOOT_BOARD_H), and its flash backends (name suffix → C file; '' is the one tested).
 */
export const BOOT_BOARDS = {
  'mps2-an385': { dir: qDir, header: 'boot-qemu.h', backends: { '': join(qDir, 'flash-ram.c') } },
  'lm3s6965evb': { dir: lmDir, header: 'boot-lm3s.h', backends: { '': join(lmDir, 'flash-semihost.c'), '-silicon': join(lmDir, 'flash-lm3s.c') } },
};
/** The bootloader's flash budget (its linker scripts hold it to this as well). */
const BOOT_FLASH_BUDGET = 32 * 1024;
/** Static buffer behind the bootloader's wasm memory (its buffers: ~9 KiB). */
const BOOT_WASM_MEM = 16384;
/** The bootloader's stack: its own call depth plus the Ed25519 verification (~1.6 KB, docs/flash.md §10.4). */
const BOOT_STACK = 6144;

/**
 * A trusted key given as 64 hex digits or as a key file (`cell keys gen`'s .pub: the first line
 * that is not a comment). Returns 32 bytes, or null for none. Throws EBUILDFW on anything else.
 */
export function parseTrustedKey(v) {
  if (v === undefined || v === null || v === '') return null;
  let text = String(v).trim();
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    if (!existsSync(text)) throw Object.assign(new Error(`trusted key: "${v}" is neither 64 hex digits nor a key file`), { code: 'EBUILDFW' });
    text = readFileSync(text, 'utf8').split('\n').map((l) => l.replace(/#.*/, '').trim()).find((l) => l.length > 0) ?? '';
    if (!/^[0-9a-fA-F]{64}$/.test(text)) throw Object.assign(new Error(`trusted key: ${v} does not hold 64 hex digits`), { code: 'EBUILDFW' });
  }
  const key = Buffer.from(text, 'hex');
  if (key.every((b) => b === 0)) throw Object.assign(new Error('trusted key: all zero is not a key'), { code: 'EBUILDFW' });
  return new Uint8Array(key);
}

/** Build one board's images; returns paths and footprints. Throws (code EBUILDFW) with a readable message. */
export function buildBootQemu({ board: BOARD = 'mps2-an385', force = false, quiet = true, trustedKey = null, recoveryMs = null } = {}) {
  const cfg = BOOT_BOARDS[BOARD];
  if (cfg === undefined) throw Object.assign(new Error(`board: "${BOARD}" is not one of ${Object.keys(BOOT_BOARDS).join(', ')}`), { code: 'EBUILDFW' });
  const bDir = cfg.dir;
  const boardDefs = [`-DBOOT_BOARD_H="${cfg.header}"`, `-I${bDir}`, `-I${qDir}`, `-I${join(root, 'firmware', 'boot')}`];
  if (recoveryMs !== null && !(Number.isInteger(recoveryMs) && recoveryMs >= 0 && recoveryMs <= 60_000)) {
    throw Object.assign(new Error(`recovery window: ${recoveryMs} is not a whole number of ms in 0..60000`), { code: 'EBUILDFW' });
  }
  const log = quiet ? () => {} : (m) => console.error(m);
  const tools = checkTools();
  // The thermo app object (and its generated code) for this board.
  const [thermo] = buildFirmware({ apps: ['thermo'], boards: [BOARD], quiet });
  mkdirSync(work, { recursive: true });

  // The bootloader.
  const wasm = join(outDir, 'boot.wasm');
  const keyHex = trustedKey === null ? null : Buffer.from(trustedKey).toString('hex');
  // The recovery window (boot-qemu.h BOOT_RECOVERY_MS, default 300 ms): another length, another name.
  const nameOf = (suffix) => (keyHex === null ? `boot-${BOARD}${suffix}` : `boot-${BOARD}${suffix}-${keyHex.slice(0, 8)}`) + (recoveryMs === null ? '' : `-w${recoveryMs}`);
  const bootName = nameOf('');
  const bootElf = join(outDir, `${bootName}.elf`);
  const variants = Object.entries(cfg.backends).map(([suffix, backend]) => ({ suffix, backend, name: nameOf(suffix), elf: join(outDir, `${nameOf(suffix)}.elf`) }));
  const inputs = [join(root, 'firmware', 'boot'), rtDir, join(root, 'src', 'wire'), join(root, 'src', 'framing'),
    join(root, 'src', 'flash', 'boot-wire.ts'), fileURLToPath(import.meta.url)];
  if (force || variants.some((v) => mtime(v.elf) <= newest(inputs))) {
    // The wasm and its C translation do not depend on the key (main() hands it to init()), so
    // keyed and development images share them; per-process temporary names, renamed into place.
    const tag = `tmp-${process.pid}`;
    log(`asc     firmware/boot/native.ts → ${relative(root, wasm)}`);
    run(tools.asc, ['firmware/boot/native.ts', '-o', `${wasm}.${tag}`, ...ASC_FLAGS], 'asc (bootloader)');
    // In a directory of this process (wasm2c names the header after the output: boot.h).
    const hdrDir = join(work, tag);
    mkdirSync(hdrDir, { recursive: true });
    const wc = join(hdrDir, 'boot.c');
    run('wasm2c', [`${wasm}.${tag}`, '-n', 'boot', '-o', wc], 'wasm2c (bootloader)');
    renameSync(`${wasm}.${tag}`, wasm);
    copyFileSync(tools.rtHeader, join(hdrDir, 'wasm-rt.h'));
    const defs = [`-DCELL_WASM_MEM_BYTES=${BOOT_WASM_MEM}`];
    const obj = join(hdrDir, 'boot.o');
    run('arm-none-eabi-gcc', [...CC_FLAGS, ...defs, `-I${hdrDir}`, `-I${rtDir}`, '-w', '-c', '-o', obj, wc], 'gcc (bootloader, generated code)');
    const keyDefs = keyHex === null ? [] : [`-DBOOT_TRUSTED_KEY_BYTES=${Array.from(trustedKey, (b) => `0x${b.toString(16).padStart(2, '0')}`).join(',')}`];
    if (recoveryMs !== null) keyDefs.push(`-DBOOT_RECOVERY_MS=${recoveryMs}u`);
    for (const v of variants) {
      log(`gcc     ${relative(root, v.elf)}${keyHex === null ? ' (development: no trusted key, signatures not checked)' : ` (trusted key ${keyHex})`}`);
      run('arm-none-eabi-gcc', [
        ...CC_FLAGS, ...defs, ...keyDefs, ...boardDefs, '-Wall', '-Wextra', '-Werror', `-I${hdrDir}`, `-I${rtDir}`, `-I${edDir}`, ...LD_FLAGS, `-L${rtDir}`,
        `-Wl,--defsym=_stack_bytes=${BOOT_STACK}`, `-T${join(bDir, `boot-${BOARD}.ld`)}`, `-Wl,-Map=${join(outDir, `${v.name}.map`)}`,
        '-o', `${v.elf}.${tag}`, obj, join(qDir, 'boot-main.c'), v.backend, join(edDir, 'ed25519-verify.c'), join(edDir, 'sha512.c'),
        join(rtDir, 'wasm-rt-bare.c'), join(rtDir, 'cortex-m.c'), join(rtDir, `board-${BOARD}.c`), '-lm',
      ], `gcc (bootloader${v.suffix})`);
      renameSync(`${v.elf}.${tag}`, v.elf);
    }
    rmSync(hdrDir, { recursive: true, force: true });
  }

  // The thermo app for a slot: the same object, another link (execution region, boot service).
  const thermoWork = join(outDir, 'thermo');
  const thermoObj = join(thermoWork, `app-${BOARD}.o`);
  const slotElf = join(outDir, `thermo-${BOARD}-slot.elf`);
  const slotBin = join(outDir, `thermo-${BOARD}-slot.bin`);
  if (force || mtime(slotBin) <= Math.max(mtime(thermoObj), newest([qDir, bDir, rtDir, fileURLToPath(import.meta.url)]))) {
    const defs = [`-DCELL_WASM_MEM_BYTES=${thermo.wasmMemoryBytes}`];
    log(`gcc     ${relative(root, slotElf)}`);
    run('arm-none-eabi-gcc', [
      ...CC_FLAGS, ...defs, ...boardDefs, '-Wall', '-Wextra', '-Werror', `-I${thermoWork}`, `-I${rtDir}`, ...LD_FLAGS, `-L${rtDir}`,
      `-Wl,--defsym=_stack_bytes=${thermo.stack}`, `-T${join(bDir, `app-${BOARD}.ld`)}`, `-Wl,-Map=${join(outDir, `thermo-${BOARD}-slot.map`)}`,
      '-o', `${slotElf}.tmp-${process.pid}`, thermoObj, join(rtDir, 'host.c'), join(rtDir, 'wasm-rt-bare.c'), join(rtDir, 'cortex-m.c'),
      join(rtDir, `board-${BOARD}.c`), join(qDir, 'boot-app.c'), '-lm',
    ], 'gcc (thermo for a slot)');
    renameSync(`${slotElf}.tmp-${process.pid}`, slotElf);
    run('arm-none-eabi-objcopy', ['-O', 'binary', slotElf, `${slotBin}.tmp-${process.pid}`], 'objcopy (thermo slot image)');
    renameSync(`${slotBin}.tmp-${process.pid}`, slotBin);
  }
  // Test images (not shipped): valid vector tables, then a fault or a hang before any confirm
  // (firmware/boot/qemu/test-app.c), for test/firmware/boot-qemu.test.ts.
  const testImages = {};
  for (const [kind, def] of [['fault', 'TEST_APP_FAULT'], ['hang', 'TEST_APP_HANG'], ['hang-nmi', 'TEST_APP_HANG_NMI']]) {
    const elf = join(outDir, `boot-test-${kind}-${BOARD}.elf`);
    const bin = join(outDir, `boot-test-${kind}-${BOARD}.bin`);
    if (force || mtime(bin) <= newest([qDir, bDir, rtDir, fileURLToPath(import.meta.url)])) {
      log(`gcc     ${relative(root, elf)}`);
      run('arm-none-eabi-gcc', [
        ...CC_FLAGS, `-D${def}`, ...boardDefs, '-Wall', '-Wextra', '-Werror', `-I${rtDir}`, ...LD_FLAGS, `-L${rtDir}`,
        `-T${join(bDir, `app-${BOARD}.ld`)}`, '-o', `${elf}.tmp-${process.pid}`, join(qDir, 'test-app.c'), join(rtDir, 'cortex-m.c'),
        join(rtDir, `board-${BOARD}.c`),
      ], `gcc (test image ${kind})`);
      renameSync(`${elf}.tmp-${process.pid}`, elf);
      run('arm-none-eabi-objcopy', ['-O', 'binary', elf, `${bin}.tmp-${process.pid}`], `objcopy (test image ${kind})`);
      renameSync(`${bin}.tmp-${process.pid}`, bin);
    }
    testImages[kind] = relative(root, bin);
  }
  const others = Object.fromEntries(variants.filter((v) => v.suffix !== '').map((v) => [v.suffix.slice(1), { elf: relative(root, v.elf), boot: footprint(v.elf) }]));
  for (const v of variants) {
    const f = footprint(v.elf);
    if (f.flash > BOOT_FLASH_BUDGET) throw Object.assign(new Error(`${relative(root, v.elf)}: flash ${f.flash} B is over the ${BOOT_FLASH_BUDGET} B budget`), { code: 'EBUILDFW' });
  }
  return {
    board: BOARD, testImages, trustedKey: keyHex, variants: others,
    bootElf: relative(root, bootElf), bootWasmBytes: statSync(wasm).size, boot: footprint(bootElf),
    slotElf: relative(root, slotElf), slotBin: relative(root, slotBin), slotBinBytes: statSync(slotBin).size, app: footprint(slotElf),
  };
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const args = process.argv.slice(2);
  try {
    const ki = args.indexOf('--trusted-key');
    if (ki >= 0 && (args[ki + 1] === undefined || args[ki + 1].startsWith('--'))) throw Object.assign(new Error('--trusted-key needs a value: 64 hex digits or a .pub file'), { code: 'EBUILDFW' });
    const trustedKey = parseTrustedKey(ki >= 0 ? args[ki + 1] : process.env.CELL_BOOT_TRUSTED_KEY);
    const wi = args.indexOf('--recovery-ms');
    const wv = wi >= 0 ? args[wi + 1] : process.env.CELL_BOOT_RECOVERY_MS;
    if (wi >= 0 && (wv === undefined || wv.startsWith('--'))) throw Object.assign(new Error('--recovery-ms needs a value (0 disables the window)'), { code: 'EBUILDFW' });
    const recoveryMs = wv === undefined || wv === '' ? null : Number(wv);
    const bi = args.indexOf('--board');
    if (bi >= 0 && (args[bi + 1] === undefined || args[bi + 1].startsWith('--'))) throw Object.assign(new Error(`--board needs a value: ${Object.keys(BOOT_BOARDS).join(', ')}`), { code: 'EBUILDFW' });
    const boards = bi >= 0 ? [args[bi + 1]] : Object.keys(BOOT_BOARDS);
    const rs = boards.map((board) => buildBootQemu({ board, force: args.includes('--force'), quiet: args.includes('--json'), trustedKey, recoveryMs }));
    if (args.includes('--json')) console.log(JSON.stringify(bi >= 0 ? rs[0] : rs, null, 2));
    else {
      const line = (elf, b) => `${elf}: flash ${b.flash} B of ${BOOT_FLASH_BUDGET} (text ${b.text}, data ${b.data}), RAM ${b.ram} B (bss ${b.bss}, stack ${b.stack})`;
      for (const r of rs) {
        console.log(`${line(r.bootElf, r.boot)}; wasm ${r.bootWasmBytes} B`);
        for (const [k, v] of Object.entries(r.variants)) console.log(`${line(v.elf, v.boot)} (${k} build)`);
        console.log(r.trustedKey === null
          ? '  development bootloader: no trusted key, signatures are not checked (--trusted-key <hex|file.pub> or CELL_BOOT_TRUSTED_KEY)'
          : `  verifies signatures: trusted key ${r.trustedKey}`);
        console.log(`${r.slotBin}: ${r.slotBinBytes} B image (${r.slotElf}: flash ${r.app.flash} B, RAM ${r.app.ram} B)`);
      }
    }
  } catch (e) {
    if (e?.code === 'EBUILDFW') {
      console.error(`build-boot: ${e.message}`);
      process.exit(1);
    }
    throw e;
  }
}
