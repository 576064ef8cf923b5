// The public shape of a compiled codec (docs/wire-format.md §4). Implemented by compile.ts;
// declared here so layers above (rpc, bench, cli) can depend on the contract alone.
import type { Fields, Infer, StructType } from './schema.ts';

export interface Codec<S extends StructType = StructType> extends StructType<S['fields']> {
  /** Canonical text form, e.g. `struct Reading{id:u32,name:string<16>}` (docs/wire-format.md §4.4). */
  readonly canonical: string;
  /** 64-bit fingerprint of `canonical`: first 8 bytes of SHA-256, read little-endian. */
  readonly fingerprint: bigint;
  /** The fingerprint as 16 lower-case hex digits (big-endian reading of the u64, as printed). */
  readonly fingerprintHex: string;
  /** Bytes of the fixed part (scalars, inline arrays, lengths of variable fields). */
  readonly fixedSize: number;
  /** Largest possible encoding (fixed part + every tail at its bound). */
  readonly maxSize: number;

  /** Encode into `buf` at `off`; returns bytes written. Throws CellError (CodecBufferTooSmall, CodecValueOutOfRange, CodecBadValue). */
  encode(value: Infer<S>, buf: Uint8Array, off?: number): number;
  /** Decode from `buf[off..end)` into `out` (reused: no allocation for messages without strings, bytes or 64-bit ints); throws CellError 3xx. */
  decode(buf: Uint8Array, off?: number, out?: Infer<S>, end?: number): Infer<S>;
  /** Like encode, but returns -code instead of throwing. */
  tryEncode(value: Infer<S>, buf: Uint8Array, off: number): number;
  /** Like decode into `out`, but returns bytes consumed or -code instead of throwing. */
  tryDecode(buf: Uint8Array, off: number, end: number, out: Infer<S>): number;
  /** Exact size `value` would encode to. */
  encodedSize(value: Infer<S>): number;
  /** A new zero value (numbers 0, strings '', arrays allocated at full length) for use as `out`. */
  create(): Infer<S>;
}

export type CodecOf<F extends Fields> = Codec<StructType<F>>;
