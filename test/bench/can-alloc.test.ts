// Allocation of the CAN link's frame path (bench/can/alloc.ts does the work; `npm run bench:can`
// prints the same figures): a compact call both ways between two CanBus nodes joined by a
// synchronous driver pair — call table, compact header, segmentation, reassembly, expansion —
// allocates nothing after warm-up: no scavenge in 300 000 calls, classic (4 frames a call) or FD
// (2 frames). Counts, never time. Measured in a fresh process: in the one process that runs every
// suite, other suites' type feedback can keep these functions from being optimised in time, and
// unoptimised code boxes numbers.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CanAllocReport } from '../../bench/can/alloc.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const alloc = suite('CAN link allocation');

function measure(): CanAllocReport & { text: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/can/alloc.ts', '300000'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`bench/can/alloc.ts failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(line) as CanAllocReport & { text: string };
}

alloc('a call through the CAN profile allocates nothing after warm-up (classic and FD)', () => {
  // Up to three runs: on a loaded machine the optimising compiler may still be busy when the
  // measured loop starts. A run with no GC settles it.
  let r = measure();
  for (let i = 0; i < 2 && r.classic.minor + r.classic.major + r.fd.minor + r.fd.major > 0; i++) r = measure();
  assert.is(r.framesPerCallClassic, 4, r.text);
  assert.is(r.framesPerCallFd, 2, r.text);
  assert.is(r.classic.minor + r.classic.major, 0, `classic calls allocate: ${r.text}`);
  assert.is(r.fd.minor + r.fd.major, 0, `FD calls allocate: ${r.text}`);
});

alloc.run();
