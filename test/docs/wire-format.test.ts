// docs/wire-format.md is the single truth for bytes on the wire: every hex example and the error
// table in it must be what the code produces. Fix with: node --import tsx scripts/doc-examples.ts --write
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
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

spec('the fingerprint example: its wire bytes are the first 8 bytes of SHA-256 of the canonical text (§4.4)', () => {
  const [canonical, wire, value] = examples()['fingerprint-reading']!.split('\n');
  const sha = createHash('sha256').update(canonical!, 'utf8').digest().subarray(0, 8);
  assert.is(wire, `wire:  ${[...sha].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`);
  assert.is(value, `value: 0x${Buffer.from(sha).reverse().toString('hex')}`);
});

spec.run();
