// Fixed-seed random values of any schema, for cross-checking the codec implementations.
import type {
  ArrayType, BytesType, EnumType, ListType, OptionalType, SchemaType, StringType, StructType,
} from '../../src/codec/schema.ts';
import { typedArrayName } from '../../src/codec/layout.ts';
import { utf8Length } from '../../src/codec/utf8.ts';

export { prng } from '../helpers/prng.ts';

const CHARS = ['a', 'Z', '0', ' ', '/', '~', '\u0000', 'é', 'ß', '€', '中', '\uFEFF', '😀', '𐍈'];
const INT: Record<string, [number, number]> = {
  u8: [0, 255], i8: [-128, 127], u16: [0, 65535], i16: [-32768, 32767], u32: [0, 4294967295], i32: [-2147483648, 2147483647],
};

export function randomValue(t: SchemaType, r: () => number): unknown {
  const int = (lo: number, hi: number) => {
    const x = r();
    if (x < 0.1) return lo;
    if (x < 0.2) return hi;
    return lo + Math.floor(r() * (hi - lo + 1));
  };
  switch (t.kind) {
    case 'bool': return r() < 0.5;
    case 'u8': case 'i8': case 'u16': case 'i16': case 'u32': case 'i32': return int(...INT[t.kind]!);
    case 'u64': return BigInt.asUintN(64, (BigInt(int(0, 0xffffffff)) << 32n) | BigInt(int(0, 0xffffffff)));
    case 'i64': return BigInt.asIntN(64, (BigInt(int(0, 0xffffffff)) << 32n) | BigInt(int(0, 0xffffffff)));
    case 'f32': return Math.fround((r() - 0.5) * 10 ** int(-3, 30));
    case 'f64': return r() < 0.1 ? -0 : (r() - 0.5) * 10 ** int(-300, 300);
    case 'string': {
      const max = (t as StringType).maxBytes;
      const target = int(0, max);
      let s = '';
      for (;;) {
        const c = CHARS[Math.floor(r() * CHARS.length)]!;
        if (utf8Length(s + c) > target) break;
        s += c;
      }
      return s;
    }
    case 'bytes': {
      const n = int(0, (t as BytesType).maxBytes);
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
      return b;
    }
    case 'enum': {
      const names = Object.keys((t as EnumType<string>).values);
      return names[Math.floor(r() * names.length)];
    }
    case 'optional': return r() < 0.4 ? undefined : randomValue((t as OptionalType<SchemaType>).inner, r);
    case 'array': case 'list': {
      const el = (t as ArrayType<SchemaType>).element;
      const n = t.kind === 'array' ? (t as ArrayType<SchemaType>).length : int(0, (t as ListType<SchemaType>).maxLength);
      const items = Array.from({ length: n }, () => randomValue(el, r));
      const ta = el.kind === 'bool' ? undefined : typedArrayName(el.kind as never);
      return ta ? (globalThis as any)[ta].from(items) : items;
    }
    case 'struct': {
      const s = t as StructType;
      const o: Record<string, unknown> = {};
      for (const f of s.fieldNames) o[f] = randomValue(s.fields[f]!, r);
      return o;
    }
    default: throw new Error(`no random value for ${t.kind}`);
  }
}
