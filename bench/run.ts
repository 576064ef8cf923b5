// `npm run bench` — the portable core (codec + framing) against peers measured in the same run.
//   npm run bench                      everything (~3-4 min), tables + PASS/FAIL summary
//   npm run bench -- --quick           smoke run (< 30 s)
//   npm run bench -- --only codec      codec | framing | alloc | wasm | uart (comma-separated)
//   npm run bench -- --only uart       UART over socat ptys (bench/uart/uart.bench.ts; only when asked: needs socat)
//   npm run bench -- --json out.json   also write every result (per-round samples included)
// See bench/README.md for the method (interleaved rounds, back-to-back ratio pairs).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import os from 'node:os';
import { parseArgs, USAGE } from './lib/args.ts';
import { formatTable } from './lib/table.ts';
import { sig } from './lib/stats.ts';
import type { SectionResult } from './lib/targets.ts';

const SCRIPT = fileURLToPath(import.meta.url);
const THIRDPARTY = fileURLToPath(new URL('./thirdparty/', import.meta.url));
const argv = process.argv.slice(2);

if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
let opt;
try {
  opt = parseArgs(argv);
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n${USAGE}`);
  process.exit(2);
}

// 1. third-party peers live in their own package (bench/thirdparty, committed lock file)
if (!existsSync(resolve(THIRDPARTY, 'node_modules'))) {
  process.stderr.write('[bench] bench/thirdparty/node_modules is missing: running `npm ci --prefix bench/thirdparty` (msgpackr, cbor-x, protobufjs, cobs, crc-32)\n');
  const npmCli = process.env.npm_execpath;
  const npm = (...a: string[]) => {
    const [cmd, args] = npmCli && /npm-cli\.js$/.test(npmCli) ? [process.execPath, [npmCli, ...a]] : ['npm', a];
    return spawnSync(cmd, args, { stdio: ['ignore', 2, 2] });
  };
  let r = npm('ci', '--prefix', THIRDPARTY, '--no-audit', '--no-fund');
  if (r.status !== 0) {
    // npm ci refuses a lock file that lacks entries for optional platform packages (e.g. the
    // darwin/win32 builds of msgpackr-extract / cbor-extract) when the registry in use does not
    // serve them — the case on this VM's registry mirror. `npm install --no-save` installs the
    // same locked versions and leaves package.json and package-lock.json untouched.
    process.stderr.write('[bench] npm ci failed; falling back to `npm install --no-save --prefix bench/thirdparty` (same locked versions, lock file untouched)\n');
    r = npm('install', '--no-save', '--prefix', THIRDPARTY, '--no-audit', '--no-fund');
  }
  if (r.status !== 0) {
    process.stderr.write(`[bench] installing bench/thirdparty failed (exit ${r.status}${r.error ? ', ' + r.error.message : ''})\n`);
    process.exit(1);
  }
}

// 2. the allocation section wants --expose-gc (a forced full GC before measuring): re-spawn once
if (typeof (globalThis as { gc?: unknown }).gc !== 'function' && !process.env.CELL_BENCH_CHILD) {
  process.stderr.write('[bench] re-running node with --expose-gc\n');
  const r = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', SCRIPT, ...argv], {
    stdio: 'inherit',
    env: { ...process.env, CELL_BENCH_CHILD: '1' },
  });
  process.exit(r.status ?? 1);
}

const want = (s: string) => !opt.only || opt.only.includes(s);
for (const s of opt.only ?? []) if (!['codec', 'framing', 'alloc', 'wasm', 'uart'].includes(s)) { process.stderr.write(`unknown section ${s}\n${USAGE}`); process.exit(2); }

const { thirdPartyVersions } = await import('./lib/peers.ts');
const env = {
  node: process.version,
  v8: process.versions.v8,
  cpu: os.cpus()[0]?.model ?? '?',
  ncpu: os.cpus().length,
  loadavg_start: os.loadavg(),
  time: new Date().toISOString(),
  expose_gc: typeof (globalThis as { gc?: unknown }).gc === 'function',
  thirdparty: thirdPartyVersions(),
};
console.log(`# Cell bench — portable core (codec + framing)${opt.quick ? ' — QUICK (smoke run, indicative only)' : ''}\n`);
console.log(`Node ${env.node} (V8 ${env.v8}), ${env.cpu} ×${env.ncpu}, load ${env.loadavg_start.map((x) => x.toFixed(2)).join(' ')}; ${opt.rounds} rounds × ${opt.time} ms per measurement.`);
console.log(`Peers: ${Object.entries(env.thirdparty).map(([k, v]) => `${k} ${v}`).join(', ')}.`);
console.log('This VM flips between two speed regimes ~2× apart: absolute ops/s are the best round (fast regime);');
console.log('the ratios are medians of back-to-back pairs (both halves in the same regime) and are what we report.');

const fmtValue = (v: number, unit: string) => (unit === '×' ? `${sig(v)}×` : Number.isInteger(v) ? `${v}${unit ? ' ' + unit : ''}` : `${sig(v)} ${unit}`);

const t0 = Date.now();
const results: SectionResult[] = [];
// allocation first: its loops should see a JIT state like an application's, not one shaped by
// hundreds of benchmark call sites (inlining decides whether e.g. a u32 result gets boxed)
const errors: string[] = [];
async function section(name: string, run: () => Promise<SectionResult> | SectionResult): Promise<void> {
  if (!want(name)) return;
  try {
    results.push(await run());
  } catch (e) {
    // a failed correctness check (or a crash in the code under test) stops this section only
    const msg = (e as Error)?.stack ?? String(e);
    errors.push(`${name}: ${String((e as Error)?.message ?? e).split('\n')[0]}`);
    console.log(`\n### ${name}: ERROR — section aborted\n\n\`\`\`\n${msg.split('\n').slice(0, 8).join('\n')}\n\`\`\``);
  }
}
await section('alloc', async () => (await import('./alloc.bench.ts')).runAllocBench(opt));
await section('codec', async () => (await import('./codec.bench.ts')).runCodecBench(opt));
await section('framing', async () => (await import('./framing.bench.ts')).runFramingBench(opt));
await section('wasm', async () => (await import('./wasm-size.ts')).runWasmSize());
// ptys, child processes and ~1 min: only with --only uart
if (opt.only?.includes('uart')) await section('uart', async () => (await import('./uart/uart.bench.ts')).runUartBench(opt));

// summary
const targets = results.flatMap((r) => r.targets);
const missing = results.flatMap((r) => r.missing.map((m) => `${r.section}: ${m}`));
console.log('\n## Summary — targets\n');
if (targets.length) {
  console.log(formatTable(['section', 'target', 'measured', 'goal', 'result', 'how'], targets.map((t) => [
    t.section, t.name, fmtValue(t.value, t.unit), `${t.op === '>=' ? '≥' : '≤'} ${fmtValue(t.goal, t.unit)}`, t.pass ? 'PASS' : 'FAIL', t.how,
  ]), ['l', 'l', 'r', 'r', 'l', 'l']));
} else console.log('(no targets measured)');
const pass = targets.filter((t) => t.pass).length;
console.log(`\n${pass}/${targets.length} targets PASS${targets.length - pass ? `, ${targets.length - pass} FAIL` : ''}; ${((Date.now() - t0) / 1000).toFixed(0)} s.`);
if (missing.length) console.log(`Not measured: ${missing.join('; ')}.`);
if (errors.length) console.log(`ERRORS (sections aborted): ${errors.join('; ')}.`);

if (opt.json) {
  const file = resolve(process.env.INIT_CWD ?? process.cwd(), opt.json);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({
    bench: 'cell portable core', options: opt, env: { ...env, loadavg_end: os.loadavg() },
    method: 'ops = best of interleaved tinybench rounds (ops/s from the median iteration of K ops); ratios = median over rounds of ops(a)/ops(b), a and b measured back-to-back',
    targets, missing, errors, sections: Object.fromEntries(results.map((r) => [r.section, r.data])),
  }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2));
  process.stderr.write(`[bench] wrote ${file}\n`);
}
if (errors.length) process.exitCode = 1;
