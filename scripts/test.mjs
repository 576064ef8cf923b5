#!/usr/bin/env node
// Runs every fast suite (test/**/*.test.ts) with uvu under tsx, then prints one closing line
// "N passed, N failed, N skipped" that CI reads. Usage: node scripts/test.mjs [pattern]
// Set CELL_TEST_FILTER to a substring to run only matching files.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dirs = process.argv.slice(2).length ? process.argv.slice(2) : ['test'];
const filter = process.env.CELL_TEST_FILTER ?? '';

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts') && p.includes(filter)) out.push(p);
  }
  return out;
}
const files = dirs.flatMap((d) => walk(join(root, d), [])).sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

// The type tests (`// @ts-expect-error` on wrong calls, inferred types) are part of the suite:
// a typed client that tsc does not check is no typed client. Skipped with CELL_TEST_FILTER.
let typeFailures = 0;
let typePasses = 0;
if (filter === '') {
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', join(root, 'tsconfig.json')], {
    cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024,
  });
  if (tsc.status === 0) {
    typePasses = 1;
    console.log('tsc --noEmit -p tsconfig.json: the whole tree type-checks (type tests included)');
  } else {
    typeFailures = 1;
    console.log('FAIL tsc --noEmit -p tsconfig.json:');
    console.log(tsc.stdout, tsc.stderr);
  }
}

const runner = `
  const { run } = await import('uvu/run');
  const files = ${JSON.stringify(files)};
  await run(files.map((file) => ({ name: ${JSON.stringify(root)} ? file.slice(${root.length}) : file, file })), { bail: false });
`;
const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', runner], {
  cwd: root,
  env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
  encoding: 'utf8',
  maxBuffer: 256 * 1024 * 1024,
});
process.stdout.write(child.stdout ?? '');
process.stderr.write(child.stderr ?? '');
const out = child.stdout ?? '';
const num = (label) => Number(out.match(new RegExp(`${label}:\\s+(\\d+)`))?.[1] ?? NaN);
const total = num('Total');
const passed = num('Passed');
if (Number.isNaN(total) || Number.isNaN(passed)) {
  console.log(`0 passed, 1 failed, 0 skipped`);
  console.error(`test runner did not finish (exit ${child.status}, signal ${child.signal})`);
  process.exit(1);
}
// uvu's Total counts the tests it ran; tests registered with `.skip` are not in it but in its
// "Skipped". A test that finds inside its body that it cannot run ends as passed for uvu: it
// prints a marker line (skipTest in test/helpers/skip.ts), counted here as skipped, not passed.
const SKIP_MARKER = '[cell:skipped]';
const marked = out.split('\n').filter((l) => l.trimStart().startsWith(SKIP_MARKER)).length;
const skipped = (num('Skipped') || 0) + Math.min(marked, passed);
const failed = (Math.max(0, total - passed) || (child.status !== 0 ? 1 : 0)) + typeFailures;
console.log(`${passed - Math.min(marked, passed) + typePasses} passed, ${failed} failed, ${skipped} skipped`);
process.exit(child.status === 0 && failed === 0 ? 0 : 1);
