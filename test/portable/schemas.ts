// Schemas the portable tests generate AssemblyScript for (scripts/build-wasm.mjs) and run through
// both codecs: the codec vector schemas (test/vectors/schemas.ts, with the reference `Reading`)
// plus `Kitchen`, which uses every kind of field at every depth (optionals holding tails, lists
// of structs, optional elements, u16 length slots, sparse enums) so the two generators are
// compared on all layout rules at once. Names are unique across both sets: one AS module.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  structType, u8, i8, u16, i16, u32, i32, u64, i64, f32, f64, bool, string, bytes, array, list,
  enumOf, optional,
} from '../../src/codec/schema.ts';
import type { StructType } from '../../src/codec/schema.ts';

export const Speed = enumOf('Speed', { Off: 0, Eco: 1, Boost: 2, Test: 7 });
export const Wide = enumOf('Wide', { Lo: 1, Mid: 256, Hi: 1000 });

export const Dot = structType('Dot', { x: i16, y: i16, on: bool });
export const Label = structType('Label', { tag: u8, text: string(8), blob: optional(bytes(4)) });

export const Kitchen = structType('Kitchen', {
  a: u8, b: i8, c: u16, d: i16, e: u32, f: i32, g: u64, h: i64, fl: f32, db: f64, ok: bool,
  speed: Speed, wide: Wide,
  grid: array(array(u8, 3), 2),
  dots: array(Dot, 2),
  label: Label,
  maybe: optional(Dot),
  note: optional(string(5)),
  nums: list(u16, 4),
  speeds: list(Speed, 3),
  path: list(Dot, 300),
  raw: bytes(300),
  flags: array(bool, 3),
  maybes: array(optional(Speed), 3),
  maybeDots: list(optional(Dot), 4),
  maybeRows: array(optional(array(i16, 2)), 2),
});

export const Tiny = structType('Tiny', { v: u8 });

/** The portable test's own schemas (always available). */
export const PORTABLE_SCHEMAS: readonly StructType[] = [Kitchen, Dot, Label, Tiny];

const VECTOR_SCHEMAS = fileURLToPath(new URL('../vectors/schemas.ts', import.meta.url));

/** The codec vector schemas by name ({} while test/vectors/schemas.ts does not exist). */
export async function vectorSchemas(): Promise<Record<string, StructType>> {
  if (!existsSync(VECTOR_SCHEMAS)) return {};
  const m = await import(new URL('../vectors/schemas.ts', import.meta.url).href);
  return { ...(m.SCHEMAS as Record<string, StructType>) };
}

/** Every schema generated into build/as-gen/: the vector schemas, then PORTABLE_SCHEMAS. */
export async function portableSchemas(): Promise<StructType[]> {
  const all = [...Object.values(await vectorSchemas()), ...PORTABLE_SCHEMAS];
  const seen = new Set<string>();
  for (const s of all) {
    if (seen.has(s.name)) throw new Error(`schema name ${s.name} is used twice (test/vectors/schemas.ts and test/portable/schemas.ts)`);
    seen.add(s.name);
  }
  return all;
}
