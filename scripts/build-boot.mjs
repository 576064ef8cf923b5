#!/usr/bin/env node
// The native qemu target of the bootloader (docs/flash.md §10), board mps2-an385:
//   build/firmware/boot-mps2-an385.elf        the bootloader (firmware/boot/native.ts → asc → wasm2c
//                                             → gcc with firmware/boot/qemu/boot-main.c); qemu -kernel
//   build/firmware/thermo-mps2-an385-slot.elf the thermo app linked for the execution region
//   build/firmware/thermo-mps2-an385-slot.bin  … as a raw image for a slot (what `cell flash` sends)
//   build/firmware/boot-test-{fault,hang,hang-nmi}-mps2-an385.bin  test images that fault or hang
//                                             before they could be confirmed (firmware/boot/qemu/test-app.c)
// Uses the thermo object scripts/build-firmware.mjs compiles (it is built first if needed).
//
// Usage: node scripts/build-boot.mjs [--json] [--force]
import { copyFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ASC_FLAGS, CC_FLAGS, LD_FLAGS, buildFirmware, checkTools, footprint, mtime, newestMtime as newest, run } from './build-firmware.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = join(root, 'build', 'firmware');
const work = join(outDir, 'boot');
const rtDir = join(root, 'firmware', 'runtime');
const qDir = join(root, 'firmware', 'boot', 'qemu');
const BOARD = 'mps2-an385';
/** Static buffer behind the bootloader's wasm memory (its buffers: ~9 KiB). */
const BOOT_WASM_MEM = 16384;
const BOOT_STACK = 4096;

