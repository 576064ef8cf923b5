// schemaToJson / schemaFromJson / describeCell (src/codec/schema-json.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  struct, structType, u8, i8, u16, i16, u32, i32, u64, i64, f32, f64, bool, string, bytes, array, list, enumOf, optional,
  canonicalText, type StructType,
} from '../../src/codec/index.ts';
import { schemaToJson, schemaFromJson, describeCell } from '../../src/codec/schema-json.ts';
import { Thermo } from '../rpc/fixtures/thermo.ts';

const Mode = enumOf('Mode', { off: 0, on: 1, auto: 7 });
const Inner = structType('Inner', { a: u8, b: optional(i16) });
const Every = structType('Every', {
  b: bool, a1: u8, a2: i8, a3: u16, a4: i16, a5: u32, a6: i32, a7: u64, a8: i64, a9: f32, a10: f64,
  s: string(16), by: bytes(8), arr: array(i16, 4), lst: list(u32, 5), mode: Mode, opt: optional(string(4)),
  inner: Inner, inners: array(Inner, 2), optInner: optional(Inner), flags: list(bool, 3),
});

const rt = suite('schemaToJson/schemaFromJson');

rt('every DSL type round-trips through JSON text to the same canonical text', () => {
  const json = JSON.parse(JSON.stringify(schemaToJson(Every)));
  const back = schemaFromJson(json);
  assert.is(canonicalText(back), canonicalText(Every));
});

rt('the JSON form is the documented one', () => {
  assert.equal(schemaToJson(Inner), { kind: 'struct', name: 'Inner', fields: [{ name: 'a', type: 'u8' }, { name: 'b', type: { kind: 'optional', inner: 'i16' } }] });
  assert.equal(schemaToJson(Mode), { kind: 'enum', name: 'Mode', values: { off: 0, on: 1, auto: 7 } });
  assert.equal(schemaToJson(list(u32, 5)), { kind: 'list', element: 'u32', maxLength: 5 });
});

rt('with the codec\'s struct(), the rebuilt schema is a working codec with the same fingerprint', () => {
  const Reading = struct('Reading', { id: u32, temp: f32, name: string(16), samples: array(i16, 8) });
  const R2 = schemaFromJson(JSON.parse(JSON.stringify(schemaToJson(Reading))), { struct }) as typeof Reading;
  assert.is(R2.fingerprint, Reading.fingerprint);
  const buf = new Uint8Array(R2.maxSize);
  const v = { id: 7, temp: 21.5, name: 'greenhouse', samples: new Int16Array([1, 2, 3, 4, 5, 6, 7, 8]) };
  const n = Reading.encode(v, buf, 0);
  const out = R2.decode(buf, 0, R2.create(), n);
  assert.is(out.name, 'greenhouse');
  assert.is(out.samples[7], 8);
});

rt('bad JSON is a TypeError with the path', () => {
  assert.throws(() => schemaFromJson({ kind: 'struct', name: 'X', fields: [{ name: 'a', type: 'u128' }] }), /\$\.X\.a: unknown scalar "u128"/);
  assert.throws(() => schemaFromJson({ kind: 'wat' }), /unknown kind/);
  assert.throws(() => schemaFromJson({ kind: 'string' }), /maxBytes/);
});

const desc = suite('describeCell');
desc('lists methods, streams and events with keys, fingerprints and errors', () => {
  const d = describeCell(Thermo);
  assert.is(d.name, 'thermo');
  assert.is(d.protocol, 1);
  const read = d.methods.find((m) => m.name === 'read')!;
  assert.is(read.key, Thermo.entries[0]!.key.toString(16).padStart(16, '0'));
  assert.is(read.response.canonical, 'struct Reading{channel:u8,temp:f32,seq:u32}');
  assert.equal(read.errors.map((e) => [e.name, e.code]), [['sensorFault', 1001], ['busy', 1002]]);
  assert.is(d.streams[0]!.item.canonical, 'struct Sample{i:u32,v:f32}');
  assert.is(d.events[0]!.payload.canonical, 'struct Alarm{level:u8,msg:string<32>}');
  // JSON-safe: survives stringify (no bigint)
  assert.equal(JSON.parse(JSON.stringify(d)), d);
  const rebuilt = schemaFromJson(read.response.schema, { struct }) as StructType;
  assert.is(canonicalText(rebuilt), read.response.canonical);
});

rt.run();
desc.run();
