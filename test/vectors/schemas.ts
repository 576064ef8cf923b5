// Schemas used by the codec vectors (test/vectors/codec.json). Shared by the Node tests and the
// AssemblyScript build: keep every schema here by the name the vectors use.
import {
  array, bool, bytes, enumOf, f32, f64, i16, i32, i64, i8, list, optional, string, structType,
  u16, u32, u64, u8, type StructType,
} from '../../src/codec/schema.ts';

/** The reference message of the benchmarks (docs/wire-format.md §4 example). */
export const Reading = structType('Reading', {
  id: u32, ts: f64, temp: f32, flags: u8, name: string(16), samples: array(i16, 8),
});

/** A small fixed-size message (no tail). */
export const Ping = structType('Ping', { seq: u16, ok: bool });

/** An enum with a value above 255, so its tag is a u16. */
export const Mode = enumOf('Mode', { off: 0, idle: 1, run: 2, fault: 300 });

export const Point = structType('Point', { x: i16, y: i16 });

/** A nested struct with its own tails (string and list inside). */
export const Inner = structType('Inner', { label: string(8), at: Point, tags: list(u8, 4) });

/** Every kind of field, at least once. */
export const Everything = structType('Everything', {
  flag: bool,
  a_u8: u8, a_i8: i8, a_u16: u16, a_i16: i16, a_u32: u32, a_i32: i32, a_u64: u64, a_i64: i64, a_f32: f32, a_f64: f64,
  mode: Mode,
  point: Point,
  path: array(Point, 2),
  bits: array(bool, 4),
  modes: array(Mode, 2),
  maybe_bytes: array(optional(u8), 2),
  nums: list(i32, 5),
  bigs: list(u64, 2),
  pts: list(Point, 3),
  blob: bytes(300),
  text: string(20),
  opt_n: optional(u16),
  opt_s: optional(string(10)),
  opt_inner: optional(Inner),
  inner: Inner,
});

/** Every schema the vectors may name. */
export const SCHEMAS: Readonly<Record<string, StructType>> = { Reading, Ping, Point, Inner, Everything };
