import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compareDescriptions, structDiff } from '../../src/cli/compare.ts';
import { canonicalDescription } from '../../src/cli/schema-cache.ts';
import { describeCell, schemaToJson } from '../../src/codec/schema-json.ts';
import { f32, f64, string, struct, u32, u8 } from '../../src/codec/index.ts';
import { appError, defineCell, method, stream } from '../../src/rpc/index.ts';

const Req = struct('Req', { ch: u8 });
const Reading = struct('Reading', { ch: u8, temp: f32 });
const Fault = struct('Fault', { why: string(16) });
const Item = struct('Item', { i: u32 });
const base = {
  name: 'thermo',
  version: '1.0.0',
  methods: { read: method(Req, Reading, { errors: { fault: appError(1001, Fault) } }) },
  streams: { samples: stream(Req, Item) },
  events: { alarm: Reading },
} as const;
const v1 = describeCell(defineCell(base));
const cached = canonicalDescription(v1);

const cmp = suite('compareDescriptions');

cmp('the same cell (cached form vs described form) is unchanged', () => {
  const r = compareDescriptions(cached, v1);
  assert.is(r.breaking, false);
  assert.is(r.stale, false);
  assert.equal(r.entries.map((e) => `${e.kind} ${e.name} ${e.change}`), ['method read unchanged', 'stream samples unchanged', 'event alarm unchanged']);
});

cmp('a method added is compatible', () => {
  const v2 = describeCell(defineCell({ ...base, version: '1.1.0', methods: { ...base.methods, calibrate: method(Req, Item) } }));
  const r = compareDescriptions(cached, v2);
  assert.is(r.breaking, false);
  assert.is(r.stale, true);
  const e = r.entries.find((x) => x.name === 'calibrate')!;
  assert.is(e.change, 'added');
  assert.is(e.breaking, false);
  assert.is(r.runningVersion, '1.1.0');
});

cmp('a response field changed is breaking, with the field named and both keys', () => {
  const Reading2 = struct('Reading', { ch: u8, temp: f64 });
  const v2 = describeCell(defineCell({ ...base, methods: { read: method(Req, Reading2, { errors: { fault: appError(1001, Fault) } }) } }));
  const r = compareDescriptions(cached, v2);
  assert.is(r.breaking, true);
  const e = r.entries.find((x) => x.name === 'read')!;
  assert.is(e.change, 'changed');
  assert.equal(e.details, ['response.temp: f32 → f64']);
  assert.is.not(e.cachedKey, e.runningKey);
});

cmp('a method removed is breaking', () => {
  const v2 = describeCell(defineCell({ ...base, methods: {} }));
  const e = compareDescriptions(cached, v2).entries.find((x) => x.name === 'read')!;
  assert.is(e.change, 'removed');
  assert.is(e.breaking, true);
});

cmp('errors: a new one is compatible, a changed code is breaking', () => {
  const added = describeCell(defineCell({ ...base, methods: { read: method(Req, Reading, { errors: { fault: appError(1001, Fault), busy: appError(1002) } }) } }));
  let e = compareDescriptions(cached, added).entries.find((x) => x.name === 'read')!;
  assert.is(e.change, 'changed');
  assert.is(e.breaking, false);
  assert.match(e.details[0]!, /busy \(1002\) newly declared/);
  const recoded = describeCell(defineCell({ ...base, methods: { read: method(Req, Reading, { errors: { fault: appError(1005, Fault) } }) } }));
  e = compareDescriptions(cached, recoded).entries.find((x) => x.name === 'read')!;
  assert.is(e.breaking, true);
  assert.match(e.details[0]!, /code 1001 → 1005/);
});

cmp('structDiff names added, removed and nested fields', () => {
  const A = struct('A', { x: u8, inner: struct('In', { y: u8 }) });
  const B = struct('A', { inner: struct('In', { y: u32 }), z: u8 });
  assert.equal(structDiff(schemaToJson(A), schemaToJson(B), 'request'), [
    'request.x: field removed (was u8)', 'request.inner.y: u8 → u32', 'request.z: field added (u8)',
  ]);
});

cmp.run();
