// Generates test/vectors/codec.json from the codec itself (golden snapshot: review every diff by hand).
// Run: node --import tsx test/vectors/generators/codec.mts
import { writeFileSync } from 'node:fs';
import { codec, layoutOf } from '../../../src/codec/index.ts';
import { SCHEMAS } from '../schemas.ts';
import { fromJson, toJson } from '../load.ts';
import { toHex, fromHex } from '../../helpers/hex.ts';

const cases: any[] = [];
function add(schema: string, name: string, input: any) {
  const t = SCHEMAS[schema]!;
  const c = codec(t);
  const v = fromJson(t, input);
  const buf = new Uint8Array(c.maxSize);
  const n = c.encode(v as any, buf);
  // JSON form normalised (e.g. absent optionals dropped) so decode→toJson equals input
  const norm = toJson(t, v);
  if (JSON.stringify(norm) !== JSON.stringify(input)) throw new Error(`input for ${name} not in normal form:\n${JSON.stringify(norm)}\n${JSON.stringify(input)}`);
  cases.push({ schema, name, input, hex: toHex(buf.subarray(0, n)) });
  return toHex(buf.subarray(0, n));
}

const ping = add('Ping', 'seq 1, ok', { seq: 1, ok: true });
add('Ping', 'seq max, not ok', { seq: 65535, ok: false });
add('Point', 'negative and max', { x: -1, y: 32767 });
add('Point', 'min', { x: -32768, y: 0 });
const reading = add('Reading', 'reference message (bench MSG; temp is the f32 nearest 23.4)', {
  id: 123456789, ts: 1732197442123.4567, temp: 23.399999618530273, flags: 165, name: 'sensor-07/west',
  samples: [12, -34, 560, -7800, 32767, -32768, 0, 1],
});
add('Reading', 'zero value, empty name', { id: 0, ts: 0, temp: 0, flags: 0, name: '', samples: [0, 0, 0, 0, 0, 0, 0, 0] });
add('Reading', 'non-ASCII name (15 UTF-8 bytes), extremes', {
  id: 4294967295, ts: '-Infinity', temp: '-0', flags: 255, name: 'Grüße-€😀', samples: [-1, 1, -2, 2, -3, 3, -4, 4],
});
add('Reading', 'name exactly 16 bytes, f64 subnormal', {
  id: 1, ts: 5e-324, temp: 3.4028234663852886e38, flags: 1, name: 'abcdefghijklmnop', samples: [1, 2, 3, 4, 5, 6, 7, 8],
});
add('Inner', 'empty tails', { label: '', at: { x: 0, y: 0 }, tags: [] });
add('Inner', 'full tails', { label: 'héllo', at: { x: 7, y: -7 }, tags: [1, 2, 3, 255] });
const ev: any = {
  flag: true, a_u8: 200, a_i8: -100, a_u16: 40000, a_i16: -20000, a_u32: 3000000000, a_i32: -2000000000,
  a_u64: '18446744073709551615', a_i64: '-9223372036854775808', a_f32: 1.5, a_f64: -2.25,
  mode: 'fault', point: { x: 1, y: -1 }, path: [{ x: 2, y: 3 }, { x: -4, y: -5 }], bits: [true, false, true, true],
  modes: ['run', 'fault'], maybe_bytes: [7, null], nums: [1, -1, 2147483647], bigs: ['1', '4294967296'],
  pts: [{ x: 10, y: 20 }], blob: 'deadbeef', text: 'tail€', opt_n: 513, opt_s: 'ok',
  opt_inner: { label: 'in', at: { x: 5, y: 6 }, tags: [9] }, inner: { label: 'x', at: { x: -8, y: 8 }, tags: [] },
};
// maybe_bytes uses null in arrays? absent optional element must be normalised: toJson gives undefined → JSON null inside arrays
ev.maybe_bytes = [7, undefined];
const evJson = JSON.parse(JSON.stringify(ev)); // undefined in arrays → null
add('Everything', 'every field set', evJson);
const zero = JSON.parse(JSON.stringify(toJson(SCHEMAS.Everything!, codec(SCHEMAS.Everything!).create())));
add('Everything', 'zero value (create())', zero);
const big = JSON.parse(JSON.stringify(evJson));
big.blob = 'ab'.repeat(300); big.mode = 'off'; delete big.opt_n; delete big.opt_s; delete big.opt_inner;
big.nums = [5, 4, 3, 2, 1]; big.pts = [{ x: 1, y: 1 }, { x: 2, y: 2 }, { x: 3, y: 3 }]; big.text = '12345678901234567890';
big.a_u64 = '0'; big.a_i64 = '9223372036854775807'; big.bigs = [];
add('Everything', 'blob at its 300-byte bound (u16 length), optionals absent', big);

