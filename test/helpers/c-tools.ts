// For the tests that build C with the host compiler and the arm toolchain (the device's AEAD,
// firmware/runtime/cell-aead.c; the bootloader's Ed25519, firmware/boot/ed25519/): which tools
// this machine has, one temporary directory per test file (removed when the process exits), and
// the deepest stack of a Cortex-M3 build from gcc's call graph.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as assert from 'uvu/assert';
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

/**
 * The deepest stack of the functions compiled into `dir` with gcc `-fstack-usage
 * -fcallgraph-info=su`: frame sizes per function and call edges from every `.ci` file there.
 * `deepest(fn)` gives the bytes of the deepest call path from `fn` and the path; it fails the test
 * on a dynamic frame, on recursion, and on a callee with no frame that is not one of `leaves`
 * (the libc functions the code may call).
 */
export function callGraphStack(dir: string, leaves: readonly string[]): (fn: string) => [number, string[]] {
  const frame = new Map<string, number>();
  const calls = new Map<string, Set<string>>();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.ci'))) {
    const ci = readFileSync(join(dir, f), 'utf8');
    for (const m of ci.matchAll(/node: \{ title: "(?:[^"]*:)?([^":]+)" label: "[^"]*?(?:\\n(\d+) bytes \((static|dynamic)[^)]*\))?"/g)) {
      assert.ok(m[3] !== 'dynamic', `${m[1]}: no dynamic stack`);
      if (m[2] !== undefined) frame.set(m[1]!, Number(m[2]));
    }
    for (const m of ci.matchAll(/edge: \{ sourcename: "(?:[^"]*:)?([^":]+)" targetname: "(?:[^"]*:)?([^":]+)"/g)) {
      if (!calls.has(m[1]!)) calls.set(m[1]!, new Set());
      calls.get(m[1]!)!.add(m[2]!);
    }
  }
  const deepest = (fn: string, seen: string[]): [number, string[]] => {
    assert.ok(!seen.includes(fn), `no recursion (${[...seen, fn].join(' > ')})`);
    const own = frame.get(fn);
    if (own === undefined) {
      assert.ok(leaves.includes(fn), `${fn}: a known leaf`);
      return [0, [fn]];
    }
    let best: [number, string[]] = [0, []];
    for (const c of calls.get(fn) ?? []) {
      const d = deepest(c, [...seen, fn]);
      if (d[0] > best[0]) best = d;
    }
    return [own + best[0], [fn, ...best[1]]];
  };
  return (fn) => deepest(fn, []);
}
