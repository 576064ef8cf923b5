// The README's demo command (`npm run demo`) works: each of its five parts runs to "… ok" and
// exits 0 (examples/demo.ts, rpc-demo.ts, mesh-demo.ts, secure-demo.ts, can-demo.ts). The mesh and secure parts skip, with the reason,
// where the simulated device cannot run (no socat, serialport or firmware toolchain).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { deviceSimUnavailable } from '../../hw-tests/mesh/device-sim.ts';
import { skipDeclared } from '../helpers/skip.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const test = suite('the README demo');

function run(file: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 240_000 });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

for (const [file, ok] of [['examples/demo.ts', /./], ['examples/rpc-demo.ts', /demo ok/], ['examples/can-demo.ts', /can demo ok/]] as const) {
  test(`${file} runs to the end`, () => {
    const r = run(file);
    assert.is(r.status, 0, r.out.slice(-3000));
    assert.match(r.out, ok);
  });
}

const why = await deviceSimUnavailable();
if (why !== null) {
  skipDeclared(test, 'examples/mesh-demo.ts: a device called by name through the gateway, unplugged and back', why);
} else {
  test('examples/mesh-demo.ts: a device called by name through the gateway, unplugged and back', () => {
    const r = run('examples/mesh-demo.ts');
    assert.is(r.status, 0, r.out.slice(-3000));
    assert.match(r.out, /mesh demo ok/);
    assert.match(r.out, /typed error 401/);
  });
  test('examples/secure-demo.ts: a secured device, refused without the key, called with it and through the gateway', () => {
    const r = run('examples/secure-demo.ts');
    assert.is(r.status, 0, r.out.slice(-3000));
    assert.match(r.out, /secure demo ok/);
    assert.match(r.out, /is secured \(device 7e57000000000042\)/);
    assert.match(r.out, /secured session \d+ with device 7e57000000000042 \(boot 1\)/);
  });
}

test.run();
