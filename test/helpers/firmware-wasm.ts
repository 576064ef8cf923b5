// Test helpers for firmware apps built to wasm (scripts/build-firmware.mjs --wasm-only): the
// build, and the static call graph of asc's text output that the "poll() never allocates" checks
// walk.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Build firmware app `app` (thermo, thermo-secure, thermo-can) to wasm: its path, or why it cannot be built here. */
export function buildFirmwareWasm(app: string): string | { skip: string } {
  const r = spawnSync(process.execPath, ['scripts/build-firmware.mjs', app, '--wasm-only', '--json'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) {
    const msg = (r.stderr || '').trim();
    if (/toolchain incomplete/.test(msg)) return { skip: msg.replace(/^build-firmware: /, '') };
    throw new Error(`firmware build failed:\n${msg}`);
  }
  return `${root}${(JSON.parse(r.stdout) as { wasm: string }[])[0]!.wasm}`;
}

/** Functions reachable from `from` in the asc text output (.wat): a static call graph. */
export function reachable(wat: string, from: string): Set<string> {
  const calls = new Map<string, string[]>();
  let cur = '';
  for (const line of wat.split('\n')) {
    const f = line.match(/^ \(func (\$\S+)/);
    if (f) { cur = f[1]!; calls.set(cur, []); continue; }
    const c = line.match(/\bcall (\$\S+)/);
    if (c && cur) calls.get(cur)!.push(c[1]!);
  }
  const seen = new Set<string>();
  const visit = (fn: string): void => { if (seen.has(fn)) return; seen.add(fn); for (const g of calls.get(fn) ?? []) visit(g); };
  visit(from);
  return seen;
}