/** Build both images; returns paths and footprints. Throws (code EBUILDFW) with a readable message. */
export function buildBootQemu({ force = false, quiet = true } = {}) {
  const log = quiet ? () => {} : (m) => console.error(m);
  const tools = checkTools();
  // The thermo app object (and its generated code) for this board.
  const [thermo] = buildFirmware({ apps: ['thermo'], boards: [BOARD], quiet });
  mkdirSync(work, { recursive: true });

  // The bootloader.
  const wasm = join(outDir, 'boot.wasm');
  const bootElf = join(outDir, `boot-${BOARD}.elf`);
  const inputs = [join(root, 'firmware', 'boot'), rtDir, join(root, 'src', 'wire'), join(root, 'src', 'framing'),
    join(root, 'src', 'flash', 'boot-wire.ts'), fileURLToPath(import.meta.url)];
  if (force || mtime(bootElf) <= newest(inputs)) {
    log(`asc     firmware/boot/native.ts → ${relative(root, wasm)}`);
    run(tools.asc, ['firmware/boot/native.ts', '-o', `${wasm}.tmp-${process.pid}`, ...ASC_FLAGS], 'asc (bootloader)');
    renameSync(`${wasm}.tmp-${process.pid}`, wasm);
    run('wasm2c', [wasm, '-n', 'boot', '-o', join(work, 'boot.c')], 'wasm2c (bootloader)');
    copyFileSync(tools.rtHeader, join(work, 'wasm-rt.h'));
    const defs = [`-DCELL_WASM_MEM_BYTES=${BOOT_WASM_MEM}`];
    const obj = join(work, 'boot.o');
    run('arm-none-eabi-gcc', [...CC_FLAGS, ...defs, `-I${work}`, `-I${rtDir}`, '-w', '-c', '-o', obj, join(work, 'boot.c')], 'gcc (bootloader, generated code)');
    log(`gcc     ${relative(root, bootElf)}`);
    run('arm-none-eabi-gcc', [
      ...CC_FLAGS, ...defs, '-Wall', '-Wextra', '-Werror', `-I${work}`, `-I${rtDir}`, `-I${qDir}`, ...LD_FLAGS, `-L${rtDir}`,
      `-Wl,--defsym=_stack_bytes=${BOOT_STACK}`, `-T${join(qDir, `boot-${BOARD}.ld`)}`, `-Wl,-Map=${join(outDir, `boot-${BOARD}.map`)}`,
      '-o', `${bootElf}.tmp-${process.pid}`, obj, join(qDir, 'boot-main.c'), join(rtDir, 'wasm-rt-bare.c'), join(rtDir, 'cortex-m.c'),
      join(rtDir, `board-${BOARD}.c`), '-lm',
    ], 'gcc (bootloader)');
    renameSync(`${bootElf}.tmp-${process.pid}`, bootElf);
  }

  // The thermo app for a slot: the same object, another link (execution region, boot service).
  const thermoWork = join(outDir, 'thermo');
  const thermoObj = join(thermoWork, `app-${BOARD}.o`);
  const slotElf = join(outDir, `thermo-${BOARD}-slot.elf`);
  const slotBin = join(outDir, `thermo-${BOARD}-slot.bin`);
  if (force || mtime(slotBin) <= Math.max(mtime(thermoObj), newest([qDir, rtDir, fileURLToPath(import.meta.url)]))) {
    const defs = [`-DCELL_WASM_MEM_BYTES=${thermo.wasmMemoryBytes}`];
    log(`gcc     ${relative(root, slotElf)}`);
    run('arm-none-eabi-gcc', [
      ...CC_FLAGS, ...defs, '-Wall', '-Wextra', '-Werror', `-I${thermoWork}`, `-I${rtDir}`, `-I${qDir}`, ...LD_FLAGS, `-L${rtDir}`,
      `-Wl,--defsym=_stack_bytes=${thermo.stack}`, `-T${join(qDir, `app-${BOARD}.ld`)}`, `-Wl,-Map=${join(outDir, `thermo-${BOARD}-slot.map`)}`,
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
    if (force || mtime(bin) <= newest([qDir, rtDir, fileURLToPath(import.meta.url)])) {
      log(`gcc     ${relative(root, elf)}`);
      run('arm-none-eabi-gcc', [
        ...CC_FLAGS, `-D${def}`, '-Wall', '-Wextra', '-Werror', `-I${rtDir}`, `-I${qDir}`, ...LD_FLAGS, `-L${rtDir}`,
        `-T${join(qDir, `app-${BOARD}.ld`)}`, '-o', `${elf}.tmp-${process.pid}`, join(qDir, 'test-app.c'), join(rtDir, 'cortex-m.c'),
        join(rtDir, `board-${BOARD}.c`),
      ], `gcc (test image ${kind})`);
      renameSync(`${elf}.tmp-${process.pid}`, elf);
      run('arm-none-eabi-objcopy', ['-O', 'binary', elf, `${bin}.tmp-${process.pid}`], `objcopy (test image ${kind})`);
      renameSync(`${bin}.tmp-${process.pid}`, bin);
    }
    testImages[kind] = relative(root, bin);
  }
  return {
    testImages,
    bootElf: relative(root, bootElf), bootWasmBytes: statSync(wasm).size, boot: footprint(bootElf),
    slotElf: relative(root, slotElf), slotBin: relative(root, slotBin), slotBinBytes: statSync(slotBin).size, app: footprint(slotElf),
  };
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const args = process.argv.slice(2);
  try {
    const r = buildBootQemu({ force: args.includes('--force'), quiet: args.includes('--json') });
    if (args.includes('--json')) console.log(JSON.stringify(r, null, 2));
    else {
      console.log(`${r.bootElf}: wasm ${r.bootWasmBytes} B, flash ${r.boot.flash} B (text ${r.boot.text}, data ${r.boot.data}), RAM ${r.boot.ram} B (bss ${r.boot.bss}, stack ${r.boot.stack})`);
      console.log(`${r.slotBin}: ${r.slotBinBytes} B image (${r.slotElf}: flash ${r.app.flash} B, RAM ${r.app.ram} B)`);
    }
  } catch (e) {
    if (e?.code === 'EBUILDFW') {
      console.error(`build-boot: ${e.message}`);
      process.exit(1);
    }
    throw e;
  }
}
