// End to end, as a user types it: new → run → call → status → logs → stop, in a temp dir.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { shmAddonStatus } from '../../src/transports/shm/native.ts';
import { join } from 'node:path';
import { BIN, cleanup, cli, cliIn, explain, json, tempDir, track } from './helpers.ts';

const life = suite('cell new → run → call → status → logs → stop');

async function until(cond: () => boolean, maxMs = 10000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > maxMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
let cwd = '';
let dir = '';
life.before(() => { cwd = tempDir(); dir = track(join(cwd, 'hello')); });
life.after(cleanup);

life('new writes a cell directory that imports cell/* outside the repo', async () => {
  const r = await cli(['new', 'hello'], { cwd });
  assert.is(r.code, 0, explain(r));
  for (const f of ['cell.toml', 'schema.ts', 'cell.ts', 'test/cell.test.ts', 'README.md', 'package.json', '.gitignore']) assert.ok(existsSync(join(dir, f)), f);
  assert.match(readFileSync(join(dir, 'schema.ts'), 'utf8'), /from 'cell\/rpc'/);
  assert.match(readFileSync(join(dir, 'cell.toml'), 'utf8'), /name = "hello"/);
});

life('new refuses a bad name and a non-empty directory (exit 2)', async () => {
  assert.is((await cliIn(['new', '7up', '--dir', join(cwd, 'x')])).code, 2);
  const r = await cliIn(['new', 'hello', '--dir', dir]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /exists and is not empty/);
});

life('run starts it in the background and returns once it answers', async () => {
  const r = await cli(['run', 'hello', '--json'], { cwd });
  assert.is(r.code, 0, explain(r));
  const info = json<{ name: string; pid: number; socket: string }>(r);
  assert.is(info.name, 'hello');
  assert.is(info.socket, join(dir, '.cell', 'run', 'cell.sock'));
  assert.ok(existsSync(info.socket));
  assert.is(JSON.parse(readFileSync(join(dir, '.cell', 'run', 'cell.pid'), 'utf8')).pid, info.pid);
});

life('run refuses a second instance while the first is live (exit 1)', async () => {
  const r = await cli(['run', 'hello'], { cwd });
  assert.is(r.code, 1, explain(r));
  assert.match(r.stderr, /AlreadyRunning: hello is already running \(pid \d+\)/);
  assert.match(r.stderr, /fix: /);
});

life('call prints the answer as JSON', async () => {
  const r = await cliIn(['call', dir, 'greet', '{"who": "world"}']);
  assert.is(r.code, 0, explain(r));
  assert.equal(json(r), { text: 'hello, world', count: 1 });
  const c = await cliIn(['call', dir, 'add', '{"a": 2, "b": 40}', '--json']);
  assert.is(c.stdout, '{"sum":42}\n');
});

life('call moves to shared memory where the addon is built; --no-shm stays on the socket', async () => {
  const log = join(dir, '.cell', 'log', 'cell.log');
  const lines = (): Record<string, unknown>[] => readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  // Connections are numbered: look only at those opened by the two calls below (describe + call each).
  const firstConn = 1 + Math.max(0, ...lines().filter((l) => l.msg === 'connect').map((l) => l.conn as number));
  const segments = (): string[] => readdirSync('/dev/shm').filter((f) => f.startsWith(`cell-${process.getuid!()}-`));
  const segmentsBefore = new Set(segments());
  const r = await cliIn(['call', dir, 'add', '{"a": 1, "b": 2}', '--json']);
  assert.is(r.stdout, '{"sum":3}\n');
  const n = await cliIn(['call', dir, 'add', '{"a": 2, "b": 2}', '--json', '--no-shm']);
  assert.is(n.stdout, '{"sum":4}\n');
  const ours = (): Record<string, unknown>[] => lines().filter((l) => l.msg === 'disconnect' && (l.conn as number) >= firstConn);
  await until(() => ours().length >= 4);
  const viaShm = ours().filter((l) => l.shm === 'shm').map((l) => l.conn);
  // Only the first call's call connection moved: describe() stays on the socket, --no-shm offers nothing.
  assert.equal(viaShm, shmAddonStatus().available ? [firstConn + 1] : [], JSON.stringify(ours()));
  assert.equal(segments().filter((f) => !segmentsBefore.has(f)), [], 'segments left in /dev/shm');
});

life('call without a method lists methods, streams and events', async () => {
  const r = await cliIn(['call', dir]);
  assert.is(r.code, 0);
  assert.match(r.stdout, /method greet\(struct GreetReq\{who:string<32>\}\) -> struct Greeting\{text:string<64>,count:u32\}   errors: emptyName=1001/);
  assert.match(r.stdout, /stream count\(/);
  assert.match(r.stdout, /event  greeted: /);
});

life('a declared error: name, code, hint and fix, exit 1', async () => {
  const r = await cli(['call', dir, 'greet', '{"who": ""}']);
  assert.is(r.code, 1, explain(r));
  assert.match(r.stderr, /cell call: emptyName \(code 1001\)/);
  assert.match(r.stderr, /hint: an error declared by the cell/);
  assert.match(r.stderr, /fix: +the cell refused the call/);
  const j = await cliIn(['call', dir, 'greet', '{"who": ""}', '--json']);
  assert.is(j.code, 1);
  assert.equal(json<{ error: { name: string; code: number; exit: number } }>(j).error.code, 1001);
  assert.equal(json<{ error: { name: string } }>(j).error.name, 'emptyName');
});

life('bad JSON and a wrong field are usage errors (exit 2) naming the field', async () => {
  let r = await cli(['call', dir, 'greet', '{who: 1}']);
  assert.is(r.code, 2, explain(r));
  assert.match(r.stderr, /BadArgument: argument: not valid JSON/);
  r = await cliIn(['call', dir, 'add', '{"a": 1, "b": "two"}']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /AddReq\.b: expected i32 \(-2147483648\.\.2147483647\), got "two"/);
  r = await cliIn(['call', dir, 'add', '{"a": 1}']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /AddReq\.b: missing field/);
});

life('an unknown method is UnknownMethod (403), exit 1, with a suggestion', async () => {
  const r = await cliIn(['call', dir, 'gret', '{}']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /UnknownMethod \(code 403\): hello has no method, stream or event "gret" \(did you mean "greet"\?\)/);
  assert.match(r.stderr, /pick one of: greet, add, count, greeted/);
});

life('a stream prints JSON lines; --count stops early', async () => {
  let r = await cliIn(['call', dir, 'count', '{"from": 5, "count": 3}']);
  assert.is(r.code, 0, explain(r));
  assert.is(r.stdout, '{"n":5}\n{"n":6}\n{"n":7}\n');
  r = await cliIn(['call', dir, 'count', '{"from": 0, "count": 1000}', '--count', '2']);
  assert.is(r.stdout, '{"n":0}\n{"n":1}\n');
});

life('a socket path and an unreachable target work as targets', async () => {
  const r = await cliIn(['call', `unix:${join(dir, '.cell', 'run', 'cell.sock')}`, 'add', '{"a":1,"b":1}', '--json']);
  assert.is(r.stdout, '{"sum":2}\n');
  const u = await cliIn(['call', '127.0.0.1:1', 'add']);
  assert.is(u.code, 1);
  assert.match(u.stderr, /Unavailable \(code 401\)/);
});

life('status shows it running with the calls it served', async () => {
  const r = await cliIn(['status', dir, '--json']);
  assert.is(r.code, 0, explain(r));
  const [s] = json<{ state: string; name: string; pid: number; callsIn: number; errorsOut: number; connections: number }[]>(r);
  assert.is(s!.state, 'running');
  assert.is(s!.name, 'hello');
  assert.ok(s!.callsIn >= 6, `callsIn ${s!.callsIn}`);
  assert.ok(s!.errorsOut >= 2);
  const h = await cliIn(['status', dir]);
  assert.match(h.stdout, /hello 0\.1\.0 {2}running \(pid \d+, up /);
});

life('logs: start and connection lines for people, raw JSON lines with --json', async () => {
  const r = await cliIn(['logs', dir]);
  assert.is(r.code, 0);
  assert.match(r.stdout, /INFO  start  version=0\.1\.0 socket=/);
  assert.match(r.stdout, /INFO  connect  conn=1 via=unix/);
  const j = await cliIn(['logs', dir, '--json', '-n', '2']);
  const lines = j.stdout.trim().split('\n').map((l) => JSON.parse(l) as { time: string; level: string; msg: string; cell: string });
  assert.is(lines.length, 2);
  for (const l of lines) { assert.is(l.cell, 'hello'); assert.ok(l.time && l.level && l.msg); }
});

life('logs --follow prints new lines as they are written, until SIGINT', async () => {
  const child = spawn(process.execPath, [BIN, 'logs', dir, '--follow', '--json', '-n', '1'], {
    env: { ...process.env, CELL_CLI_FROM_SOURCE: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const seen = (re: RegExp, from = 0): Promise<void> => new Promise((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`no ${re} in: ${out}`)), 60000);
    const look = (): void => { if (re.test(out.slice(from))) { clearTimeout(guard); child.stdout.off('data', look); resolve(); } };
    child.stdout.on('data', look);
    look();
  });
  child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
  try {
    await seen(/"msg"/);
    const before = out.length;
    assert.is((await cliIn(['call', dir, 'add', '{"a":1,"b":1}'])).code, 0);
    await seen(/"msg":"disconnect"[^\n]*"calls":1/, before); // the connection that made the call
    assert.match(out.slice(before), /"msg":"connect"/);
  } finally {
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGINT');
    assert.is(await exited, 0);
  }
});

life('stop: GOODBYE, socket and pid file gone, status says stopped (exit 1)', async () => {
  const r = await cli(['stop', 'hello'], { cwd });
  assert.is(r.code, 0, explain(r));
  assert.match(r.stdout, /hello stopped \(pid \d+\)/);
  assert.not.ok(existsSync(join(dir, '.cell', 'run', 'cell.sock')));
  assert.not.ok(existsSync(join(dir, '.cell', 'run', 'cell.pid')));
  const s = await cliIn(['status', dir, '--json']);
  assert.is(s.code, 1);
  assert.is(json<{ state: string }[]>(s)[0]!.state, 'stopped');
  assert.match((await cliIn(['logs', dir])).stdout, /INFO  stop  reason=SIGTERM/);
  const again = await cliIn(['stop', dir]);
  assert.is(again.code, 0);
  assert.match(again.stdout, /hello is not running/);
});

life('call after stop: Unavailable with the fix to start it', async () => {
  const r = await cliIn(['call', dir, 'add', '{"a":1,"b":1}']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /Unavailable \(code 401\): no socket at .*the cell is not running/);
  assert.match(r.stderr, /fix: +start it: `cell run /);
});

life('cell test runs the scaffold\'s tests', async () => {
  const r = await cli(['test', dir]);
  assert.is(r.code, 0, explain(r));
  // Node 20 prints TAP ("# pass 5") when not on a TTY, Node 22+ its spec reporter ("ℹ pass 5").
  assert.match(r.stdout, /(#|ℹ) pass 5/);
});

life.run();
