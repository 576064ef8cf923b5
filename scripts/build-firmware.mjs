#!/usr/bin/env node
// Native firmware build: AssemblyScript app → wasm (asc) → C (wasm2c) → Cortex-M3 ELF
// (arm-none-eabi-gcc + firmware/runtime), for every board. docs/firmware.md describes the chain.
//
// Usage: node scripts/build-firmware.mjs [app ...] [--board <name>]... [--json] [--force] [--quiet] [--wasm-only]
//   app        a directory firmware/<app>/ with app.ts (default: every such directory)
//   --board    mps2-an385 | lm3s6965evb (default: both)
//   --json     print the footprint as JSON on stdout (for programs), nothing else
//   --force    rebuild even when the outputs are newer than every input
//   --quiet    no progress lines
//   --wasm-only  only build/firmware/<app>.wasm (the simulator's input; needs asc, no arm toolchain)
// Outputs: build/firmware/<app>.wasm, build/firmware/<app>-<board>.elf (+ .map), and the
// footprint table. An app with a firmware/<app>/gen.ts (a Node module, e.g. firmware/thermo) has it
// run first (`node --import tsx`): it generates the app's AssemblyScript codecs and constants from
// its TypeScript schema. Per-app settings in firmware/<app>/firmware.json:
//   wasmMemoryBytes  static buffer behind the wasm linear memory  @default 8192
//   stackBytes       C stack                                        @default 2048
//   gen              another app's generator to run instead of firmware/<app>/gen.ts (an app that
//                    reuses a cell: firmware/thermo-secure runs firmware/thermo/gen.ts)
//   inputs           more files/directories the app is built from (for the up-to-date check)
//   ascOptimize      asc's optimisation flag instead of -Oz (e.g. "-Os": speed against flash)
// An app may live one level down (firmware/thermo-secure/bench/app.ts: "thermo-secure/bench");
// only top-level apps are built by default.
import { spawnSync } from 'node:child_process';
import {
  existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync,
  copyFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const fwDir = join(root, 'firmware');
const rtDir = join(fwDir, 'runtime');
const outDir = join(root, 'build', 'firmware');

export const BOARDS = ['mps2-an385', 'lm3s6965evb'];

export const ASC_FLAGS = [
  '-Oz', '--converge', '--runtime', 'stub', '--noAssert', '--use', 'abort=',
  '--uncheckedBehavior', 'always',
  // Our own config, so that options of the project's asconfig.json (the portable-core wasm
  // builds) never leak into firmware builds: no JS bindings, no source maps.
  '--config', 'firmware/asconfig.json',
];
export const CC_FLAGS = [
  '-mcpu=cortex-m3', '-mthumb', '-Os', '-g', '-std=gnu11',
  '-ffunction-sections', '-fdata-sections', '-fno-common', '-DNDEBUG',
  '-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0', '-DWASM_RT_USE_STACK_DEPTH_COUNT=1',
  '-DWASM_RT_MAX_CALL_STACK_DEPTH=64',
  // wasm2c registers every function type of the module (wasm-rt-bare.c keeps 16 by default, 12 B
  // of RAM each): thermo-secure has 16; two spare, so that one more import type does not panic
  // every image at boot ("func type table full": the firmware tests catch it) while RAM stays
  // inside thermo-secure's 8 KiB on lm3s6965evb.
  '-DCELL_MAX_FUNC_TYPES=18',
];
export const LD_FLAGS = ['-nostartfiles', '-specs=nano.specs', '-specs=nosys.specs', '-Wl,--gc-sections'];
// cell-aead.c: the AEAD behind env.aead_* (host.c); --gc-sections drops it from apps without them.
export const RUNTIME_SOURCES = ['wasm-rt-bare.c', 'host.c', 'cortex-m.c', 'cell-aead.c'];
const PORTABLE_DIRS = ['src/wire', 'src/framing', 'src/codec'];
// Shared AssemblyScript of RPC apps (firmware/shared/rpc.ts, gen-cell.ts).
const SHARED_DIR = 'firmware/shared';
// What an app's gen.ts reads besides its own directory: keys and the HELLO payload (src/rpc).
const GEN_INPUT_DIRS = ['src/rpc'];

class BuildError extends Error {
  code = 'EBUILDFW';
}

function parseArgs(argv) {
  const opts = { apps: [], boards: [], json: false, force: false, quiet: false, wasmOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') opts.json = true;
    else if (a === '--force') opts.force = true;
    else if (a === '--quiet') opts.quiet = true;
    else if (a === '--wasm-only') opts.wasmOnly = true;
    else if (a === '--board') opts.boards.push(argv[++i]);
    else if (a.startsWith('--board=')) opts.boards.push(a.slice(8));
    else if (a === '-h' || a === '--help') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 16).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    } else if (a.startsWith('-')) throw new BuildError(`unknown option ${a}`);
    else opts.apps.push(a);
  }
  for (const b of opts.boards) {
    if (!BOARDS.includes(b)) throw new BuildError(`unknown board "${b}" (known: ${BOARDS.join(', ')})`);
  }
  if (opts.boards.length === 0) opts.boards = [...BOARDS];
  if (opts.apps.length === 0) opts.apps = listApps();
  for (const app of opts.apps) {
    if (!existsSync(join(fwDir, app, 'app.ts'))) throw new BuildError(`no firmware app "${app}" (expected firmware/${app}/app.ts)`);
  }
  return opts;
}

