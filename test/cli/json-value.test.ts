import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fromJson, parseJsonArg, shortestF32, toJson, ValueError } from '../../src/cli/json-value.ts';
import { schemaToJson } from '../../src/codec/schema-json.ts';
import { array, bytes, enumOf, f32, list, optional, string, struct, u64, u8, i16 } from '../../src/codec/index.ts';

const Mode = enumOf('Mode', { off: 0, on: 1 });
const Inner = struct('Inner', { x: i16 });
const Msg = struct('Msg', {
  ch: u8, big: u64, name: string(4), raw: bytes(4), mode: Mode, temps: array(f32, 2), items: list(Inner, 2), note: optional(string(8)),
});
const T = schemaToJson(Msg);

const errAt = (v: unknown, path: string, re: RegExp): void => {
  try { fromJson(T, v, 'Msg'); } catch (e) {
    assert.ok(e instanceof ValueError);
    assert.is((e as ValueError).path, path);
    assert.match((e as ValueError).message, re);
    return;
  }
  assert.unreachable(`expected an error at ${path}`);
};
const good = () => ({ ch: 1, big: '18446744073709551615', name: 'abc', raw: '0a0b', mode: 'on', temps: [1.5, 2], items: [{ x: -1 }] });

const from = suite('fromJson');

from('converts JSON to codec values that encode and decode back', () => {
  const v = fromJson(T, good(), 'Msg') as Record<string, unknown>;
  assert.is(v.big, 18446744073709551615n);
  assert.equal(v.raw, Uint8Array.of(10, 11));
  assert.is(v.note, undefined);
  const buf = new Uint8Array(Msg.maxSize);
  const n = Msg.encode(v as never, buf);
  const out = Msg.decode(buf, 0, Msg.create(), n);
  assert.equal(toJson(T, out), { ...good(), big: '18446744073709551615', note: null });
});

from('names the field of every mistake', () => {
  errAt({ ...good(), ch: 300 }, 'Msg.ch', /expected u8 \(0\.\.255\), got 300/);
  errAt({ ...good(), ch: 'x' }, 'Msg.ch', /expected u8/);
  errAt({ ...good(), name: 'abcde' }, 'Msg.name', /5 UTF-8 bytes is longer than its bound of 4/);
  errAt({ ...good(), mode: 'dim' }, 'Msg.mode', /enum Mode \("off" \| "on"\)/);
  errAt({ ...good(), temps: [1] }, 'Msg.temps', /exactly 2 elements/);
  errAt({ ...good(), items: [{ x: 1 }, { x: 2 }, { x: 3 }] }, 'Msg.items', /more than the bound of 2/);
  errAt({ ...good(), items: [{ x: 40000 }] }, 'Msg.items[0].x', /expected i16/);
  errAt({ ...good(), raw: 'xyz' }, 'Msg.raw', /hex string/);
  errAt({ ...good(), extra: 1 }, 'Msg.extra', /Msg has no field "extra" \(fields: ch, big/);
  const { ch: _ch, ...noCh } = good();
  errAt(noCh, 'Msg.ch', /missing field \(u8/);
  errAt([], 'Msg', /an object for struct Msg/);
});

from('u64 accepts safe numbers and decimal strings, not unsafe numbers', () => {
  assert.is((fromJson(T, { ...good(), big: 5 }, 'Msg') as { big: bigint }).big, 5n);
  errAt({ ...good(), big: 2 ** 60 }, 'Msg.big', /u64/);
  errAt({ ...good(), big: '-1' }, 'Msg.big', /u64/);
});

from('parseJsonArg reports invalid JSON with a hint on quoting', () => {
  assert.equal(parseJsonArg('{"a":1}'), { a: 1 });
  assert.throws(() => parseJsonArg('{a:1}'), (e: ValueError) => e.path === 'argument' && /not valid JSON.*quote it/.test(e.message));
});

const to = suite('toJson');

to('prints f32 with the fewest digits, u64 as a number when safe, bytes as hex', () => {
  assert.is(shortestF32(Math.fround(21.4)), 21.4);
  assert.is(shortestF32(Math.fround(0.1)), 0.1);
  assert.is(toJson('u64', 7n), 7);
  assert.is(toJson('i64', -(2n ** 62n)), '-4611686018427387904');
  assert.is(toJson({ kind: 'bytes', maxBytes: 4 }, Uint8Array.of(0, 255)), '00ff');
});

from.run();
to.run();
