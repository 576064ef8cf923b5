#!/usr/bin/env node
// Gateway start-up and footprint (tracker issue 19, docs/gateway.md §5): the built CLI (dist/, run
// by plain `node bin/cell.mjs`, no tsx) against simulated devices on socat ptys, loopback only.
//   npm run bench:gateway [-- --runs 10] [-- --json] [-- --settle-s 20] [-- --only A,B,C,D]
//                         [-- --warm-calls 200] [-- --gateway-node-flags "--max-semi-space-size=1"]
//                         [-- --gateway-args "--no-quic"] [-- --plain-env]
//
// The gateway runs as the shipped service runs it: with the Environment= lines of
// systemd/cell-gateway.service (NODE_OPTIONS with V8's memory settings, malloc tuning); callers
// and floors run with none. --plain-env starts the gateway without them (what a plain
// `cell gateway` in a shell gets).
//
//   A  spawn → 'announced' of the thermo device (the gateway's JSON events; also its own
//      sinceStartMs, which counts from process start as performance.now() does)
//   B  spawn → first remote call answered: a caller loop started at the same moment, each attempt
//      one `node bin/cell.mjs call thermo read '{"channel":0}' --json` with CELL_MESH_BOOTSTRAP set
//      to the address the gateway is about to listen on (fixed port, known PeerId)
//   C  a one-shot `cell call thermo read` through the mesh, gateway already up: spawn → exit
//   D  the gateway's VmRSS (/proc/<pid>/status) with 4 devices, 1 s after a warm-up of 200 calls
//      to each device (bench/gateway/caller.mjs), and its peak (VmHWM); then one gateway sampled
//      for --settle-s seconds (information)
//   floors, in the same run, interleaved with A: `node -e 0` (spawn → exit) and
//      `node --input-type=module -e "await import('libp2p')"` (spawn → exit); after A, the VmRSS
//      of a node that has only loaded libp2p, and of one that has loaded every module the gateway
//      loads (GATEWAY_MODULES) and started nothing, each read 1 s after loading as D reads the
//      gateway's: the modules' own share, which no change to the start-up path removes
//
// Devices: the thermo firmware's wasm in the simulator (hw-tests/lib/sim-device.mjs) on pty 0;
// for D also three Node devices (bench/gateway/device.mjs: cells sensor1..3, since a gateway
// announces a name once). Every answer is checked before its time is counted. Medians of --runs
// (default 10) with p90; PASS/MISS against the issue's targets. Tables on stdout, progress on
// stderr; with --json one JSON document on stdout instead of the tables (which go to stderr).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(root, 'bin', 'cell.mjs');
const argv = process.argv.slice(2);
const opt = (name, def) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : def; };
const RUNS = Number(opt('runs', '10'));
const SETTLE_S = Number(opt('settle-s', '20'));
const ONLY = new Set((opt('only', 'A,B,C,D')).split(','));
const JSON_OUT = argv.includes('--json');
const WARM_CALLS = Number(opt('warm-calls', '200'));
/** Extra node flags for the gateway processes only (experiments: `--gateway-node-flags "--max-semi-space-size=1"`). */
const GW_FLAGS = (opt('gateway-node-flags', '')).split(' ').filter((x) => x !== '');
/** Extra `cell gateway` arguments (experiments: `--gateway-args "--no-quic"`). */
const GW_ARGS = (opt('gateway-args', '')).split(' ').filter((x) => x !== '');
const TARGETS = { announcedMs: 1000, firstCallMs: 1500, oneShotMs: 800, rssMiB: 80 };

