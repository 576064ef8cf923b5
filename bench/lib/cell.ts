// Loads the code under test (src/codec, src/framing). Imported dynamically so that the peers can
// still be measured while a module has not landed; whatever is missing is reported, not hidden.
import type { Codec } from '../../src/codec/codec-api.ts';

/** The part of the Codec contract (src/codec/codec-api.ts) the bench uses, with loose value types. */
export interface CellCodec {
  readonly canonical: Codec['canonical'];
  readonly fixedSize: number;
  readonly maxSize: number;
  encode(value: any, buf: Uint8Array, off?: number): number;
  decode(buf: Uint8Array, off?: number, out?: any, end?: number): any;
  tryEncode(value: any, buf: Uint8Array, off: number): number;
  tryDecode(buf: Uint8Array, off: number, end: number, out: any): number;
  create(): any;
}

const src = (p: string) => new URL(`../../src/${p}`, import.meta.url).href;

async function tryImport(path: string, missing: string[]): Promise<any | undefined> {
  try {
    return await import(src(path));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    missing.push(`src/${path}: ${err.code === 'ERR_MODULE_NOT_FOUND' ? 'not found' : String(err.message ?? e).split('\n')[0]}`);
    return undefined;
  }
}

export interface CellCodecs {
  reading?: CellCodec;
  readingNoStr?: CellCodec;
  readingInterp?: CellCodec;
  readingNoStrInterp?: CellCodec;
}

/** The reference message, as Cell schemas: compiled (`struct`) and interpreted (`{ mode: 'interpret' }`). */
export async function loadCell(missing: string[]): Promise<CellCodecs | undefined> {
  const C = await tryImport('codec/index.ts', missing);
  if (!C) return undefined;
  const { struct, u32, f64, f32, u8, string, array, i16 } = C;
  const fields = { id: u32, ts: f64, temp: f32, flags: u8, name: string(16), samples: array(i16, 8) };
  const { name: _n, ...noStr } = fields;
  const out: CellCodecs = {
    reading: struct('Reading', fields),
    readingNoStr: struct('ReadingNoStr', noStr),
    readingInterp: struct('Reading', fields, { mode: 'interpret' }),
    readingNoStrInterp: struct('ReadingNoStr', noStr, { mode: 'interpret' }),
  };
  // first use builds the implementation; check we got what we asked for
  for (const [k, want] of [['reading', 'compiled'], ['readingNoStr', 'compiled'], ['readingInterp', 'interpret'], ['readingNoStrInterp', 'interpret']] as const) {
    const c = out[k] as CellCodec & { implKind?: string };
    c.create();
    if (c.implKind !== undefined && c.implKind !== want) throw new Error(`Cell codec ${k}: implementation is ${c.implKind}, expected ${want}`);
  }
  return out;
}

export interface CellFraming {
  cobsEncode(src: Uint8Array, dst: Uint8Array, srcOff?: number, srcLen?: number, dstOff?: number): number;
  cobsDecode(src: Uint8Array, dst: Uint8Array, srcOff?: number, srcLen?: number, dstOff?: number): number;
  cobsMaxEncodedBytes?(n: number): number;
  crc32c(buf: Uint8Array, off?: number, len?: number): number;
  crc32cSmall(buf: Uint8Array, off?: number, len?: number): number;
  frameEncode?: (src: Uint8Array, srcOff: number, srcLen: number, dst: Uint8Array, dstOff: number) => number;
  frameMaxEncodedBytes?: (n: number) => number;
  Deframer?: new (maxFrameBytes: number) => any;
}

export async function loadFraming(missing: string[]): Promise<CellFraming | undefined> {
  const cobs = await tryImport('framing/cobs.ts', missing);
  const crc = await tryImport('framing/crc32c.ts', missing);
  if (!cobs || !crc) return undefined;
  const frame = await tryImport('framing/frame.ts', missing);
  const def = await tryImport('framing/deframer.ts', missing);
  return {
    cobsEncode: cobs.cobsEncode,
    cobsDecode: cobs.cobsDecode,
    cobsMaxEncodedBytes: cobs.cobsMaxEncodedBytes,
    crc32c: crc.crc32c,
    crc32cSmall: crc.crc32cSmall,
    frameEncode: frame?.frameEncode,
    frameMaxEncodedBytes: frame?.frameMaxEncodedBytes ?? frame?.frameMaxBytes,
    Deframer: def?.Deframer,
  };
}