/** Every firmware/<dir>/ with an app.ts (firmware/core and firmware/runtime have none). */
export function listApps() {
  return readdirSync(fwDir).filter((d) => existsSync(join(fwDir, d, 'app.ts'))).sort();
}

/** Run a build tool in the repo root; its stdout, or a BuildError (code EBUILDFW) with its output. */
export function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new BuildError(`${what}: cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    throw new BuildError(`${what} failed (exit ${r.status}):\n  ${cmd} ${args.join(' ')}\n${(r.stderr || r.stdout || '').trim()}`);
  }
  return r.stdout;
}

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Check every tool of the chain; throw one readable error listing what is missing. */
export function checkTools({ wasmOnly = false } = {}) {
  const missing = [];
  const asc = join(root, 'node_modules', '.bin', 'asc');
  if (!existsSync(asc)) missing.push('asc (npm devDependency "assemblyscript": run `npm ci`)');
  if (wasmOnly) {
    if (missing.length) throw new BuildError(`firmware toolchain incomplete; missing:\n  - ${missing.join('\n  - ')}`);
    return { asc, rtHeader: null };
  }
  if (!which('wasm2c')) missing.push('wasm2c (apt package "wabt")');
  const rtHeader = ['/usr/src/wasm2c/wasm-rt.h', '/usr/share/wabt/wasm2c/wasm-rt.h', '/usr/local/share/wabt/wasm2c/wasm-rt.h']
    .find((p) => existsSync(p));
  if (which('wasm2c') && !rtHeader) missing.push('wasm-rt.h (apt package "wabt": /usr/src/wasm2c/wasm-rt.h)');
  const gcc = which('arm-none-eabi-gcc');
  if (!gcc) missing.push('arm-none-eabi-gcc (apt package "gcc-arm-none-eabi")');
  if (!which('arm-none-eabi-size')) missing.push('arm-none-eabi-size (apt package "binutils-arm-none-eabi")');
  if (gcc) {
    const r = spawnSync('arm-none-eabi-gcc', ['-mcpu=cortex-m3', '-mthumb', '-specs=nano.specs', '-print-file-name=libc_nano.a'], { encoding: 'utf8' });
    const lib = (r.stdout || '').trim();
    if (r.status !== 0 || !lib.startsWith('/') || !existsSync(lib)) {
      missing.push('newlib for arm-none-eabi (apt package "libnewlib-arm-none-eabi")');
    }
  }
  if (missing.length) {
    throw new BuildError(
      `firmware toolchain incomplete; missing:\n  - ${missing.join('\n  - ')}\n` +
      'install: apt-get install -y gcc-arm-none-eabi libnewlib-arm-none-eabi wabt',
    );
  }
  return { asc, rtHeader };
}

function appConfig(app) {
  const p = join(fwDir, app, 'firmware.json');
  const cfg = existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) : {};
  return {
    wasmMemoryBytes: cfg.wasmMemoryBytes ?? 8192,
    stackBytes: cfg.stackBytes ?? 2048,
    description: cfg.description ?? '',
    gen: cfg.gen ? join(root, cfg.gen) : join(fwDir, app, 'gen.ts'),
    inputs: (cfg.inputs ?? []).map((p) => join(root, p)),
    ascFlags: cfg.ascOptimize ? [cfg.ascOptimize, ...ASC_FLAGS.slice(1)] : ASC_FLAGS,
  };
}

/** Newest mtime of the files under `paths` (directories walked), 0 when none exist. */
export function newestMtime(paths) {
  let t = 0;
  const visit = (p) => {
    if (!existsSync(p)) return;
    const s = statSync(p);
    if (s.isDirectory()) for (const n of readdirSync(p)) visit(join(p, n));
    else if (s.mtimeMs > t) t = s.mtimeMs;
  };
  for (const p of paths) visit(p);
  return t;
}

export function mtime(p) {
  return existsSync(p) ? statSync(p).mtimeMs : -1;
}

/** Section sizes of an ELF (arm-none-eabi-size -A), folded into flash/RAM figures. */
export function footprint(elf) {
  const out = run('arm-none-eabi-size', ['-A', '-d', elf], 'arm-none-eabi-size');
  const sec = {};
  for (const line of out.split('\n')) {
    const m = line.match(/^(\.\S+)\s+(\d+)\s+(\d+)/);
    if (m) sec[m[1]] = Number(m[2]);
  }
  const text = (sec['.text'] ?? 0) + (sec['.ARM.exidx'] ?? 0);
  const data = sec['.data'] ?? 0;
  // .noinit (RAM kept across a reset, e.g. lm3s6965evb's boot counter pages) counts as bss here.
  const bss = (sec['.bss'] ?? 0) + (sec['.noinit'] ?? 0);
  const stack = sec['.stack'] ?? 0;
  return { text, data, bss, stack, flash: text + data, ram: data + bss + stack };
}

function buildApp(app, boards, tools, opts, log) {
  const cfg = appConfig(app);
  const wasm = join(outDir, `${app}.wasm`);
  const work = join(outDir, app);
  // The app, the runtime, the portable core the app may import, and this script.
  const gen = cfg.gen;
  if (existsSync(gen)) {
    // Writes its outputs only when they change, so an unchanged schema rebuilds nothing.
    const r = spawnSync(process.execPath, ['--import', 'tsx', gen], { cwd: root, encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new BuildError(`${relative(root, gen)} failed (exit ${r.status}):\n${(r.stderr || r.error?.message || '').trim()}`);
    if (r.stderr.trim()) log(r.stderr.trim());
  }
  const inputs = [
    join(fwDir, app), rtDir, join(root, SHARED_DIR), ...PORTABLE_DIRS.map((d) => join(root, d)), fileURLToPath(import.meta.url),
    ...(existsSync(gen) ? GEN_INPUT_DIRS.map((d) => join(root, d)) : []), ...cfg.inputs,
  ];
  const newestInput = newestMtime(inputs);
  const elfs = opts.wasmOnly ? [] : boards.map((b) => join(outDir, `${app}-${b}.elf`));
  const upToDate = !opts.force && mtime(wasm) > newestInput && elfs.every((e) => mtime(e) > newestInput);

  if (!upToDate) {
    mkdirSync(work, { recursive: true });
    log(`asc     firmware/${app}/app.ts → ${relative(root, wasm)}`);
    const tmpWasm = join(outDir, `${app}.tmp-${process.pid}.wasm`);
    run(tools.asc, [join('firmware', app, 'app.ts'), '-o', tmpWasm, '-t', join(work, 'app.wat'), ...cfg.ascFlags], 'asc');
    renameSync(tmpWasm, wasm);
  }
  if (!upToDate && !opts.wasmOnly) {
    log(`wasm2c ${relative(root, wasm)} → ${relative(root, work)}/app.c`);
    run('wasm2c', [wasm, '-n', 'app', '-o', join(work, 'app.c')], 'wasm2c');
    const header = readFileSync(join(work, 'app.h'), 'utf8');
    if (!header.includes('Z_app_instantiate')) {
      const v = spawnSync('wasm2c', ['--version'], { encoding: 'utf8' }).stdout.trim();
      throw new BuildError(`wasm2c ${v} emits a different C API; firmware/runtime targets wabt 1.0.32 (Debian 12 "wabt")`);
    }
    copyFileSync(tools.rtHeader, join(work, 'wasm-rt.h'));

    for (const board of boards) {
      const elf = join(outDir, `${app}-${board}.elf`);
      log(`gcc     ${relative(root, elf)}`);
      const tmpElf = `${elf}.tmp-${process.pid}`;
      const defs = [`-DCELL_WASM_MEM_BYTES=${cfg.wasmMemoryBytes}`];
      // The generated code is compiled on its own with -w: its warnings are wabt's business.
      const obj = join(work, `app-${board}.o`);
      run('arm-none-eabi-gcc', [...CC_FLAGS, ...defs, `-I${work}`, `-I${rtDir}`, '-w', '-c', '-o', obj, join(work, 'app.c')],
        `arm-none-eabi-gcc (${app}, ${board}, generated code)`);
      run('arm-none-eabi-gcc', [
        ...CC_FLAGS, ...defs, '-Wall', '-Wextra', '-Werror', `-I${work}`, `-I${rtDir}`, ...LD_FLAGS, `-L${rtDir}`,
        `-Wl,--defsym=_stack_bytes=${cfg.stackBytes}`, `-T${join(rtDir, `${board}.ld`)}`,
        `-Wl,-Map=${join(outDir, `${app}-${board}.map`)}`,
        '-o', tmpElf, obj, ...RUNTIME_SOURCES.map((s) => join(rtDir, s)), join(rtDir, `board-${board}.c`), '-lm',
      ], `arm-none-eabi-gcc (${app}, ${board})`);
      renameSync(tmpElf, elf);
    }
  }
  if (upToDate) log(`up to date: ${app} (${opts.wasmOnly ? 'wasm' : boards.join(', ')})`);

  const wasmBytes = statSync(wasm).size;
  if (opts.wasmOnly) return [{ app, board: null, wasm: relative(root, wasm), wasmBytes, wasmMemoryBytes: cfg.wasmMemoryBytes }];
  return boards.map((board) => {
    const elf = join(outDir, `${app}-${board}.elf`);
    return {
      app, board, elf: relative(root, elf), wasmBytes, wasmMemoryBytes: cfg.wasmMemoryBytes,
      ...footprint(elf),
    };
  });
}

function table(rows) {
  const cols = [
    ['app', 'app'], ['board', 'board'], ['wasm', 'wasmBytes'], ['text', 'text'], ['data', 'data'],
    ['bss', 'bss'], ['stack', 'stack'], ['flash', 'flash'], ['ram', 'ram'], ['wasm mem', 'wasmMemoryBytes'],
  ];
  const cells = [cols.map((c) => c[0]), ...rows.map((r) => cols.map((c) => String(r[c[1]])))];
  const w = cols.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => r.map((v, i) => (i < 2 ? v.padEnd(w[i]) : v.padStart(w[i]))).join('  ');
  return [line(cells[0]), ...cells.slice(1).map(line)].join('\n') +
    '\n(bytes; flash = text + data; ram = data + bss + stack; bss includes the wasm memory buffer)';
}

/** Build apps for boards; returns footprint rows. Throws BuildError with a readable message. */
export function buildFirmware({ apps = listApps(), boards = BOARDS, force = false, quiet = true, wasmOnly = false } = {}) {
  const tools = checkTools({ wasmOnly });
  mkdirSync(outDir, { recursive: true });
  const log = quiet ? () => {} : (m) => console.error(m);
  return apps.flatMap((app) => buildApp(app, boards, tools, { force, wasmOnly }, log));
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  try {
    const opts = parseArgs(process.argv.slice(2));
    const rows = buildFirmware({ ...opts, quiet: opts.quiet || opts.json });
    if (opts.json) console.log(JSON.stringify(rows, null, 2));
    else if (opts.wasmOnly) for (const r of rows) console.log(`${r.wasm}  ${r.wasmBytes} bytes`);
    else console.log(table(rows));
  } catch (e) {
    if (e?.code === 'EBUILDFW') {
      console.error(`build-firmware: ${e.message}`);
      process.exit(1);
    }
    throw e;
  }
}
