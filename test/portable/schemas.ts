// Schemas the portable tests generate AssemblyScript for (scripts/build-wasm.mjs) and run through
// both codecs. `Reading` is the reference struct of docs/wire-format.md; `Kitchen` uses every
// kind of field, at every depth, so the generators are compared on all layout rules at once.
import {
  structType, u8, i8, u16, i16, u32, i32, u64, i64, f32, f64, bool, string, bytes, array, list,
  enumOf, optional,
} from '../../src/codec/schema.ts';
import type { StructType } from '../../src/codec/schema.ts';

export const Reading = structType('Reading', { id: u32, temp: f32, name: string(16), samples: array(i16, 8) });

export const Mode = enumOf('Mode', { Off: 0, Eco: 1, Boost: 2, Test: 7 });
export const Wide = enumOf('Wide', { Lo: 1, Mid: 256, Hi: 1000 });

export const Point = structType('Point', { x: i16, y: i16, on: bool });
export const Label = structType('Label', { tag: u8, text: string(8), blob: optional(bytes(4)) });

export const Kitchen = structType('Kitchen', {
  a: u8, b: i8, c: u16, d: i16, e: u32, f: i32, g: u64, h: i64, fl: f32, db: f64, ok: bool,
  mode: Mode, wide: Wide,
  grid: array(array(u8, 3), 2),
  pts: array(Point, 2),
  label: Label,
  maybe: optional(Point),
  note: optional(string(5)),
  nums: list(u16, 4),
  modes: list(Mode, 3),
  path: list(Point, 300),
  raw: bytes(300),
  flags: array(bool, 3),
});

export const Tiny = structType('Tiny', { v: u8 });

/** Every schema generated into build/as-gen/ for the wasm vector tests. */
export const PORTABLE_SCHEMAS: readonly StructType[] = [Reading, Kitchen, Point, Label, Tiny];

/**
 * The schemas to generate: PORTABLE_SCHEMAS plus, once they exist, the schemas of the codec
 * vector file (test/vectors/codec.json, src/codec). Names must be unique.
 */
export async function portableSchemas(): Promise<StructType[]> {
  return [...PORTABLE_SCHEMAS];
}
