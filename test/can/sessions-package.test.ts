// The `cell/can` subpath (package.json "exports", rollup entry src/can/index.ts): it exposes the
// bus, the drivers' open functions and the session layer, and importing it loads no native addon
// and no serialport (SocketCAN's addon loads when a socket is opened, serialport when an slcan
// adapter is); the package root does not reach src/can at all.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const test = suite('cell/can subpath');

test('package.json exports ./can → dist/can/index.js with types; rollup builds src/can/index.ts', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; import: string }> };
  assert.equal(pkg.exports['./can'], { types: './dist/can/index.d.ts', import: './dist/can/index.js' });
  assert.match(readFileSync(join(root, 'rollup.config.mjs'), 'utf8'), /'src\/can\/index\.ts'/);
});

test('importing it loads no .node addon and no serialport; it has what a user needs', () => {
  const script = `
    const m = await import(${JSON.stringify(join(root, 'src/can/index.ts'))});
    const { createRequire } = await import('node:module');
    const req = createRequire(${JSON.stringify(root + '/')});
    const loaded = Object.keys(req.cache).filter((k) => k.endsWith('.node') || k.includes('serialport'));
    console.log(JSON.stringify({ names: Object.keys(m).sort(), loaded }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { names: string[]; loaded: string[] };
  assert.equal(out.loaded, []);
  for (const n of ['CanBus', 'CanPeerLink', 'MemoryCanBus', 'openSocketCan', 'openSlcan', 'openCanDriver', 'CanDevices', 'CanDevice', 'connectCan', 'serveCan', 'canAddonStatus']) {
    assert.ok(out.names.includes(n), `cell/can exports ${n}`);
  }
});

test('the package root does not reach src/can', () => {
  const text = readFileSync(join(root, 'src/index.ts'), 'utf8');
  assert.not.match(text, /can\//);
});

test.run();