// ---- invalid ----
const invalid: any[] = [];
const bad = (schema: string, name: string, hex: string, error: number) => {
  const c = codec(SCHEMAS[schema]!);
  const b = fromHex(hex);
  const r = c.tryDecode(b, 0, b.length, c.create());
  const got = r < 0 ? -r : r !== b.length ? 308 : 0;
  if (got !== error) throw new Error(`invalid ${name}: expected ${error}, got ${got}`);
  invalid.push({ schema, name, hex, error });
};
const patch = (hex: string, at: number, bytes: string) => hex.slice(0, at * 2) + bytes + hex.slice(at * 2 + bytes.length);
bad('Ping', 'empty input', '', 300);
bad('Ping', 'one byte short', ping.slice(0, 4), 300);
bad('Ping', 'bool byte 2', patch(ping, 2, '02'), 301);
bad('Ping', 'bool byte ff', patch(ping, 2, 'ff'), 301);
bad('Ping', 'one trailing byte', ping + '00', 308);
// Reading: name length slot at 17, tail from 34
const R = (name: string, lenHex: string) => reading.slice(0, 34 * 2).replace(/^(.{34})../, `$1${lenHex}`) + name;
bad('Reading', 'fixed part truncated (33 bytes)', reading.slice(0, 66), 300);
bad('Reading', 'name length 17 > bound 16', patch(reading, 17, '11'), 302);
bad('Reading', 'name length 14, 13 bytes present', reading.slice(0, -2), 300);
bad('Reading', 'name length 255', patch(reading, 17, 'ff'), 302);
bad('Reading', 'overlong "/" (c0 af)', R('c0af', '02'), 303);
bad('Reading', 'overlong 3-byte (e0 80 af)', R('e080af', '03'), 303);
bad('Reading', 'overlong 4-byte (f0 80 80 af)', R('f08080af', '04'), 303);
bad('Reading', 'surrogate U+D800 (ed a0 80)', R('eda080', '03'), 303);
bad('Reading', 'surrogate U+DFFF (ed bf bf)', R('edbfbf', '03'), 303);
bad('Reading', 'above U+10FFFF (f4 90 80 80)', R('f4908080', '04'), 303);
bad('Reading', 'lead byte f5', R('f5808080', '04'), 303);
bad('Reading', 'truncated sequence at end (e2 82)', R('41e282', '03'), 303);
bad('Reading', 'stray continuation byte', R('4180', '02'), 303);
bad('Reading', 'continuation missing (c3 41)', R('c341', '02'), 303);
bad('Reading', 'trailing byte after name', reading + '00', 308);
const L = layoutOf(SCHEMAS.Everything!);
const off = (path: string) => L.slots.find((s) => s.path.join('.') === path)!.offset;
const E = cases.find((c) => c.name === 'every field set').hex as string;
bad('Everything', 'bool 2', patch(E, off('flag'), '02'), 301);
bad('Everything', 'enum tag 3 (u16 tag)', patch(E, off('mode'), '0300'), 304);
bad('Everything', 'enum tag 301', patch(E, off('mode'), '2d01'), 304);
bad('Everything', 'enum tag 256+2 (high byte matters)', patch(E, off('mode'), '0201'), 304);
bad('Everything', 'bool array element 3', patch(E, off('bits') + 1, '03'), 301);
bad('Everything', 'enum array element 4', patch(E, off('modes'), '0400'), 304);
bad('Everything', 'optional in array: tag 2', patch(E, off('maybe_bytes'), '02'), 305);
bad('Everything', 'optional in array: absent with nonzero payload', patch(E, off('maybe_bytes') + 2, '0001'), 305);
bad('Everything', 'optional u16: tag 2', patch(E, off('opt_n'), '02'), 305);
bad('Everything', 'optional u16: absent but payload nonzero', patch(E, off('opt_n'), '00'), 305);
bad('Everything', 'list count 6 > 5', patch(E, off('nums'), '06'), 302);
bad('Everything', 'list of structs count 4 > 3', patch(E, off('pts'), '04'), 302);
bad('Everything', 'bytes length 301 > 300 (u16 slot)', patch(E, off('blob'), '2d01'), 302);
bad('Everything', 'nested list count 5 > 4', patch(E, off('inner.tags'), '05'), 302);
bad('Everything', 'optional struct: tag 2', patch(E, off('opt_inner'), '02'), 305);
bad('Everything', 'fixed part only', E.slice(0, L.fixedSize * 2), 300);
bad('Everything', 'last byte missing', E.slice(0, -2), 300);
bad('Everything', 'trailing bytes', E + 'abcd', 308);

const json = { $comment: 'Codec golden vectors (docs/wire-format.md §4). Loaded by test/vectors/load.ts; schemas in test/vectors/schemas.ts. JSON forms: u64/i64 decimal strings; floats numbers or "NaN"/"Infinity"/"-Infinity"/"-0"; bytes hex; numeric arrays plain arrays; enum member names; absent optional = key left out (null inside arrays). error = ERR_CODEC_* code from src/wire/errors.ts.', cases, invalid };
const lines = (a: any[]) => a.map((x) => '  ' + JSON.stringify(x)).join(',\n');
writeFileSync(new URL('../codec.json', import.meta.url), `{\n"$comment": ${JSON.stringify(json.$comment)},\n"cases": [\n${lines(cases)}\n],\n"invalid": [\n${lines(invalid)}\n]\n}\n`);
console.log(cases.length, 'cases', invalid.length, 'invalid');
