// systemd/cell-gateway.service (docs/gateway.md §4 "Service"): the unit shipped in the package.
// With systemd's own tools, offline: `systemd-analyze verify` finds no problem in it (nor in a
// copy whose ExecStart runs this checkout's CLI with Node, so the binary check means something),
// `systemd-analyze security --offline` rates its hardening, `systemctl --root=<tmp> enable`
// installs it. Its command line parses as `cell gateway` options and names the config path the
// docs use. Where systemd runs as PID 1 and this runs as root, a copy is started for real (no
// device needed: the gateway waits for it), its journal read and it is stopped: exit 0 after
// "stopping", "withdrawn", "stopped". Each part skips, saying why, where its tool is missing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../../src/cli/args.ts';
import { spec } from '../../src/cli/commands/gateway.ts';
import { skipDeclared, skipTest } from '../helpers/skip.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const UNIT = join(root, 'systemd/cell-gateway.service');
const text = readFileSync(UNIT, 'utf8');
const test = suite('systemd/cell-gateway.service');

const which = (cmd: string): string | null => {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
};

/** Directives by section: `[Service]` → name → every value (in order). */
function parseUnit(t: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  let sec: Map<string, string[]> | null = null;
  for (const raw of t.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const h = /^\[(.+)\]$/.exec(line);
    if (h !== null) { sec = new Map(); out.set(h[1]!, sec); continue; }
    const eq = line.indexOf('=');
    assert.ok(sec !== null && eq > 0, `a directive in a section: ${line}`);
    const k = line.slice(0, eq);
    sec!.set(k, [...(sec!.get(k) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

const unit = parseUnit(text);
const service = unit.get('Service')!;
const one = (k: string): string | undefined => service.get(k)?.at(-1);

/** `text` with ExecStart (and any other directive) replaced. */
function withDirectives(t: string, set: Record<string, string | null>): string {
  let out = t;
  for (const [k, v] of Object.entries(set)) {
    const re = new RegExp(`^${k}=.*$`, 'm');
    out = re.test(out) ? out.replace(re, v === null ? '' : `${k}=${v}`) : out.replace('[Service]\n', `[Service]\n${k}=${v}\n`);
  }
  return out;
}

const tmp = mkdtempSync(join(tmpdir(), 'cell-systemd-'));

/**
 * The copy started under a running systemd: this checkout from its sources, root instead of the
 * user cell (a test creates no users), its own state directory (which also holds its config: the
 * unit's /tmp is private), home directories readable (a checkout may live there).
 */
function liveUnit(name: string, conf: string): string {
  return withDirectives(text, {
    ExecStart: `${process.execPath} ${join(root, 'bin/cell.mjs')} gateway --config ${conf} --json`,
    User: null, Group: null, StateDirectory: name, WorkingDirectory: `/var/lib/${name}`,
    Environment: 'NODE_ENV=production CELL_CLI_FROM_SOURCE=1', ProtectHome: 'read-only',
  });
}

test('the directives the docs promise: user, groups, restart, stop, state, devices', () => {
  assert.is(one('Type'), 'simple');
  assert.is(one('ExecStart'), '/usr/bin/env cell gateway --config /etc/cell/gateway.toml --json');
  assert.equal([one('User'), one('Group'), one('SupplementaryGroups')], ['cell', 'cell', 'dialout']);
  assert.equal([one('Restart'), one('RestartSec'), one('RestartPreventExitStatus')], ['on-failure', '2', '2']);
  assert.equal([one('KillSignal'), one('TimeoutStopSec')], ['SIGTERM', '15']);
  assert.equal([one('StateDirectory'), one('WorkingDirectory')], ['cell', '/var/lib/cell']);
  assert.ok(service.get('Environment')!.includes('NODE_ENV=production'), `Environment: ${service.get('Environment')!.join(' | ')}`);
  assert.equal([one('NoNewPrivileges'), one('ProtectSystem'), one('ProtectHome'), one('PrivateTmp')], ['yes', 'strict', 'yes', 'yes']);
  assert.is(one('DevicePolicy'), 'closed');
  assert.equal(service.get('DeviceAllow'), ['char-ttyUSB rw', 'char-ttyACM rw', 'char-ttyAMA rw', '/dev/ttyS0 rw']);
  for (const k of ['PrivateDevices', 'MemoryDenyWriteExecute', 'PrivateUsers']) assert.is(service.get(k), undefined, `${k} would break serial ports or Node`);
  assert.equal(unit.get('Install')!.get('WantedBy'), ['multi-user.target']);
});

test('its command line is a valid `cell gateway` command line, reading the config path of the docs', () => {
  const argv = one('ExecStart')!.split(/\s+/);
  assert.equal(argv.slice(0, 3), ['/usr/bin/env', 'cell', 'gateway']);
  const p = parseArgs(spec, argv.slice(3));
  assert.is(p.flags.config, '/etc/cell/gateway.toml');
  assert.is(p.flags.json, true);
  assert.match(readFileSync(join(root, 'examples/gateway.toml'), 'utf8'), /^# \/etc\/cell\/gateway\.toml /);
  const drain = Number(/^drain_ms = (\d+)/m.exec(readFileSync(join(root, 'examples/gateway.toml'), 'utf8'))![1]);
  assert.ok(drain + 5000 <= Number(one('TimeoutStopSec')) * 1000, 'the example drain leaves systemd time to spare');
});

test('the package ships the folder', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] };
  assert.ok(pkg.files.includes('systemd'), 'package.json files lists systemd');
  assert.ok(existsSync(join(root, 'systemd/README')));
});

const analyze = which('systemd-analyze');
if (analyze === null) {
  skipDeclared(test, 'systemd-analyze verify / security', 'systemd-analyze not found (package systemd): the unit is not checked by systemd here');
} else {
  /** Lines of `systemd-analyze verify` about this unit file (it also checks the units it names). */
  const verify = (file: string): { status: number | null; lines: string[] } => {
    const r = spawnSync(analyze, ['verify', file], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_COLOR: '0' } });
    const name = file.split('/').at(-1)!;
    return { status: r.status, lines: `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.includes(name) || l.includes(file)) };
  };

  test('systemd-analyze verify: the shipped unit, and a copy that runs this checkout with Node', () => {
    const shipped = verify(UNIT);
    assert.is(shipped.status, 0, shipped.lines.join('\n'));
    assert.equal(shipped.lines, []);
    const copy = join(tmp, 'cell-gateway.service');
    writeFileSync(copy, withDirectives(text, { ExecStart: `${process.execPath} ${join(root, 'bin/cell.mjs')} gateway --config /etc/cell/gateway.toml --json` }));
    const c = verify(copy);
    assert.is(c.status, 0, c.lines.join('\n'));
    assert.equal(c.lines, []);
    const live = join(tmp, 'cell-gateway-live.service');
    writeFileSync(live, liveUnit('cell-gateway-live', join(tmp, 'gateway.toml')));
    const l = verify(live);
    assert.is(l.status, 0, l.lines.join('\n'));
    assert.equal(l.lines, [], 'the copy the live test starts (below) is valid too');
  });

  test('systemd-analyze verify is not blind: a typo and a missing binary are reported', () => {
    const typo = join(tmp, 'typo.service');
    writeFileSync(typo, withDirectives(text, { DeviceAllow: 'char-ttyUSB rx', ProtectSytem: 'strict' }));
    const t = verify(typo);
    assert.ok(t.lines.some((l) => /Unknown key.*ProtectSytem/i.test(l)), t.lines.join('\n'));
    const missing = join(tmp, 'missing.service');
    writeFileSync(missing, withDirectives(text, { ExecStart: '/nonexistent/cell gateway' }));
    assert.not.equal(verify(missing).status, 0);
  });

  test('systemd-analyze security --offline: the hardening rates "OK" or better', () => {
    const r = spawnSync(analyze, ['security', '--offline=true', '--no-pager', UNIT], { encoding: 'utf8' });
    const m = /Overall exposure level for \S+: ([\d.]+) (\w+)/.exec(r.stdout);
    if (r.status !== 0 && m === null) return skipTest(`systemd-analyze security --offline is not supported by this systemd (${r.stderr.trim().split('\n')[0]})`);
    assert.ok(m !== null, r.stdout.slice(-500));
    assert.ok(Number(m![1]) < 5, `exposure ${m![1]} ${m![2]}`);
  });
}

const systemctl = which('systemctl');
if (systemctl === null) {
  skipDeclared(test, 'systemctl --root enable', 'systemctl not found (package systemd)');
} else {
  test('systemctl --root=<tmp> enable: the [Install] section wants it in multi-user.target', () => {
    const r0 = join(tmp, 'root');
    mkdirSync(join(r0, 'etc/systemd/system'), { recursive: true });
    writeFileSync(join(r0, 'etc/systemd/system/cell-gateway.service'), text);
    const r = spawnSync(systemctl, [`--root=${r0}`, 'enable', 'cell-gateway.service'], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    assert.ok(lstatSync(join(r0, 'etc/systemd/system/multi-user.target.wants/cell-gateway.service')).isSymbolicLink());
  });
}

// ---- the unit under a running systemd ----------------------------------------------------------

const state = systemctl === null ? 'no systemctl' : spawnSync(systemctl, ['is-system-running'], { encoding: 'utf8' }).stdout.trim() || 'no answer';
const live = ['running', 'degraded', 'starting'].includes(state);
const isRoot = process.getuid?.() === 0;
if (!live || !isRoot || which('journalctl') === null) {
  skipDeclared(test, 'started, logged and stopped by systemd',
    !live ? `systemd is not running as PID 1 here (systemctl is-system-running: ${state}): the unit is not started for real`
      : !isRoot ? 'not root: a system unit cannot be installed' : 'journalctl not found');
} else {
  test('started, logged and stopped by systemd: JSON lines in the journal, exit 0 after the drain', async () => {
    const name = `cell-gateway-test-${process.pid}`;
    const unitFile = `/run/systemd/system/${name}.service`;
    mkdirSync(`/var/lib/${name}`, { recursive: true, mode: 0o700 });
    const conf = `/var/lib/${name}/gateway.toml`;
    writeFileSync(conf, [
      `dir = "/var/lib/${name}"`, 'log = "json"', 'drain_ms = 2000',
      '[mesh]', 'listen = ["/ip4/127.0.0.1/tcp/0"]', 'mdns = false', 'quic = false', 'dht = "off"',
      '[[device]]', 'path = "/dev/ttyUSB-cell-test-absent"', '',
    ].join('\n'));
    writeFileSync(unitFile, liveUnit(name, conf));
    const sc = (...args: string[]) => spawnSync(systemctl!, args, { encoding: 'utf8' });
    const journal = (): Record<string, unknown>[] => spawnSync('journalctl', ['-u', name, '-o', 'cat', '--no-pager'], { encoding: 'utf8' }).stdout
      .split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    try {
      assert.is(sc('daemon-reload').status, 0);
      assert.is(sc('start', name).status, 0);
      const t0 = Date.now();
      while (!journal().some((l) => l.event === 'node')) {
        if (Date.now() - t0 > 60_000) throw new Error(`no "node" line within 60 s:\n${sc('status', name, '--no-pager').stdout}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.is(sc('stop', name).status, 0);
      assert.is(sc('show', '-p', 'ExecMainStatus', '--value', name).stdout.trim(), '0');
      const events = journal().map((l) => l.event);
      for (const e of ['node', 'stopping', 'withdrawn', 'drained', 'stopped']) assert.ok(events.includes(e), `${e} in ${events.join(',')}`);
      for (const l of journal()) assert.ok(typeof l.time === 'string' && typeof l.level === 'string' && typeof l.msg === 'string', JSON.stringify(l));
    } finally {
      sc('stop', name);
      rmSync(unitFile, { force: true });
      sc('daemon-reload');
      rmSync(`/var/lib/${name}`, { recursive: true, force: true });
    }
  });
}

test.after(() => { rmSync(tmp, { recursive: true, force: true }); });

test.run();
