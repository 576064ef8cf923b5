// The checks of test/systemd/vm.test.ts, run inside the micro-VM by the unit cell-test-driver.service
// (as root, under systemd as PID 1; bundled by esbuild on the host, run with the host's node). The
// shipped systemd/cell-gateway.service is installed as docs/gateway.md §4 says, unchanged (its
// device is a pty, which DevicePolicy=closed allows). One `CASE <json>` line per check goes to
// /cell-job/cases; progress to the console. Order: boot → device → `systemctl enable --now` →
// running as cell/dialout → a mesh call by name → SIGKILL restarts it → a bad config (exit 2) is
// not restarted → good config again → `systemctl stop` (SIGTERM, drain, exit 0, journal).
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';

const J = '/cell-job';
const UNIT = 'cell-gateway.service';
const ALIAS = 'greenhouse-thermo';
const CONFIG = '/etc/cell/gateway.toml';
const HANG_MS = 120_000; // a hang guard, not a timing assertion
const t0 = Date.now();

const log = (s: string): void => { console.log(`vm-driver +${Date.now() - t0} ms: ${s}`); };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, cwd: '/tmp', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function systemctl(...args: string[]): void {
  const r = run('systemctl', args);
  if (r.status !== 0) throw new Error(`systemctl ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
}

/** `systemctl show` properties of the gateway unit. */
function show(): Record<string, string> {
  const r = run('systemctl', ['show', UNIT, '-p', 'ActiveState,SubState,MainPID,NRestarts,Result,ExecMainStatus,ExecMainCode,InvocationID']);
  return Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

interface Entry { invocation: string; uid: string; ident: string; message: string; line: Record<string, unknown> | null }

/** The gateway unit's journal (`journalctl -u … -o json`): each entry, its message parsed when it is JSON. */
function journal(): Entry[] {
  const r = run('journalctl', ['-u', UNIT, '-o', 'json', '--no-pager']);
  return r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => {
    const e = JSON.parse(l) as Record<string, unknown>;
    const m = e['MESSAGE'];
    const message = typeof m === 'string' ? m : Array.isArray(m) ? Buffer.from(m as number[]).toString('utf8') : '';
    let line: Record<string, unknown> | null = null;
    if (message.startsWith('{')) { try { line = JSON.parse(message) as Record<string, unknown>; } catch { /* not JSON */ } }
    return { invocation: String(e['_SYSTEMD_INVOCATION_ID'] ?? e['INVOCATION_ID'] ?? ''), uid: String(e['_UID'] ?? ''), ident: String(e['SYSLOG_IDENTIFIER'] ?? ''), message, line };
  });
}

/** The gateway's JSON lines of one start of the unit. */
const linesOf = (invocation: string): Record<string, unknown>[] =>
  journal().filter((e) => e.invocation === invocation && e.line !== null).map((e) => e.line!);

async function until<T>(what: string, fn: () => T | undefined | null | false, timeoutMs = HANG_MS): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() - start > timeoutMs) {
      throw new Error(`${what}: not within ${timeoutMs} ms\n${run('systemctl', ['status', UNIT, '--no-pager', '-n', '30']).stdout}`);
    }
    await sleep(300);
  }
}

/** Waits for the `announced` line of the unit's current start; returns that start's id and its lines. */
async function announced(): Promise<{ invocation: string; lines: Record<string, unknown>[] }> {
  return until('the gateway announces the device', () => {
    const s = show();
    if (s['ActiveState'] === 'failed') throw new Error(`the unit failed:\n${run('journalctl', ['-u', UNIT, '-o', 'cat', '--no-pager', '-n', '40']).stdout}`);
    const lines = linesOf(s['InvocationID']!);
    return lines.some((l) => l['event'] === 'announced' && l['cell'] === ALIAS) ? { invocation: s['InvocationID']!, lines } : undefined;
  });
}

function report(name: string, ok: boolean, extra: Record<string, unknown>): void {
  appendFileSync(`${J}/cases`, `CASE ${JSON.stringify({ name, ok, ...extra })}\n`);
  log(`${ok ? 'ok' : 'FAILED'} ${name} ${JSON.stringify(extra).slice(0, 600)}`);
}

let failed = 0;
async function check(name: string, fn: () => Promise<Record<string, unknown> | void>): Promise<void> {
  const start = Date.now();
  try {
    const extra = (await fn()) ?? {};
    report(name, true, { ms: Date.now() - start, ...extra });
  } catch (e) {
    failed++;
    report(name, false, { ms: Date.now() - start, error: (e as Error).stack ?? String(e) });
  }
}

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

/** uid, gid and supplementary groups of a process (/proc/<pid>/status). */
function creds(pid: number): { uid: number[]; gid: number[]; groups: number[] } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const nums = (k: string) => (new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '').trim().split(/\s+/).filter((x) => x !== '').map(Number);
  return { uid: nums('Uid'), gid: nums('Gid'), groups: nums('Groups') };
}

const idOf = (db: 'passwd' | 'group', name: string): number => Number(run('getent', [db, name]).stdout.split(':')[2]);

const uptimeS = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
const cellUid = idOf('passwd', 'cell');
const cellGid = idOf('group', 'cell');
const dialout = idOf('group', 'dialout');
let nodeAddr = '';

await check('boot', async () => {
  const comm = readFileSync('/proc/1/comm', 'utf8').trim();
  assert(comm === 'systemd', `PID 1 is ${comm}`);
  const state = run('systemctl', ['is-system-running']).stdout.trim();
  const version = run('systemctl', ['--version']).stdout.split('\n')[0];
  const failedUnits = run('systemctl', ['list-units', '--failed', '--plain', '--no-legend']).stdout.trim();
  return { pid1: comm, uptimeS, state, version, failedUnits };
});

await check('device', async () => {
  systemctl('start', 'cell-test-device.service');
  const tty = await until('the simulated device is ready', () => existsSync('/run/cell-dev/ttyB') && run('journalctl', ['-u', 'cell-test-device', '-o', 'cat', '--no-pager']).stdout.includes('ready'), 60_000);
  void tty;
  const pts = realpathSync('/run/cell-dev/ttyB');
  const st = statSync(pts);
  assert(st.gid === dialout && (st.mode & 0o060) === 0o060, `${pts}: gid ${st.gid}, mode ${(st.mode & 0o777).toString(8)}`);
  // The device sandbox is enforced here (cgroup BPF): DevicePolicy=closed refuses root /dev/kmsg.
  // It lets the user cell (with dialout) open the pty without any DeviceAllow: systemd always
  // allows char-pts under "closed" (with /dev/null, /dev/tty, /dev/ptmx …), so the shipped unit
  // reaches the test's device unchanged.
  const open = (path: string, ...props: string[]) => run('systemd-run', ['--wait', '--quiet', '--pipe', '-p', 'DevicePolicy=closed',
    ...props.flatMap((p) => ['-p', p]), '/bin/sh', '-c', `exec 3<>${path}`]);
  const kmsg = open('/dev/kmsg');
  assert(kmsg.status !== 0 && /not permitted|denied/i.test(kmsg.stderr), `DevicePolicy=closed did not refuse /dev/kmsg: ${kmsg.status} ${kmsg.stderr}`);
  const pty = open('/run/cell-dev/ttyB', 'User=cell', 'SupplementaryGroups=dialout');
  assert(pty.status === 0, `cell with dialout could not open the pty under DevicePolicy=closed: ${pty.status} ${pty.stderr}`);
  return { pts, mode: (st.mode & 0o777).toString(8), group: 'dialout', closedKmsg: kmsg.stderr.trim().split('\n').at(-1) };
});

await check('running', async () => {
  const start = Date.now();
  systemctl('enable', '--now', UNIT);
  const { lines } = await announced();
  const s = show();
  assert(s['ActiveState'] === 'active' && s['SubState'] === 'running', `state ${s['ActiveState']}/${s['SubState']}`);
  const pid = Number(s['MainPID']);
  const c = creds(pid);
  assert(c.uid.every((u) => u === cellUid), `uids ${c.uid} (cell is ${cellUid})`);
  assert(c.gid.every((g) => g === cellGid), `gids ${c.gid} (cell is ${cellGid})`);
  assert(c.groups.includes(dialout), `groups ${c.groups} lack dialout (${dialout})`);
  const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  assert(/cell(\.mjs)? gateway --config \/etc\/cell\/gateway\.toml --json$/.test(cmd), `cmdline ${cmd}`);
  // The unit's Environment= lines reach the process (quoting included).
  const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter((v) => /^(NODE_|MALLOC_)/.test(v));
  assert(environ.includes('NODE_ENV=production'), `environment ${environ.join(' ')}`);
  const state = statSync('/var/lib/cell');
  assert(state.uid === cellUid && (state.mode & 0o777) === 0o700, `/var/lib/cell: uid ${state.uid}, mode ${(state.mode & 0o777).toString(8)}`);
  assert(existsSync('/var/lib/cell/.cell/mesh/key'), 'no node key in /var/lib/cell/.cell/mesh/key');
  const unit = run('systemctl', ['show', UNIT, '-p', 'DropInPaths,FragmentPath,DevicePolicy,DeviceAllow']).stdout.trim();
  assert(/^DropInPaths=$/m.test(unit) && /^FragmentPath=\/etc\/systemd\/system\/cell-gateway\.service$/m.test(unit), `not the shipped unit alone:\n${unit}`);
  const node = lines.find((l) => l['event'] === 'node')!;
  nodeAddr = (node['addrs'] as string[])[0]!;
  return { startToAnnouncedMs: Date.now() - start, unit: unit.split('\n'), environ, pid, uid: c.uid[0], groups: c.groups, cmdline: cmd, events: lines.map((l) => l['event']) };
});

await check('call', async () => {
  assert(nodeAddr !== '', 'no node address (the gateway did not start)');
  const start = Date.now();
  let answerMs = -1;
  const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('cell', ['call', ALIAS, 'read', '{"channel": 1}', '--json'], {
      cwd: '/tmp',
      env: { ...process.env, CELL_MESH_BOOTSTRAP: nodeAddr, CELL_MESH_NO_MDNS: '1', CELL_MESH_LISTEN: '/ip4/127.0.0.1/tcp/0', CELL_MESH_TIMEOUT_MS: '60000' },
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { if (answerMs < 0) answerMs = Date.now() - start; stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
  const callMs = Date.now() - start;
  assert(r.status === 0, `cell call exited ${r.status}: ${r.stderr}${r.stdout}`);
  const answer = JSON.parse(r.stdout.trim().split('\n')[0]!) as { channel: number };
  assert(answer.channel === 1, `answer ${r.stdout}`);
  const prom = await (await fetch('http://127.0.0.1:9464/metrics')).text();
  assert(/^cell_gateway_calls_total\{.*method="read".*\} 1$/m.test(prom), `metrics:\n${prom.slice(0, 1500)}`);
  return { answerMs, exitMs: callMs, answer };
});

await check('restart', async () => {
  const before = show();
  const pid0 = Number(before['MainPID']);
  const n0 = Number(before['NRestarts']);
  assert(pid0 > 0, `not running: ${JSON.stringify(before)}`);
  const start = Date.now();
  systemctl('kill', '-s', 'SIGKILL', UNIT);
  const after = await until('restarted after SIGKILL', () => {
    const s = show();
    return s['ActiveState'] === 'active' && Number(s['MainPID']) > 0 && Number(s['MainPID']) !== pid0 && Number(s['NRestarts']) >= n0 + 1 ? s : undefined;
  });
  const restartMs = Date.now() - start;
  await announced();
  const systemdSaid = journal().filter((e) => e.line === null && /status=9\/KILL|Scheduled restart/.test(e.message)).map((e) => e.message);
  return { restartMs, reannouncedMs: Date.now() - start, nRestarts: Number(after['NRestarts']), oldPid: pid0, newPid: Number(after['MainPID']), systemdSaid };
});

const good = readFileSync(CONFIG, 'utf8');
await check('badConfig', async () => {
  writeFileSync(CONFIG, good.replace('drain_ms =', 'drain_msec ='));
  // A start by hand (restart) sets NRestarts back to 0: a restart by systemd after this exit 2
  // would make it 1.
  systemctl('restart', UNIT);
  const start = Date.now();
  await until('failed with exit 2', () => show()['ActiveState'] === 'failed');
  const failedMs = Date.now() - start;
  await sleep(5000); // RestartSec=2: a restart would have happened by now
  const s = show();
  assert(s['ActiveState'] === 'failed' && s['ExecMainStatus'] === '2' && s['Result'] === 'exit-code', `after 5 s: ${JSON.stringify(s)}`);
  assert(s['NRestarts'] === '0', `NRestarts ${s['NRestarts']}: restarted after exit 2`);
  const fatal = linesOf(s['InvocationID']!).find((l) => l['event'] === 'fatal');
  assert(fatal !== undefined, `no fatal line: ${run('journalctl', ['-u', UNIT, '-o', 'cat', '--no-pager', '-n', '10']).stdout}`);
  const systemdSaid = journal().filter((e) => e.line === null && /status=2\/|Failed with result/.test(e.message)).map((e) => e.message);
  return { failedMs, activeState: s['ActiveState'], execMainStatus: s['ExecMainStatus'], result: s['Result'], nRestarts: s['NRestarts'], fatal: fatal['msg'], systemdSaid };
});

await check('stop', async () => {
  writeFileSync(CONFIG, good);
  systemctl('restart', UNIT);
  const { invocation } = await announced();
  const start = Date.now();
  systemctl('stop', UNIT);
  const stopMs = Date.now() - start;
  const s = show();
  assert(s['ActiveState'] === 'inactive' && s['Result'] === 'success' && s['ExecMainStatus'] === '0', `after stop: ${JSON.stringify(s)}`);
  const entries = journal().filter((e) => e.invocation === invocation);
  const lines = entries.filter((e) => e.line !== null);
  const events = lines.map((e) => e.line!['event'] as string);
  const at = ['stopping', 'withdrawn', 'drained', 'stopped'].map((e) => events.indexOf(e));
  assert(at.every((i, k) => i >= 0 && (k === 0 || i > at[k - 1]!)), `stopping < withdrawn < drained < stopped: ${events.join(',')}`);
  const stopping = lines[at[0]!]!.line!;
  assert(stopping['signal'] === 'SIGTERM', `stopping: ${JSON.stringify(stopping)}`);
  for (const e of lines) {
    const l = e.line!;
    assert(typeof l['time'] === 'string' && typeof l['level'] === 'string' && typeof l['msg'] === 'string', `a line without time/level/msg: ${e.message}`);
    assert(e.ident === 'cell-gateway' && e.uid === String(cellUid), `SYSLOG_IDENTIFIER ${e.ident}, _UID ${e.uid}`);
  }
  const notJson = entries.filter((e) => e.line === null && e.uid === String(cellUid)).map((e) => e.message);
  assert(notJson.length === 0, `lines of the gateway that are not JSON: ${notJson.join(' | ')}`);
  return { stopMs, result: s['Result'], execMainStatus: s['ExecMainStatus'], jsonLines: lines.length, events };
});

writeFileSync(`${J}/journal.txt`, run('journalctl', ['-u', UNIT, '-u', 'cell-test-device', '-o', 'short-monotonic', '--no-pager']).stdout);
log(`done, ${failed} failed; powering off`);
// Every result is in /cell-job already (9p writes reach the host at once): power off without
// stopping the other units (what FailureAction=poweroff-force does when this script crashes).
run('systemctl', ['poweroff', '--force', '--no-block']);
process.exit(failed === 0 ? 0 : 1);
