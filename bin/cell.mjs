#!/usr/bin/env node
// The `cell` command (docs/cli.md). An installed package runs the built CLI (dist/cli/main.js);
// a dev checkout without dist/cli runs the TypeScript sources through tsx (a runtime dependency),
// which is then the only case that loads tsx here (a TypeScript cell loads it later, on its own:
// src/cli/loader.ts).
import module from 'node:module';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Node 22.1+: keep V8's compiled code of every module loaded from here on (the CLI, libp2p) in the
// user's cache directory, never in the package; the next start skips compiling them (measured on
// Node 24: −13 % to load the gateway's modules; bench/gateway/RESULTS.md). Node 20 has no such
// API: nothing happens. NODE_DISABLE_COMPILE_CACHE=1 turns it off, NODE_COMPILE_CACHE=dir moves it.
if (typeof module.enableCompileCache === 'function') {
  try { module.enableCompileCache(compileCacheDir()); } catch { /* an unwritable home: no cache */ }
}

function compileCacheDir() {
  const base = process.env.XDG_CACHE_HOME
    || (process.platform === 'darwin' ? join(homedir(), 'Library', 'Caches')
      : process.platform === 'win32' ? (process.env.LOCALAPPDATA || join(homedir(), 'AppData', 'Local'))
        : join(homedir(), '.cache'));
  return join(base, 'cell', 'node-compile-cache');
}

const built = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
// `cell gateway` runs the one-file build of the CLI (scripts/build-bundle.mjs): a service that
// stays up for months pays less memory for one minified module than for ~440 separate ones.
// The other commands may load user cells, which import this package: they run dist/ as it is.
// CELL_GATEWAY_BUNDLE=0 runs the gateway from dist/cli too.
const bundle = fileURLToPath(new URL('../dist/bundle/cell.mjs', import.meta.url));
const useBundle = process.argv[2] === 'gateway' && process.env.CELL_GATEWAY_BUNDLE !== '0' && existsSync(bundle);
let mod;
if (existsSync(built) && process.env.CELL_CLI_FROM_SOURCE !== '1') {
  mod = await import(pathToFileURL(useBundle ? bundle : built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  mod = await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
await mod.runCli(process.argv.slice(2));