const log = (s) => process.stderr.write(s + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- preconditions -------------------------------------------------------------------------

function fail(msg) { log(`bench:gateway: ${msg}`); process.exit(2); }
if (!existsSync(join(root, 'dist/cli/main.js'))) fail('dist/cli/main.js is missing: run `npm run build` first (the bench measures the built CLI)');
if (spawnSync('socat', ['-V']).error !== undefined) fail('socat not found (apt package "socat")');
const newestSrc = (dir) => readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
  const p = join(dir, e.name);
  return Math.max(m, e.isDirectory() ? newestSrc(p) : statSync(p).mtimeMs);
}, 0);
const distAge = statSync(join(root, 'dist/cli/main.js')).mtimeMs;
if (newestSrc(join(root, 'src')) > distAge) log('bench:gateway: WARNING dist/ is older than src/ — `npm run build` to measure the current sources');
const wasm = join(root, 'build/firmware/thermo.wasm');
if (!existsSync(wasm)) {
  const r = spawnSync(process.execPath, ['scripts/build-firmware.mjs', 'thermo', '--wasm-only', '--quiet'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) fail(`cannot build ${wasm}:\n${r.stderr}`);
}
const schema = join(root, 'firmware/thermo/gen/schema.json');
if (!existsSync(schema)) fail(`${schema} is missing: npm run build:firmware`);

// Children run the built CLI with plain node: nothing inherited that would load tsx or change it.
const baseEnv = { ...process.env };
for (const k of Object.keys(baseEnv)) if (k === 'NODE_OPTIONS' || k === 'CELL_CLI_FROM_SOURCE' || k.startsWith('CELL_MESH_')) delete baseEnv[k];

/** KEY=VALUE pairs of the unit's Environment= lines (systemd quoting: "K=V with spaces" or K=V K2=V2). */
function unitEnvironment(unitText) {
  const env = {};
  for (const line of unitText.split('\n')) {
    const m = /^Environment=(.*)$/.exec(line.trim());
    if (m === null) continue;
    for (const word of m[1].match(/"[^"]*"|\S+/g) ?? []) {
      const kv = word.startsWith('"') ? word.slice(1, -1) : word;
      const eq = kv.indexOf('=');
      if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
  }
  return env;
}
const PLAIN_ENV = argv.includes('--plain-env');
const UNIT_ENV = PLAIN_ENV ? {} : unitEnvironment(readFileSync(join(root, 'systemd', 'cell-gateway.service'), 'utf8'));
const gatewayEnv = { ...baseEnv, ...UNIT_ENV };

// ---- processes -----------------------------------------------------------------------------

const live = new Set();
function killAll() { for (const c of live) { try { c.kill('SIGKILL'); } catch { /* gone */ } } }
process.on('exit', killAll);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => { killAll(); process.exit(130); });

/** Spawn with the parent's clock read just before: `t0`; stdout lines with their arrival times. */
function run(cmd, args, { env = baseEnv, cwd = root } = {}) {
  const t0 = performance.now();
  const child = spawn(cmd, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  const p = { child, t0, lines: [], err: '', waiters: new Set(), exit: null };
  let buf = '';
  child.stdout.on('data', (d) => {
    const t = performance.now();
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const text = buf.slice(0, i); buf = buf.slice(i + 1);
      let json = null;
      try { json = JSON.parse(text); } catch { /* not JSON */ }
      const line = { t: t - t0, text, json };
      p.lines.push(line);
      for (const w of p.waiters) w(line);
    }
  });
  child.stderr.on('data', (d) => { p.err += d.toString(); });
  p.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => { live.delete(child); p.exit = { code, signal, t: performance.now() - t0 }; for (const w of p.waiters) w(null); resolve(p.exit); });
    child.on('error', (e) => { live.delete(child); p.exit = { code: -1, signal: null, t: performance.now() - t0, error: e }; resolve(p.exit); });
  });
  /** The first line (past or future) that `pred` accepts. */
  p.waitLine = (pred, what, timeoutMs = 30_000) => new Promise((resolve, reject) => {
    const hit = p.lines.find(pred);
    if (hit !== undefined) { resolve(hit); return; }
    const timer = setTimeout(() => { p.waiters.delete(w); reject(new Error(`${what}: not within ${timeoutMs} ms\nstdout:\n${p.lines.map((l) => l.text).join('\n')}\nstderr:\n${p.err}`)); }, timeoutMs);
    const w = (line) => {
      if (line === null) { clearTimeout(timer); p.waiters.delete(w); reject(new Error(`${what}: the process exited (${JSON.stringify(p.exit)})\nstdout:\n${p.lines.map((l) => l.text).join('\n')}\nstderr:\n${p.err}`)); return; }
      if (pred(line)) { clearTimeout(timer); p.waiters.delete(w); resolve(line); }
    };
    p.waiters.add(w);
  });
  return p;
}

