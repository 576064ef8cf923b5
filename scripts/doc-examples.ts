// Rewrites the hex examples and the error table of docs/wire-format.md from the code.
// Usage: node --import tsx scripts/doc-examples.ts [--write]   (without --write: print a diff hint)
import { readFileSync, writeFileSync } from 'node:fs';
import { rewrite } from '../test/docs/examples.ts';

const path = new URL('../docs/wire-format.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = rewrite(before);
if (before === after) {
  console.log('docs/wire-format.md is up to date');
} else if (process.argv.includes('--write')) {
  writeFileSync(path, after);
  console.log('docs/wire-format.md rewritten');
} else {
  console.log('docs/wire-format.md differs from the code: run with --write');
  process.exitCode = 1;
}
