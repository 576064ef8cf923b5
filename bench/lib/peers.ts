// Third-party peers, loaded from bench/thirdparty (its own package; `npm ci --prefix bench/thirdparty`).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type { ObjCodec, Msg } from './messages.ts';

const tpRequire = createRequire(new URL('../thirdparty/package.json', import.meta.url));

/** require() from bench/thirdparty/node_modules */
export function thirdParty(id: string): any {
  return tpRequire(id);
}

export function thirdPartyVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of ['msgpackr', 'cbor-x', 'protobufjs', 'cobs', 'crc-32']) {
    out[p] = JSON.parse(readFileSync(new URL(`../thirdparty/node_modules/${p}/package.json`, import.meta.url), 'utf8')).version;
  }
  const native = { msgpackr: false, cborx: false };
  try { tpRequire('msgpackr-extract'); native.msgpackr = true; } catch { /* pure JS */ }
  try { tpRequire('cbor-extract'); native.cborx = true; } catch { /* pure JS */ }
  out['msgpackr-extract'] = native.msgpackr ? 'loaded' : 'absent';
  out['cbor-extract'] = native.cborx ? 'loaded' : 'absent';
  return out;
}

/** JSON, msgpackr (records/plain), cbor-x (records), protobufjs static. One instance per message shape. */
export function peerCodecs(): ObjCodec[] {
  const { Packr } = thirdParty('msgpackr');
  const { Encoder: CborEncoder } = thirdParty('cbor-x');
  // pbjs static-module output for ./sample.proto (committed; requires protobufjs/minimal)
  const Sample = thirdParty('./sample_pb.js').cell.Sample;
  const packrRec = new Packr({ structures: [] }); // records + shared structure table (same instance both sides)
  const packrPlain = new Packr({ useRecords: false });
  const cborRec = new CborEncoder({ structures: [] });
  const len = (e: Uint8Array | string) => (typeof e === 'string' ? Buffer.byteLength(e, 'utf8') : e.length);
  return [
    { name: 'JSON.stringify/parse', kind: 'alloc', encode: (o: Msg) => JSON.stringify(o), decode: (s: string) => JSON.parse(s), wireBytes: len },
    { name: 'msgpackr records (shared structures)', kind: 'alloc', encode: (o: Msg) => packrRec.pack(o), decode: (b: Uint8Array) => packrRec.unpack(b), wireBytes: len },
    { name: 'msgpackr plain maps', kind: 'alloc', encode: (o: Msg) => packrPlain.pack(o), decode: (b: Uint8Array) => packrPlain.unpack(b), wireBytes: len },
    { name: 'cbor-x records (shared structures)', kind: 'alloc', encode: (o: Msg) => cborRec.encode(o), decode: (b: Uint8Array) => cborRec.decode(b), wireBytes: len },
    { name: 'protobufjs static (pbjs)', kind: 'alloc', encode: (o: Msg) => Sample.encode(o).finish(), decode: (b: Uint8Array) => Sample.decode(b), wireBytes: len },
  ];
}
