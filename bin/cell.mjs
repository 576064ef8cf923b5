#!/usr/bin/env node
// The `cell` command (docs/cli.md). An installed package runs the built CLI (dist/cli/main.js);
// a dev checkout without dist/cli runs the TypeScript sources through tsx (a runtime dependency).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const built = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
let mod;
if (existsSync(built) && process.env.CELL_CLI_FROM_SOURCE !== '1') {
  mod = await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  mod = await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
await mod.runCli(process.argv.slice(2));
