// The README's code example is examples/readme.ts with package imports; tsc type-checks that file
// as part of `npm test`, so the README cannot show code that does not compile.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';

const readme = suite('README.md');

readme('the example is examples/readme.ts (which tsc checks) with package imports', () => {
  const text = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const block = /## A cell in a dozen lines\n\n```ts\n([\s\S]*?)```/.exec(text)?.[1];
  assert.ok(block, 'README has the example block');
  const file = readFileSync(new URL('../examples/readme.ts', import.meta.url), 'utf8')
    .split('\n').slice(1).join('\n')
    .replace("'../src/codec/index.ts'", "'cell/codec'")
    .replace("'../src/rpc/index.ts'", "'cell/rpc'")
    .replace("'../src/transports/index.ts'", "'cell/transports'");
  assert.is(file, block);
});

readme.run();
