// Helpers of the demos (examples/mesh-demo.ts, examples/secure-demo.ts): `cell gateway --json`
// in the background with its events as they come, and a `cell` command run as a user types it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = fileURLToPath(new URL('../../bin/cell.mjs', import.meta.url));
export const quote = (a: string): string => (/^[\w./:=-]+$/.test(a) ? a : `'${a}'`);

export interface GatewayEvent { event: string; [k: string]: unknown }

/** `cell gateway ... --json` in the background; its events, one JSON line each, as they come. */
export function startGateway(devicePath: string, dir: string, extra: string[] = []): { child: ChildProcess; next(name: string, timeoutMs: number): Promise<GatewayEvent> } {
  // --schema: the firmware has no room for its schema JSON; the gateway serves it for the device
  // (checked against the device's HELLO keys), so callers anywhere need no schema file.
  const args = ['gateway', '--uart', devicePath, '--max-frame', '512', '--schema', 'firmware/thermo/gen/schema.json', '--listen', '/ip4/127.0.0.1/tcp/0',
    '--no-quic', '--no-mdns', '--dir', dir, '--json', ...extra];
  console.log(`\n$ cell ${args.map(quote).join(' ')} &`);
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const seen: GatewayEvent[] = [];
  const waiters: (() => void)[] = [];
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try { seen.push(JSON.parse(line) as GatewayEvent); } catch { return; }
    for (const w of waiters.splice(0)) w();
  });
  const taken = new Set<number>();
  return {
    child,
    /** The first event of that name not taken yet (events of other names may come in between). */
    next(name, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the gateway sent no "${name}" within ${timeoutMs} ms\n${stderr}`)), timeoutMs);
        const look = (): void => {
          const i = seen.findIndex((e, k) => e.event === name && !taken.has(k));
          if (i >= 0) { taken.add(i); clearTimeout(timer); resolve(seen[i]!); return; }
          if (child.exitCode !== null) { clearTimeout(timer); reject(new Error(`the gateway exited (${child.exitCode})\n${stderr}`)); return; }
          waiters.push(look);
        };
        look();
      });
    },
  };
}

/**
 * A `cell` command in its own process, as a user types it; prints its output. Throws when it
 * exits other than `expect` (0 unless said).
 */
export function cell(args: string[], env: Record<string, string>, expect = 0): void {
  const shownEnv = Object.entries(env).map(([k, v]) => `${k}=${quote(v)} `).join('');
  console.log(`\n$ ${shownEnv}cell ${args.map(quote).join(' ')}`);
  const started = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
  const out = (r.stdout + r.stderr).trimEnd();
  if (out) console.log(out.replace(/^/gm, '  '));
  console.log(`  [exit ${r.status} after ${((performance.now() - started) / 1000).toFixed(1)} s, process start and module loading included]`);
  if (r.status !== expect) throw new Error(`\`cell ${args.join(' ')}\` exited ${r.status}`);
}
