// docs/wire-format.md is the single truth for bytes on the wire: every hex example and the error
// table in it must be what the code produces. Fix with: node --import tsx scripts/doc-examples.ts --write
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { documented, errorRows, examples } from './examples.ts';

const doc = readFileSync(new URL('../../docs/wire-format.md', import.meta.url), 'utf8');
const spec = suite('docs/wire-format.md');

spec('every computed example is in the document, byte for byte', () => {
  const have = documented(doc).examples;
  for (const [name, text] of Object.entries(examples())) {
    assert.is(have[name], text, `example ${name}`);
  }
});

spec('the error-code table lists every code with its stable name', () => {
  assert.is(documented(doc).errors, errorRows());
});

spec.run();
