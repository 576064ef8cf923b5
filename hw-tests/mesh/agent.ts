// The child side of an agent (protocol in agent-client.ts): loads an ops module and runs its
// functions on request. Usage, normally inside a namespace (netns.ts spawnAgent):
//   node --import tsx hw-tests/mesh/agent.ts <ops-module.ts> [args...]
// The ops module exports `ops: Record<string, (args, ctx) => unknown>` and optionally
// `shutdown(): Promise<void>` (called when stdin ends or on SIGTERM).
// stdout is the protocol channel: console.log/info/debug are sent to stderr so a library that
// prints cannot break a line.
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface OpsContext {
  /** Send an unsolicited event to the test. */
  emit(event: string, data?: unknown): void;
  /** Arguments after the ops module on the command line. */
  argv: string[];
}
export type Op = (args: any, ctx: OpsContext) => unknown;
export interface OpsModule { ops: Record<string, Op>; shutdown?: () => Promise<void> | void }

const write = (msg: unknown): void => { process.stdout.write(JSON.stringify(msg) + '\n'); };
for (const k of ['log', 'info', 'debug'] as const) console[k] = (...a: unknown[]) => console.error(...a);

const [modPath, ...argv] = process.argv.slice(2);
if (modPath === undefined) {
  console.error('usage: agent.ts <ops-module> [args...]');
  process.exit(2);
}
const mod = (await import(pathToFileURL(resolve(modPath)).href)) as OpsModule;
const ctx: OpsContext = { emit: (event, data) => write({ event, data }), argv };

function errorJson(e: unknown): { code?: number; name: string; message: string } {
  const x = e as { code?: unknown; name?: unknown; message?: unknown };
  return {
    code: typeof x?.code === 'number' ? x.code : undefined,
    name: typeof x?.name === 'string' ? x.name : 'Error',
    message: typeof x?.message === 'string' ? x.message : String(e),
  };
}

let quitting = false;
async function quit(code: number): Promise<void> {
  if (quitting) return;
  quitting = true;
  const hard = setTimeout(() => process.exit(code), 3000);
  hard.unref();
  try { await mod.shutdown?.(); } catch (e) { console.error('shutdown:', e); }
  process.exit(code);
}
process.on('SIGTERM', () => void quit(0));

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let req: { id: number; op: string; args?: unknown };
  try { req = JSON.parse(line) as typeof req; } catch { console.error('agent: not JSON:', line); return; }
  const fn = mod.ops[req.op];
  if (fn === undefined) { write({ id: req.id, ok: false, error: { name: 'UnknownOp', message: `no op "${req.op}"` } }); return; }
  Promise.resolve()
    .then(() => fn(req.args ?? {}, ctx))
    .then((result) => write({ id: req.id, ok: true, result: result ?? null }), (e) => write({ id: req.id, ok: false, error: errorJson(e) }));
});
rl.on('close', () => void quit(0));
write({ ready: true, pid: process.pid });
