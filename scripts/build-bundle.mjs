#!/usr/bin/env node
// The gateway's one-file build (docs/gateway.md §5 "Footprint"): dist/bundle/cell.mjs is the whole
// CLI (dist/cli/main.js and everything it imports, libp2p included) bundled by esbuild into one
// minified ES module, which bin/cell.mjs runs for `cell gateway`. A long-running gateway on a small
// board pays for every module it loads: ~440 separate modules each keep a module record and their
// full source text (two bytes per character when a file holds any non-Latin-1 character, as
// comments often do), where one minified, ASCII-only file keeps ~2 MB. It also starts faster (one
// file to read and compile). bench/gateway/RESULTS.md has the figures.
//
// The other commands keep running dist/cli/main.js: `cell run`, `cell test` and `cell mesh up`
// load the user's cells, which import the package itself; a second, bundled copy of the runtime
// in the same process would split class identities (instanceof) and module state.
//
// Kept external: native code, found at run time next to its own files (@serialport/bindings-cpp
// locates its prebuilds from its own directory; the QUIC transport's per-CPU binary packages and
// any .node file), and tsx (loaded only for TypeScript cells, by the commands that never run from
// here). The QUIC transport's JavaScript is bundled: left external, it loaded its own second copy
// of libp2p's utilities and the noble curves from node_modules, ~2.7 MB of source text.
//
// Usage: node scripts/build-bundle.mjs [--quiet]   (run by `npm run build` after rollup)
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = join(root, 'dist', 'bundle');
const entry = join(root, 'dist', 'cli', 'main.js');
const quiet = process.argv.includes('--quiet');

if (!existsSync(entry)) {
  console.error('build-bundle: dist/cli/main.js is missing: run `npm run build` (rollup writes dist/ first)');
  process.exit(1);
}
mkdirSync(outDir, { recursive: true });

const result = await build({
  entryPoints: [entry],
  outfile: join(outDir, 'cell.mjs'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  // ASCII output: V8 then keeps the source as a one-byte string (half the memory of two-byte).
  charset: 'ascii',
  sourcemap: 'linked',
  legalComments: 'none',
  external: ['@serialport/bindings-cpp', '@chainsafe/libp2p-quic-*', '*.node', 'tsx', 'tsx/*', 'esbuild'],
  // CommonJS dependencies inside an ES module need a `require` of their own.
  banner: { js: "import { createRequire as __cellCreateRequire } from 'node:module'; const require = __cellCreateRequire(import.meta.url);" },
  logLevel: 'warning',
  // rollup leaves a bare `import '../rpc/index.js'` where a module imported only types from it;
  // those modules have no side effects, so dropping them is right. A module that does have one
  // (the Node 20 polyfill) is listed in package.json "sideEffects" and kept.
  logOverride: { 'ignored-bare-import': 'silent' },
  metafile: true,
});
if (result.warnings.length > 0) process.exitCode = 1;

// The framing accelerator is looked for next to the module that loads it (src/framing/wasm-accel.ts).
const wasm = join(root, 'dist', 'framing', 'framing-accel.wasm');
if (existsSync(wasm)) copyFileSync(wasm, join(outDir, 'framing-accel.wasm'));

if (!quiet) {
  const bytes = statSync(join(outDir, 'cell.mjs')).size;
  const inputs = Object.keys(result.metafile.inputs).length;
  console.error(`build-bundle: dist/bundle/cell.mjs ${(bytes / 1048576).toFixed(2)} MiB from ${inputs} modules`);
}
