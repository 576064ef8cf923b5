import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generateClient, pascalCase } from '../../src/cli/codegen.ts';
import { cacheText, canonicalDescription } from '../../src/cli/schema-cache.ts';
import { defFromDescription } from '../../src/cli/remote.ts';
import { describeCell } from '../../src/codec/schema-json.ts';
import { enumOf, list, optional, string, struct, u16, u8 } from '../../src/codec/index.ts';
import { appError, defineCell, method } from '../../src/rpc/index.ts';

const Mode = enumOf('Mode', { off: 0, on: 1 });
const Pt = struct('Pt', { x: u16 });
const Req = struct('Req', { mode: Mode, pts: list(Pt, 4), label: optional(string(8)) });
// A second struct named Pt, with other fields: must get its own identifier.
const Res = struct('Res', { pt: struct('Pt', { x: u8, y: u8 }), ok: u8 });
const Cell = defineCell({ name: 'my-cell', version: '2.0.0', methods: { go: method(Req, Res, { errors: { nope: appError(1001) } }) } });
const desc = describeCell(Cell as unknown as Parameters<typeof describeCell>[0]); // CellDef of a spec without streams/events types them `unknown`
const imports = { rpc: 'cell/rpc', codec: 'cell/codec', transports: 'cell/transports' };

const gen = suite('generateClient');

gen('declares every type once, nested first, and a connect function', () => {
  const src = generateClient(desc, imports);
  assert.match(src, /export const Mode = enumOf\("Mode", \{ off: 0, on: 1 \}\);/);
  assert.match(src, /export const Pt = struct\("Pt", \{ x: u16 \}\);/);
  assert.match(src, /export const Pt_2 = struct\("Pt", \{ x: u8, y: u8 \}\);/);
  assert.match(src, /label: optional\(string\(8\)\)/);
  assert.match(src, /go: method\(Req, Res, \{ errors: \{ nope: appError\(1001\) \} \}\)/);
  assert.match(src, /export function connectMyCell\(link: Link, opts\?: ConnectionOptions\): Promise<MyCellClient>/);
  assert.match(src, new RegExp(`go: '${desc.methods[0]!.key}'`));
  assert.ok(src.indexOf('const Mode') < src.indexOf('const Req'), 'enum before the struct that uses it');
  assert.ok(!/\bbytes\b/.test(src.split('\n')[3]!), 'imports only what it uses');
});

gen('is deterministic', () => {
  assert.is(generateClient(desc, imports), generateClient(canonicalDescription(desc), imports));
});

gen('pascalCase', () => {
  assert.is(pascalCase('my-cell'), 'MyCell');
  assert.is(pascalCase('sensor_7'), 'Sensor7');
  assert.is(pascalCase('thermo'), 'Thermo');
});

const cache = suite('schema cache');

cache('canonical JSON: sorted keys, entries by name, rebuilds the same keys', () => {
  const text = cacheText(canonicalDescription(desc));
  const parsed = JSON.parse(text) as Record<string, unknown>;
  assert.equal(Object.keys(parsed), ['events', 'format', 'methods', 'name', 'protocol', 'streams', 'version']);
  assert.is(cacheText(JSON.parse(text)), text);
  const def = defFromDescription(parsed as never);
  assert.is(def.entries[0]!.key, Cell.entries[0]!.key);
});

gen.run();
cache.run();
