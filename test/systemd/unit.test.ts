// systemd/cell-gateway.service (docs/gateway.md §4 "Service"): the unit shipped in the package.
// With systemd's own tools, offline: `systemd-analyze verify` finds no problem in it (nor in a
// copy whose ExecStart runs this checkout's CLI with Node, so the binary check means something),
// `systemd-analyze security --offline` rates its hardening, `systemctl --root=<tmp> enable`
// installs it. Its command line parses as `cell gateway` options and names the config path the
// docs use. Each part skips, saying why, where its tool is missing. The unit started for real,
// under systemd as PID 1 (in a micro-VM, since the test machine is a container): vm.test.ts.
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

test.after(() => { rmSync(tmp, { recursive: true, force: true }); });

test.run();
