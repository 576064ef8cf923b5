// The three codec implementations of a schema, for cross-checks: compiled (new Function),
// interpreted (layout walker) and ahead-of-time (codegen-ts module written under /tmp, imported).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { codec, type Codec, type CodecInternals } from '../../src/codec/index.ts';
import { generateTs } from '../../src/codec/codegen-ts.ts';
import type { StructType } from '../../src/codec/schema.ts';

export type AnyCodec = Codec & CodecInternals;
export interface Impls { compiled: AnyCodec; interpreted: AnyCodec; aot: AnyCodec }

const runtimePath = fileURLToPath(new URL('../../src/codec/index.ts', import.meta.url));
let dir: string | undefined;
const cache = new Map<StructType, Impls>();

export async function implsOf(t: StructType): Promise<Impls> {
  let r = cache.get(t);
  if (r) return r;
  dir ??= mkdtempSync(join(tmpdir(), 'cell-codegen-ts-'));
  const file = join(dir, `${t.name}.codec.ts`);
  writeFileSync(file, generateTs(t, { runtimeImport: runtimePath }));
  const mod = await import(pathToFileURL(file).href);
  r = { compiled: codec(t) as AnyCodec, interpreted: codec(t, { mode: 'interpret' }) as AnyCodec, aot: mod[t.name] as AnyCodec };
  cache.set(t, r);
  return r;
}
