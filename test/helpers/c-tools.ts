// For the tests that build C with the host compiler and the arm toolchain (the device's AEAD,
// firmware/runtime/cell-aead.c; the bootloader's Ed25519, firmware/boot/ed25519/): which tools
// this machine has, and one temporary directory per test file, removed when the process exits.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether `cmd --version` runs. */
export function toolRuns(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { encoding: 'utf8' }).status === 0;
}

export const haveCc = toolRuns('cc');
export const haveArm = toolRuns('arm-none-eabi-gcc');
export const haveQemu = toolRuns('qemu-system-arm');

/** A function giving the same new temporary directory (prefix `cell-<name>-`) on every call. */
export function tempDirOnce(name: string): () => string {
  let dir: string | null = null;
  return () => {
    if (dir === null) {
      const d = mkdtempSync(join(tmpdir(), `cell-${name}-`));
      dir = d;
      process.on('exit', () => rmSync(d, { recursive: true, force: true }));
    }
    return dir;
  };
}
