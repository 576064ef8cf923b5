// Left-overs of a process that is gone: a stale socket, a pid file of a dead pid, a garbage pid file.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, cli, cliIn, explain, json, tempDir, track } from './helpers.ts';

let dir = '';
let sock = '';
let pidFile = '';

/** A Unix socket file whose server was killed: the file stays, nothing answers. */
function staleSocket(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', "require('net').createServer().listen(process.argv[1], () => console.log('up'))", path], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.once('data', () => { child.kill('SIGKILL'); });
    child.once('exit', () => (existsSync(path) ? resolve() : reject(new Error('no socket file left'))));
  });
}
/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

const stale = suite('stale sockets and pid files');
stale.before(async () => {
  dir = track(join(tempDir(), 'leftover'));
  assert.is((await cliIn(['new', 'leftover', '--dir', dir])).code, 0);
  mkdirSync(join(dir, '.cell', 'run'), { recursive: true });
  sock = join(dir, '.cell', 'run', 'cell.sock');
  pidFile = join(dir, '.cell', 'run', 'cell.pid');
});
stale.after(cleanup);

stale('status reports a dead pid and a stale socket as stale, removes them, exits 1', async () => {
  await staleSocket(sock);
  const pid = deadPid();
  writeFileSync(pidFile, JSON.stringify({ pid, name: 'leftover', version: '0.1.0', socket: sock, startedAt: new Date().toISOString(), node: process.version }));
  const r = await cliIn(['status', dir, '--json']);
  assert.is(r.code, 1);
  const [s] = json<{ state: string; pid: number; removed: string[] }[]>(r);
  assert.is(s!.state, 'stale');
  assert.is(s!.pid, pid);
  assert.ok(s!.removed.includes(sock) && s!.removed.includes(pidFile));
  assert.not.ok(existsSync(sock));
  assert.not.ok(existsSync(pidFile));
});

stale('call on a stale socket: Unavailable, says the socket is stale', async () => {
  await staleSocket(sock);
  const r = await cliIn(['call', dir, 'add', '{"a":1,"b":2}']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /Unavailable \(code 401\): nothing answers at .*a stale socket/);
});

stale('run removes a stale socket and a garbage pid file, then serves (debug level: every call logged)', async () => {
  writeFileSync(pidFile, 'not json');
  const r = await cli(['run', dir, '--log-level', 'debug']);
  assert.is(r.code, 0, explain(r));
  assert.match(r.stderr, /removed files left by a previous run/);
  const c = await cliIn(['call', dir, 'add', '{"a":1,"b":2}', '--json']);
  assert.is(c.stdout, '{"sum":3}\n');
  const lines = (await cliIn(['logs', dir, '--json'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const call = lines.find((l) => l.msg === 'call');
  assert.ok(call !== undefined, 'a debug line per call');
  assert.is(call!.method, 'add');
  assert.is(call!.ok, true);
});

stale('stop of a cell whose process is gone cleans up and exits 0', async () => {
  assert.is((await cli(['stop', dir])).code, 0);
  writeFileSync(pidFile, JSON.stringify({ pid: deadPid(), name: 'leftover', version: '0.1.0', socket: sock, startedAt: new Date().toISOString(), node: process.version }));
  const r = await cliIn(['stop', dir]);
  assert.is(r.code, 0);
  assert.match(r.stdout, /not running \(removed stale files/);
  assert.not.ok(existsSync(pidFile));
});

stale('a cell that fails to load: run exits 1 and shows the error', async () => {
  writeFileSync(join(dir, 'cell.ts'), "export default { cell: 1 };\n");
  const r = await cli(['run', dir]);
  assert.is(r.code, 1, explain(r));
  assert.match(r.stderr, /StartFailed: leftover exited during start-up/);
  assert.match(r.stderr, /CellLoadError: .*default export has no `cell`/);
  assert.not.ok(existsSync(pidFile));
});

stale('a bad cell.toml names the file and the key', async () => {
  writeFileSync(join(dir, 'cell.toml'), 'name = "leftover"\nentry = "missing.ts"\n');
  const r = await cliIn(['run', dir]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /BadCellToml: .*cell\.toml: entry "missing\.ts" does not exist/);
  writeFileSync(join(dir, 'cell.toml'), 'name = "leftover\n');
  const s = await cliIn(['status', dir, '--json']);
  assert.match(s.stdout, /cell\.toml:1:\d+/);
});

stale.run();