async function stop(p, timeoutMs = 10_000) {
  if (p.exit !== null) return p.exit;
  const t = performance.now();
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  await p.exited;
  clearTimeout(timer);
  return { ...p.exit, stopMs: performance.now() - t };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function procStatus(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm'))?.[1] ?? NaN);
  return { rssKiB: kb('VmRSS'), hwmKiB: kb('VmHWM'), anonKiB: kb('RssAnon'), fileKiB: kb('RssFile') };
}

// ---- devices -------------------------------------------------------------------------------

const tmp = mkdtempSync(join(tmpdir(), 'cell-gw-bench-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const keyDir = join(tmp, 'key');

async function startPty(i) {
  const a = join(tmp, `ttyA${i}`), b = join(tmp, `ttyB${i}`);
  const p = run('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`]);
  const end = Date.now() + 5000;
  while (!(p.err.includes('starting data transfer loop') && existsSync(a) && existsSync(b))) {
    if (p.exit !== null || Date.now() > end) throw new Error(`socat did not make a pty pair:\n${p.err}`);
    await sleep(5);
  }
  return { a, b, p };
}

async function startDevice(i) {
  const pty = await startPty(i);
  const dev = i === 0
    ? run(process.execPath, [join(root, 'hw-tests/lib/sim-device.mjs'), '--wasm', wasm, '--pty', pty.a])
    : run(process.execPath, [join(root, 'bench/gateway/device.mjs'), '--pty', pty.a, '--name', `sensor${i}`]);
  await dev.waitLine((l) => l.text.startsWith('ready'), `device ${i} ready`, 15_000);
  return { path: pty.b, name: i === 0 ? 'thermo' : `sensor${i}`, procs: [dev, pty.p] };
}

function gatewayArgs(devices, port) {
  return [...GW_FLAGS, BIN, 'gateway', ...devices.flatMap((d) => ['--uart', d.path]), '--max-frame', '512', '--schema', schema,
    '--listen', `/ip4/127.0.0.1/tcp/${port}`, '--no-mdns', '--dir', keyDir, '--json', ...GW_ARGS];
}

const isAnswer = (l) => l.json !== null && l.json.channel === 0 && typeof l.json.celsius === 'number' && l.json.seq > 0;
const callArgs = [BIN, 'call', 'thermo', 'read', '{"channel":0}', '--json'];

// ---- statistics ----------------------------------------------------------------------------

const median = (a) => { if (a.length === 0) return NaN; const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const p90 = (a) => { if (a.length === 0) return NaN; const s = [...a].sort((x, y) => x - y); return s[Math.ceil(0.9 * s.length) - 1]; };
const summary = (a) => ({ median: median(a), p90: p90(a), min: Math.min(...a), max: Math.max(...a), n: a.length, samples: a.map((x) => Math.round(x * 10) / 10) });

// ---- the run -------------------------------------------------------------------------------

const facts = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: `${cpus()[0]?.model ?? '?'} × ${cpus().length}`,
  memGiB: Math.round(totalmem() / 2 ** 30 * 10) / 10,
  commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout?.trim() || 'no git',
  dirty: (spawnSync('git', ['status', '--porcelain', '--', 'src', 'bin'], { cwd: root, encoding: 'utf8' }).stdout ?? '').trim() !== '',
  root,
  loadStart: loadavg().map((x) => Math.round(x * 100) / 100),
  runs: RUNS,
  gatewayNodeFlags: GW_FLAGS,
  gatewayArgs: GW_ARGS,
  gatewayEnv: UNIT_ENV,
};
log(`bench:gateway: ${facts.node}, ${facts.cpu}, load ${facts.loadStart.join(' ')}, ${RUNS} runs`);

const R = { floorNode: [], floorLibp2p: [], floorLibp2pRssMiB: [], announced: [], announcedSelf: [], identifiedSelf: [], nodeSelf: [], stopMs: [],
  floorModulesRssMiB: [], firstCall: [], firstCallAttempts: [], oneShotExit: [], oneShotAnswer: [], allAnnounced4: [], rssMiB: [], hwmMiB: [], anonMiB: [], fileMiB: [], settle: [] };
const devices = [await startDevice(0)];

async function floors() {
  const a = run(process.execPath, ['-e', '0']);
  await a.exited;
  if (a.exit.code === 0) R.floorNode.push(a.exit.t);
  const b = run(process.execPath, ['--input-type=module', '-e', "await import('libp2p')"]);
  await b.exited;
  if (b.exit.code !== 0) throw new Error(`import('libp2p') failed:\n${b.err}`);
  R.floorLibp2p.push(b.exit.t);
}

// What the gateway imports with the bench's options (src/mesh/node.ts loads by option: DHT, relay,
// QUIC; no mDNS, no bootstrap module), its own modules and serialport: loaded, nothing started.
const GATEWAY_MODULES = [`${root}dist/mesh/index.js`, 'libp2p', '@libp2p/tcp', '@chainsafe/libp2p-noise', '@chainsafe/libp2p-yamux',
  '@libp2p/identify', '@libp2p/ping', '@libp2p/crypto/keys', 'multiformats/cid', '@multiformats/multiaddr', '@libp2p/peer-id',
  '@libp2p/kad-dht', '@libp2p/circuit-relay-v2', '@chainsafe/libp2p-quic', 'serialport', `${root}dist/gateway/index.js`, `${root}dist/cli/commands/gateway.js`];

/** VmRSS of a node that has imported `modules` (in order) and idled 1 s (as D reads it: 1 s after activity). */
async function rssAfterImport(modules, what) {
  const code = `for (const m of ${JSON.stringify(modules)}) await import(m); const { readFileSync } = await import('node:fs'); await new Promise((r) => setTimeout(r, 1000)); console.log(readFileSync('/proc/self/status', 'utf8').match(/^VmRSS:\\s+(\\d+)/m)[1])`;
  const p = run(process.execPath, ['--input-type=module', '-e', code]);
  const l = await p.waitLine((x) => /^\d+$/.test(x.text), what, 15_000);
  await p.exited;
  return Number(l.text) / 1024;
}

let peerId = null;
try {
  // Warm-up (not counted): the key, the PeerId the callers of B dial, the OS file cache.
  {
    const gw = run(process.execPath, gatewayArgs(devices, await freePort()), { env: gatewayEnv });
    const n = await gw.waitLine((l) => l.json?.event === 'node', 'warm-up gateway node');
    peerId = n.json.peerId;
    await gw.waitLine((l) => l.json?.event === 'announced', 'warm-up gateway announced');
    await stop(gw);
  }

  if (ONLY.has('A')) {
    for (let i = 0; i < RUNS; i++) {
      await floors();
      const gw = run(process.execPath, gatewayArgs(devices, await freePort()), { env: gatewayEnv });
      const ann = await gw.waitLine((l) => l.json?.event === 'announced' && l.json.cell === 'thermo', 'A: announced');
      const id = await gw.waitLine((l) => l.json?.event === 'identified', 'A: identified');
      const nd = await gw.waitLine((l) => l.json?.event === 'node', 'A: node');
      R.announced.push(ann.t); R.announcedSelf.push(ann.json.sinceStartMs); R.identifiedSelf.push(id.json.sinceStartMs); R.nodeSelf.push(nd.json.sinceStartMs);
      const s = await stop(gw);
      R.stopMs.push(s.stopMs);
      log(`A ${i + 1}/${RUNS}: announced ${Math.round(ann.t)} ms after spawn (process clock ${ann.json.sinceStartMs}; identified ${id.json.sinceStartMs}, node ${nd.json.sinceStartMs}); stop ${Math.round(s.stopMs)} ms`);
    }
    for (let i = 0; i < 3; i++) {
      R.floorLibp2pRssMiB.push(await rssAfterImport(['libp2p'], 'libp2p RSS floor'));
      R.floorModulesRssMiB.push(await rssAfterImport(GATEWAY_MODULES, 'gateway modules RSS floor'));
    }
  }

  if (ONLY.has('B')) {
    for (let i = 0; i < RUNS; i++) {
      const port = await freePort();
      const env = { ...baseEnv, CELL_MESH_BOOTSTRAP: `/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`, CELL_MESH_NO_MDNS: '1', CELL_MESH_LISTEN: '/ip4/127.0.0.1/tcp/0', CELL_MESH_TIMEOUT_MS: '2000' };
      const gw = run(process.execPath, gatewayArgs(devices, port), { env: gatewayEnv });
      const t0 = gw.t0;
      let attempts = 0, answered = null;
      while (answered === null && performance.now() - t0 < 30_000) {
        attempts++;
        const c = run(process.execPath, callArgs, { env });
        const ok = await c.waitLine(isAnswer, 'B: answer', 30_000).catch(() => null);
        if (ok !== null) answered = c.t0 - t0 + ok.t;
        await c.exited;
      }
      if (answered === null) throw new Error(`B: no answer within 30 s (${attempts} attempts)\n${gw.err}`);
      R.firstCall.push(answered); R.firstCallAttempts.push(attempts);
      await stop(gw);
      log(`B ${i + 1}/${RUNS}: first remote call answered ${Math.round(answered)} ms after the gateway's spawn (${attempts} attempt${attempts > 1 ? 's' : ''})`);
    }
  }

  if (ONLY.has('C')) {
    const port = await freePort();
    const gw = run(process.execPath, gatewayArgs(devices, port), { env: gatewayEnv });
    await gw.waitLine((l) => l.json?.event === 'announced', 'C: announced');
    const env = { ...baseEnv, CELL_MESH_BOOTSTRAP: `/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`, CELL_MESH_NO_MDNS: '1', CELL_MESH_LISTEN: '/ip4/127.0.0.1/tcp/0' };
    for (let i = -1; i < RUNS; i++) {
      const c = run(process.execPath, callArgs, { env });
      const a = await c.waitLine(isAnswer, 'C: answer', 30_000);
      const e = await c.exited;
      if (e.code !== 0) throw new Error(`C: cell call exited ${e.code}\n${c.err}`);
      if (i < 0) continue; // warm-up
      R.oneShotAnswer.push(a.t); R.oneShotExit.push(e.t);
      log(`C ${i + 1}/${RUNS}: cell call answered ${Math.round(a.t)} ms, exited ${Math.round(e.t)} ms after spawn`);
    }
    await stop(gw);
  }

  if (ONLY.has('D')) {
    for (let i = 1; i < 4; i++) devices.push(await startDevice(i));
    const names = devices.map((d) => d.name).join(',');
    const once = async (settleS) => {
      const port = await freePort();
      const gw = run(process.execPath, gatewayArgs(devices, port), { env: gatewayEnv });
      const seen = new Set();
      const all = await gw.waitLine((l) => { if (l.json?.event === 'announced') seen.add(l.json.cell); return seen.size === devices.length; }, 'D: all announced');
      const w = run(process.execPath, [join(root, 'bench/gateway/caller.mjs'), '--bootstrap', `/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`, '--names', names, '--calls', String(WARM_CALLS)]);
      const res = await w.waitLine((l) => l.json !== null && 'ok' in l.json, 'D: warm-up', 60_000);
      await w.exited;
      if (res.json.ok !== true || res.json.calls !== WARM_CALLS * devices.length) throw new Error(`D: warm-up failed: ${res.text}\n${w.err}`);
      await sleep(1000);
      const st = procStatus(gw.child.pid);
      const series = [];
      for (let s = 1; s <= settleS; s++) { await sleep(1000); series.push(Math.round(procStatus(gw.child.pid).rssKiB / 1024 * 10) / 10); }
      await stop(gw);
      return { all: all.t, st, series };
    };
    for (let i = 0; i < RUNS; i++) {
      const { all, st } = await once(0);
      R.allAnnounced4.push(all); R.rssMiB.push(st.rssKiB / 1024); R.hwmMiB.push(st.hwmKiB / 1024); R.anonMiB.push(st.anonKiB / 1024); R.fileMiB.push(st.fileKiB / 1024);
      log(`D ${i + 1}/${RUNS}: 4 devices announced ${Math.round(all)} ms after spawn; after ${WARM_CALLS}×4 calls + 1 s: VmRSS ${(st.rssKiB / 1024).toFixed(1)} MiB (anon ${(st.anonKiB / 1024).toFixed(1)}, file ${(st.fileKiB / 1024).toFixed(1)}), VmHWM ${(st.hwmKiB / 1024).toFixed(1)} MiB`);
    }
    if (SETTLE_S > 0) {
      const { series } = await once(SETTLE_S);
      R.settle = series;
      log(`D settle: VmRSS each second for ${SETTLE_S} s after the warm-up: ${series.join(' ')} MiB`);
    }
  }
} finally {
  for (const d of devices) for (const p of d.procs) await stop(p, 3000);
}
facts.loadEnd = loadavg().map((x) => Math.round(x * 100) / 100);

// ---- report --------------------------------------------------------------------------------

const S = Object.fromEntries(Object.entries(R).filter(([, v]) => v.length > 0).map(([k, v]) => [k, summary(v)]));
const floorLib = S.floorLibp2p?.median ?? NaN;
const rows = [];
const row = (what, key, unit, target, floor) => {
  const s = S[key];
  if (s === undefined) return;
  const f = (x) => unit === 'MiB' ? x.toFixed(1) : Math.round(x).toString();
  rows.push({ what, key, unit, median: s.median, p90: s.p90, min: s.min, max: s.max, target: target ?? null,
    verdict: target === undefined ? 'info' : s.median <= target ? 'PASS' : 'MISS', ratio: floor !== undefined ? s.median / floor : null,
    cells: [what, `${f(s.median)} ${unit}`, f(s.p90), `${f(s.min)}–${f(s.max)}`, floor !== undefined ? `${(s.median / floor).toFixed(2)}×` : '', target === undefined ? '' : `≤ ${target} ${unit}`, target === undefined ? 'info' : s.median <= target ? 'PASS' : 'MISS'] });
};
row('spawn → announced (1 device)', 'announced', 'ms', TARGETS.announcedMs, floorLib);
row('  the same on the process clock (sinceStartMs)', 'announcedSelf', 'ms');
row('  process clock → device identified', 'identifiedSelf', 'ms');
row('  process clock → mesh node listening', 'nodeSelf', 'ms');
row('spawn → first remote call answered (B)', 'firstCall', 'ms', TARGETS.firstCallMs, floorLib);
row('  `cell call` attempts until then', 'firstCallAttempts', '');
row('one-shot `cell call thermo read`, spawn → exit', 'oneShotExit', 'ms', TARGETS.oneShotMs, floorLib);
row('  the same, spawn → answer printed', 'oneShotAnswer', 'ms', undefined, floorLib);
row('gateway VmRSS, 4 devices, after warm-up', 'rssMiB', 'MiB', TARGETS.rssMiB, S.floorModulesRssMiB?.median);
row('  of it anonymous (RssAnon)', 'anonMiB', 'MiB');
row('  of it file-backed (RssFile: node binary, addons)', 'fileMiB', 'MiB');
row('  peak (VmHWM)', 'hwmMiB', 'MiB');
row('spawn → 4 devices announced', 'allAnnounced4', 'ms');
row('gateway stop (SIGTERM → exit)', 'stopMs', 'ms');
row('floor: `node -e 0`, spawn → exit', 'floorNode', 'ms');
row('floor: `import(\'libp2p\')`, spawn → exit', 'floorLibp2p', 'ms');
row('floor: VmRSS of a node with libp2p loaded', 'floorLibp2pRssMiB', 'MiB');
row('floor: VmRSS, the gateway\'s modules loaded, nothing started', 'floorModulesRssMiB', 'MiB');

const table = [
  `gateway start-up: built CLI (dist/), ${facts.node}, ${facts.cpu}, ${facts.memGiB} GiB, commit ${facts.commit}${facts.dirty ? ' + changes' : ''}, gateway env ${PLAIN_ENV ? 'plain (--plain-env)' : 'from systemd/cell-gateway.service: ' + Object.entries(UNIT_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}${GW_FLAGS.length > 0 ? `, gateway node flags ${GW_FLAGS.join(' ')}` : ''}${GW_ARGS.length > 0 ? `, gateway args ${GW_ARGS.join(' ')}` : ''}, ${RUNS} runs, load ${facts.loadStart.join(' ')} → ${facts.loadEnd.join(' ')}`,
  '',
  '| figure | median | p90 | min–max | × floor | target | |',
  '|---|---:|---:|---:|---:|---:|---|',
  ...rows.map((r) => `| ${r.cells.join(' | ')} |`),
  '',
  '× floor: ms figures ÷ the `import(\'libp2p\')` floor; RSS ÷ the VmRSS of a node with the gateway\'s modules loaded.',
  ...(R.settle.length > 0 ? [`settle (one gateway, 4 devices, VmRSS each second after the warm-up + 1 s): ${R.settle.join(' ')} MiB`] : []),
].join('\n');

if (JSON_OUT) {
  log(table);
  process.stdout.write(JSON.stringify({ facts, targets: TARGETS, rows: rows.map(({ cells, ...r }) => r), samples: S, settleMiB: R.settle }, null, 2) + '\n');
} else {
  process.stdout.write(table + '\n');
}
