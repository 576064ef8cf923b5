import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import {
  array, bool, bytes, canonicalText, codec, enumOf, f32, fingerprintOf, hash64, hex64, i64, list, methodKey,
  methodText, optional, string, struct, structType, u16, u64, u8,
} from '../../src/codec/index.ts';
import { Everything, Inner, Mode, Reading } from '../vectors/schemas.ts';

/** Independent reference: node:crypto SHA-256, first 8 bytes little-endian. */
function refHash(text: string): bigint {
  return createHash('sha256').update(text, 'utf8').digest().readBigUInt64LE(0);
}

const text = suite('canonicalText');

text('scalars, bounded and composite types', () => {
  assert.is(canonicalText(u8), 'u8');
  assert.is(canonicalText(bool), 'bool');
  assert.is(canonicalText(string(16)), 'string<16>');
  assert.is(canonicalText(bytes(32)), 'bytes<32>');
  assert.is(canonicalText(array(f32, 8)), 'array<f32,8>');
  assert.is(canonicalText(list(u64, 3)), 'list<u64,3>');
  assert.is(canonicalText(optional(i64)), 'optional<i64>');
  assert.is(canonicalText(optional(string(4))), 'optional<string<4>>');
});

text('enum members are sorted by value, whatever the declaration order', () => {
  assert.is(canonicalText(enumOf('Mode', { on: 1, off: 0, big: 300 })), 'enum Mode{off=0,on=1,big=300}');
  assert.is(canonicalText(Mode), 'enum Mode{off=0,idle=1,run=2,fault=300}');
});

text('structs keep declaration order and write nested structs in full', () => {
  assert.is(canonicalText(Reading), 'struct Reading{id:u32,ts:f64,temp:f32,flags:u8,name:string<16>,samples:array<i16,8>}');
  assert.is(canonicalText(Inner), 'struct Inner{label:string<8>,at:struct Point{x:i16,y:i16},tags:list<u8,4>}');
  assert.is.not(canonicalText(structType('A', { x: u8, y: u16 })), canonicalText(structType('A', { y: u16, x: u8 })));
});
text.run();

const fp = suite('fingerprints');

fp('Reading: golden fingerprint, equal to node:crypto SHA-256', () => {
  const c = codec(Reading);
  assert.is(c.canonical, canonicalText(Reading));
  assert.is(c.fingerprint, refHash(c.canonical));
  assert.is(c.fingerprintHex, '2668081de27ab9bf');
  assert.is(c.fingerprint, 0x2668081de27ab9bfn);
  assert.is(fingerprintOf(Reading), c.fingerprint);
});

fp('golden fingerprints of the other vector schemas', () => {
  assert.is(hex64(fingerprintOf(Everything)), '01d519f13a3a9735');
  assert.is(fingerprintOf(Everything), refHash(canonicalText(Everything)));
  assert.is(fingerprintOf(Inner), refHash(canonicalText(Inner)));
});

fp('hash64 and hex64', () => {
  assert.is(hash64(''), refHash(''));
  assert.is(hex64(1n), '0000000000000001');
  assert.is(hex64(0xffffffffffffffffn), 'ffffffffffffffff');
  assert.is(struct('Small', { a: u8 }).fingerprintHex.length, 16);
});

fp('methodKey hashes "method <cell>.<method>(<req>)-><res>"', () => {
  const Req = struct('Req', { id: u32OrU8() });
  assert.is(methodText('Sensor', 'read', Req, Reading), `method Sensor.read(struct Req{id:u8})->${canonicalText(Reading)}`);
  assert.is(methodKey('Sensor', 'read', Req, Reading), refHash(`method Sensor.read(struct Req{id:u8})->${canonicalText(Reading)}`));
  assert.is.not(methodKey('Sensor', 'read', Req, Reading), methodKey('Sensor', 'read2', Req, Reading));
});
function u32OrU8() { return u8; }
fp.run();
