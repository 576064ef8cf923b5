#!/usr/bin/env node
// Builds the AssemblyScript side of the portable core (docs/portable-subset.md):
//   1. generates AssemblyScript for the portable test schemas (test/portable/schemas.ts) with
//      src/codec/codegen-as.ts into build/as-gen/{codec,harness}.ts;
//   2. compiles asconfig.json target `core` (firmware/core/vectors*.ts + the harness, for the
//      vector tests, vectors-secure.ts for src/secure's AEAD, vectors-can.ts for the CAN profile's
//      transfers and compact header; firmware/core/rpc-vectors.ts: the
//      device's RPC core, for the RPC conformance vectors) and target `small` (the smallest
//      profile) twice: firmware/core/small.ts
//      (header, COBS, CRC, frameEncode, deframer) → small.wasm, and firmware/core/small-core.ts
//      (header, COBS, CRC only: the 4 KiB budget) → small-core.wasm, into build/wasm/;
//      and target `accel` (firmware/core/accel.ts: frameEncode + deframer compiled for speed,
//      the Node-side framing accelerator of src/framing/wasm-accel.ts) → framing-accel.wasm;
//   3. prints each wasm's size in bytes.
// Usage: node scripts/build-wasm.mjs [--json] [--target core|small|accel]   (npm run build:wasm)
// Exits non-zero on any compile error. Without --target the `small` and `accel` builds run in a second
// process while `core` compiles (binaryen's optimizer is most of the time): a few seconds on an
// idle machine. Tests call it when the wasm is missing or older than its sources.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';
import asc from 'assemblyscript/asc';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const json = args.includes('--json');
const only = args.includes('--target') ? args[args.indexOf('--target') + 1] : undefined;
if (only !== undefined && only !== 'core' && only !== 'small' && only !== 'accel') {
  console.error(`unknown --target ${only} (core, small or accel)`);
  process.exit(2);
}
/** Internal: the parent already generated build/as-gen/. */
const noGen = args.includes('--no-gen');
const log = (msg) => { if (!json) console.log(msg); };

/** Framing sources the `core` and `small` entries import (src/framing). */
const FRAMING = ['cobs', 'crc32c', 'frame', 'deframer'].map((n) => `src/framing/${n}.ts`);

// Writes go to a temporary name and are renamed into place, so a test run that starts a build
// while another one is reading never sees half a file.
function writeIfChanged(path, text) {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return;
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

async function generate() {
  const unregister = register();
  try {
    const gen = await import(pathToFileURL(join(root, 'src/codec/codegen-as.ts')).href);
    const schemas = await import(pathToFileURL(join(root, 'test/portable/schemas.ts')).href);
    const structs = await schemas.portableSchemas();
    const dir = join(root, 'build/as-gen');
    mkdirSync(dir, { recursive: true });
    writeIfChanged(join(dir, 'codec.ts'), gen.generateAssemblyScript(structs, { banner: 'Schemas: test/portable/schemas.ts (node scripts/build-wasm.mjs)' }));
    writeIfChanged(join(dir, 'harness.ts'), gen.generateAssemblyScriptHarness(structs, { ioModule: '../../firmware/core/io.ts' }));
    return structs.map((s) => s.name);
  } finally {
    await unregister();
  }
}

async function compile(target, entries, outFile) {
  let stderr = '';
  const file = join(root, outFile ?? JSON.parse(readFileSync(join(root, 'asconfig.json'), 'utf8')).targets[target].outFile);
  const tmp = `${file}.${process.pid}.tmp`;
  const { error } = await asc.main(['--config', 'asconfig.json', '--target', target, '--outFile', tmp, ...entries], {
    stdout: { write: (s) => { if (!json) process.stdout.write(s); return true; } },
    stderr: { write: (s) => { stderr += s; return true; } },
    readFile: (name, baseDir) => {
      const p = join(baseDir, name);
      return existsSync(p) ? readFileSync(p, 'utf8') : null;
    },
  });
  if (error) {
    const err = new Error(`asc target ${target} failed: ${error.message}\n${stderr}`);
    err.stderr = stderr;
    throw err;
  }
  if (stderr.trim() && !json) process.stderr.write(stderr);
  renameSync(tmp, file);
  return { target, entry: entries[0], file: relative(root, file), bytes: statSync(file).size };
}

/** Run this script for `small` in a child process; resolves to its JSON result. */
function buildSmallInChild() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--target', 'small', '--no-gen', '--json'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      let r;
      try { r = JSON.parse(out.trim().split('\n').pop() ?? ''); } catch { r = { ok: false, error: out }; }
      if (code === 0 && r.ok) resolve(r.wasm);
      else reject(new Error(r.error ?? `build of target small exited with ${code}`));
    });
  });
}

async function main() {
  process.chdir(root);
  mkdirSync(join(root, 'build/wasm'), { recursive: true });
  const t0 = performance.now();
  const structs = noGen ? [] : await generate();
  const haveFraming = FRAMING.every((f) => existsSync(join(root, f)));
  if (!haveFraming) log(`note: ${FRAMING.filter((f) => !existsSync(join(root, f))).join(', ')} missing — building without framing exports`);
  const results = [];
  const small = haveFraming && !only ? buildSmallInChild() : undefined;
  small?.catch(() => {}); // awaited below; keeps an early failure from being unhandled
  if (!only || only === 'core') {
    const entries = ['firmware/core/vectors.ts', 'firmware/core/rpc-vectors.ts', 'build/as-gen/harness.ts'];
    if (haveFraming) entries.splice(1, 0, 'firmware/core/vectors-framing.ts');
    // ChaCha20-Poly1305 and HChaCha20 of src/secure (test/portable/secure-wasm.test.ts).
    entries.splice(1, 0, 'firmware/core/vectors-secure.ts');
    // The CAN profile's transfers and compact header (test/portable/can-wasm.test.ts).
    entries.splice(1, 0, 'firmware/core/vectors-can.ts');
    results.push(await compile('core', entries));
  }
  if (only === 'small' && haveFraming) {
    results.push(await compile('small', ['firmware/core/small.ts']));
    results.push(await compile('small', ['firmware/core/small-core.ts'], 'build/wasm/small-core.wasm'));
  }
  if ((only === 'small' || only === 'accel') && haveFraming) {
    results.push(await compile('accel', ['firmware/core/accel.ts']));
  }
  if (small) results.push(...(await small));
  const ms = Math.round(performance.now() - t0);
  if (json) {
    console.log(JSON.stringify({ ok: true, framing: haveFraming, schemas: structs, wasm: results, ms }));
  } else {
    for (const r of results) log(`${r.file.padEnd(28)} ${String(r.bytes).padStart(7)} bytes  (target ${r.target}: ${r.entry})`);
    log(`schemas: ${structs.join(', ')} (${ms} ms)`);
  }
}

main().catch((e) => {
  if (json) console.log(JSON.stringify({ ok: false, error: String(e.message ?? e) }));
  else console.error(e.message ?? e);
  process.exit(1);
});
