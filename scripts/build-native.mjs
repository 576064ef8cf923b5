#!/usr/bin/env node
// Builds each optional N-API addon native/<name>/*.c into native/<name>/build/cell_<name>.node
// with the system C compiler against the local Node-API headers: no node-gyp, no python.
// Node-API is ABI-stable, so one build loads in every Node from 20 on.
// Without a compiler or headers it prints what is missing and exits 0: the addons are optional
// (their transports fall back or report why they are absent). A compile error exits 1, except
// with --optional (the package's install script), which never fails an install.
// Skips an addon whose .node is newer than its sources and this script. Set CC to pick a compiler.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const root = resolve(dirname(self), '..');
const optional = process.argv.includes('--optional');
const say = (msg) => console.log(`build-native: ${msg}`);

function main() {
  const nativeDir = join(root, 'native');
  const addons = existsSync(nativeDir)
    ? readdirSync(nativeDir).filter((n) => statSync(join(nativeDir, n)).isDirectory() && readdirSync(join(nativeDir, n)).some((f) => f.endsWith('.c')))
    : [];
  if (addons.length === 0) return 0;

  const include = [resolve(process.execPath, '../../include/node'), '/usr/include/node']
    .find((d) => existsSync(join(d, 'node_api.h')));
  if (include === undefined) {
    say(`skipped ${addons.join(', ')}: no Node-API headers (node_api.h next to ${process.execPath} or in /usr/include/node); use a Node.js build that ships include/node (official tarball, nvm) or apt-get install libnode-dev`);
    return 0;
  }
  const cc = process.env.CC || 'cc';
  if (spawnSync(cc, ['--version'], { stdio: 'ignore' }).status !== 0) {
    say(`skipped ${addons.join(', ')}: no C compiler (\`${cc}\`); apt-get install build-essential (or set CC)`);
    return 0;
  }

  let failed = 0;
  for (const name of addons) {
    const dir = join(nativeDir, name);
    const sources = readdirSync(dir).filter((f) => /\.[ch]$/.test(f)).map((f) => join(dir, f));
    const out = join(dir, 'build', `cell_${name}.node`);
    const newest = Math.max(statSync(self).mtimeMs, ...sources.map((f) => statSync(f).mtimeMs));
    if (existsSync(out) && statSync(out).mtimeMs > newest) {
      say(`${relative(root, out)} is up to date (${statSync(out).size} bytes)`);
      continue;
    }
    mkdirSync(dirname(out), { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`; // renamed into place: a loader never sees half a file
    const args = ['-O2', '-fPIC', '-shared', '-std=c11', '-Wall', '-Wextra', '-Werror', '-fvisibility=hidden',
      `-I${include}`, '-o', tmp, ...sources.filter((f) => f.endsWith('.c'))];
    if (process.platform === 'linux') args.push('-lrt'); // shm_open lives in librt before glibc 2.34
    if (process.platform === 'darwin') args.push('-undefined', 'dynamic_lookup'); // napi_* come from node
    const run = spawnSync(cc, args, { encoding: 'utf8' });
    if (run.status !== 0) {
      rmSync(tmp, { force: true });
      say(`FAILED ${relative(root, out)}: ${cc} ${args.join(' ')}\n${run.stderr || run.error?.message || ''}`);
      failed++;
      continue;
    }
    renameSync(tmp, out);
    say(`built ${relative(root, out)} (${statSync(out).size} bytes)`);
  }
  return failed > 0 && !optional ? 1 : 0;
}

try {
  process.exitCode = main();
} catch (err) {
  say(`${optional ? 'skipped' : 'FAILED'}: ${err?.stack ?? err}`);
  process.exitCode = optional ? 0 : 1;
}
