// The README's RPC demo: the thermo cell (examples/thermo) driven with the `cell` CLI, as a user
// would type it. Starts the cell in the background, lists and calls its methods, provokes its
// declared error, reads a stream and an event, shows its status and stops it — printing each
// command and its output. Exits 0 when every step did what it should; stops the cell even when a
// step fails. Run: node --import tsx examples/rpc-demo.ts   (docs/cli.md has every command)
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = fileURLToPath(new URL('../bin/cell.mjs', import.meta.url));
const DIR = 'examples/thermo';

interface Step { args: string[]; expect: number; why?: string }

function show(args: string[], background = false): void {
  console.log(`\n$ cell ${args.map((a) => (/^[\w./:-]+$/.test(a) ? a : `'${a}'`)).join(' ')}${background ? ' &' : ''}`);
}

function cell({ args, expect, why }: Step): string {
  show(args);
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8' });
  const out = (r.stdout + r.stderr).trimEnd();
  if (out) console.log(out.replace(/^/gm, '  '));
  const code = r.status ?? -1;
  console.log(`  [exit ${code}${why ? ` — ${why}` : ''}]`);
  if (code !== expect) throw new Error(`\`cell ${args.join(' ')}\` exited ${code}, expected ${expect}`);
  return r.stdout;
}

/** `cell call <dir> alarm --count 1` in the background: resolves with its output once it has one alarm. */
function listenForAlarm(): { ready: Promise<void>; done: Promise<string>; stop(): void } {
  const args = ['call', DIR, 'alarm', '--count', '1', '--deadline', '20000'];
  show(args, true);
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; if (err.includes('listening')) resolve(); });
    child.once('exit', () => reject(new Error(`the listener exited early: ${err}`)));
  });
  child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
  const done = new Promise<string>((resolve) => child.once('close', () => resolve(out)));
  return { ready, done, stop: () => { child.kill('SIGINT'); } };
}

let started = false;
let failed = false;
try {
  console.log('Cell RPC demo: the thermo cell, run and called with the `cell` CLI');
  cell({ args: ['run', DIR], expect: 0, why: 'started in the background; the command returns once the socket answers HELLO' });
  started = true;
  cell({ args: ['call', DIR], expect: 0, why: 'its schema, fetched over the control channel' });
  cell({ args: ['call', DIR, 'read', '{"channel": 1}'], expect: 0 });
  cell({ args: ['call', DIR, 'read', '{"channel": 7}'], expect: 1, why: 'the cell\'s declared error, typed: name, code, payload, hint' });
  cell({ args: ['call', DIR, 'read', '{"channel": "one"}'], expect: 2, why: 'checked against the schema before anything is sent' });
  cell({ args: ['call', DIR, 'samples', '{"channel": 0, "count": 4, "intervalMs": 20}'], expect: 0, why: 'a server stream: one JSON line per item' });
  const listener = listenForAlarm();
  await listener.ready;
  cell({ args: ['call', DIR, 'read', '{"channel": 3}'], expect: 0, why: 'the boiler is above its limit: the cell emits alarm' });
  const timer = setTimeout(() => listener.stop(), 10000);
  const alarm = (await listener.done).trimEnd();
  clearTimeout(timer);
  console.log(`  (the background listener printed) ${alarm}`);
  if (!alarm.includes('"channel":3')) throw new Error('the alarm event did not arrive');
  cell({ args: ['status', DIR], expect: 0 });
  cell({ args: ['logs', DIR, '-n', '3'], expect: 0 });
  cell({ args: ['stop', DIR], expect: 0, why: 'GOODBYE to the clients, socket and pid file removed' });
  started = false;
  console.log('\ndemo ok');
} catch (e) {
  failed = true;
  console.error(`\ndemo failed: ${(e as Error).message}`);
} finally {
  if (started) spawnSync(process.execPath, [bin, 'stop', DIR], { cwd: root, stdio: 'inherit' });
}
process.exit(failed ? 1 : 0);
