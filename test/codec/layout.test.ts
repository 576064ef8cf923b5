import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  array, bool, bytes, elementLayout, enumOf, f64, i16, layoutOf, lenWidth, list, optional, string,
  structType, u16, u32, u64, u8,
} from '../../src/codec/index.ts';
import { Everything, Reading } from '../vectors/schemas.ts';

const lay = suite('layoutOf');

const brief = (l: ReturnType<typeof layoutOf>) => l.slots.map((s) => `${s.op}:${s.path.join('.')}@${s.offset}`);

lay('Reading: packed, declaration order, one length slot', () => {
  const l = layoutOf(Reading);
  assert.equal(brief(l), ['scalar:id@0', 'scalar:ts@4', 'scalar:temp@12', 'scalar:flags@16', 'len:name@17', 'array:samples@18']);
  assert.is(l.fixedSize, 34);
  assert.is(l.maxSize, 50);
  assert.is(l.lens.length, 1);
  assert.is(l.lens[0]!.width, 1);
  assert.is(l.lens[0]!.bound, 16);
  assert.not.ok(l.isFixed);
  const s = l.slots[5]!;
  assert.ok(s.op === 'array' && s.element.typedArray === 'Int16Array' && s.size === 16);
});

lay('nested structs and optionals are group slots; tails in depth-first order', () => {
  const P = structType('P', { a: u8, s: string(300) });
  // P contains a string, so it cannot be a list element:
  assert.throws(() => list(P, 2), TypeError);
  const T2 = structType('T2', { o: optional(P), b: bytes(255), n: P, e: enumOf('E', { a: 0, b: 256 }) });
  const l = layoutOf(T2);
  assert.equal(brief(l), ['optional:o@0', 'struct:o@1', 'scalar:o.a@1', 'len:o.s@2', 'len:b@4', 'struct:n@5', 'scalar:n.a@5', 'len:n.s@6', 'enum:e@8']);
  assert.equal(l.lens.map((s) => s.path.join('.')), ['o.s', 'b', 'n.s']);
  assert.equal(l.lens.map((s) => s.width), [2, 1, 2]);
  assert.is(l.fixedSize, 10);
  assert.is(l.maxSize, 10 + 300 + 255 + 300);
  const opt = l.slots[0]!;
  assert.ok(opt.op === 'optional' && opt.size === 3 && opt.count === 3);
});

lay('Everything: fixed size, max size, every slot kind', () => {
  const l = layoutOf(Everything);
  assert.is(l.fixedSize, 93);
  assert.is(l.maxSize, 495);
  const ops = new Set(l.slots.map((s) => s.op));
  assert.equal([...ops].sort(), ['array', 'enum', 'len', 'optional', 'scalar', 'struct']);
});

lay('length slot width: u8 up to 255, u16 from 256', () => {
  assert.is(lenWidth(255), 1);
  assert.is(lenWidth(256), 2);
  assert.is(layoutOf(structType('W', { a: string(255), b: string(256), c: list(u64, 256) })).fixedSize, 5);
});

lay('element layouts: typed holders for numbers, plain for bool/enum/struct', () => {
  assert.is(elementLayout(u64).typedArray, 'BigUint64Array');
  assert.is(elementLayout(f64).typedArray, 'Float64Array');
  assert.is(elementLayout(bool).holder, 'plain');
  assert.is(elementLayout(structType('Q', { x: i16 })).size, 2);
  assert.is(elementLayout(array(u16, 3)).size, 6);
  assert.is(elementLayout(optional(u32)).size, 5);
});
lay.run();

const dsl = suite('schema DSL argument errors');

dsl('bounds must be integers 1..65535 (RangeError)', () => {
  for (const n of [0, -1, 1.5, 65536, NaN]) {
    assert.throws(() => string(n), RangeError, `string(${n})`);
    assert.throws(() => bytes(n), RangeError, `bytes(${n})`);
    assert.throws(() => array(u8, n), RangeError, `array(u8, ${n})`);
    assert.throws(() => list(u8, n), RangeError, `list(u8, ${n})`);
  }
});

dsl('variable-size elements are a TypeError', () => {
  assert.throws(() => array(string(4), 2), TypeError);
  assert.throws(() => list(bytes(4), 2), TypeError);
  assert.throws(() => array(list(u8, 2), 2), TypeError);
  assert.throws(() => list(optional(string(2)), 2), TypeError);
  assert.throws(() => array(structType('S', { s: string(3) }), 2), TypeError);
  assert.throws(() => optional(optional(u8)), TypeError);
});

dsl('names and enum values', () => {
  assert.throws(() => structType('1bad', { a: u8 }), TypeError);
  assert.throws(() => structType('S', { 'a-b': u8 }), TypeError);
  assert.throws(() => structType('S', { ['__proto__']: u8 }), TypeError);
  assert.throws(() => structType('S', {}), RangeError);
  assert.throws(() => structType('S', { a: 3 as never }), TypeError);
  assert.throws(() => enumOf('E', { a: 0, b: 0 }), RangeError);
  assert.throws(() => enumOf('E', { a: 65536 }), RangeError);
  assert.throws(() => enumOf('E', {}), RangeError);
});
dsl.run();
