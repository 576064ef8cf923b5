// Mesh identity and DHT keys (docs/mesh.md §2).
//
// Identity: an Ed25519 private key in libp2p's protobuf encoding, kept in the cell directory
// (`<dir>/.cell/mesh/key`, mode 0600): the PeerId is derived from it, so it survives restarts.
// DHT keys: CID v1, codec raw (0x55), multihash sha2-256 (0x12, 32 bytes) of `cell:<name>`; a
// second key `cell:<name>@<schema>` names one schema (schemaId below).
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { hash64 } from '../codec/canonical.ts';
import type { CellDef } from '../rpc/define.ts';
import { CellError } from '../wire/cell-error.ts';
import { ERR_MESH_BAD_KEY } from '../wire/errors.ts';

/** Where a cell directory keeps its mesh key. */
export function meshKeyPath(dir: string): string {
  return join(dir, '.cell', 'mesh', 'key');
}

/** The bytes of the CID v1 (raw codec, sha2-256) a name is announced under in the DHT. */
export function cellKeyBytes(name: string, schema?: string): Uint8Array {
  const text = schema === undefined ? `cell:${name}` : `cell:${name}@${schema}`;
  const digest = sha256(new TextEncoder().encode(text));
  const out = new Uint8Array(4 + digest.length);
  out[0] = 0x01; // CID version 1
  out[1] = 0x55; // raw
  out[2] = 0x12; // sha2-256
  out[3] = 0x20; // 32 bytes
  out.set(digest, 4);
  return out;
}

/**
 * A schema id: hash64 of the cell name and its sorted entry keys, 16 hex digits. Two cells have
 * the same id exactly when every method, stream and event has the same key (name + schemas).
 */
export function schemaId(def: Pick<CellDef, 'name' | 'entries'>): string {
  const keys = def.entries.map((e) => e.key.toString(16).padStart(16, '0')).sort();
  return hash64(`schema ${def.name}:${keys.join(',')}`).toString(16).padStart(16, '0');
}

interface KeyModule {
  generateKeyPair(type: 'Ed25519'): Promise<unknown>;
  privateKeyToProtobuf(key: never): Uint8Array;
  privateKeyFromProtobuf(buf: Uint8Array): { type: string };
}

/** Load the key at `file`, or create one there (directories 0700, file 0600). */
export async function loadOrCreateKey(file: string, keys: KeyModule): Promise<unknown> {
  if (existsSync(file)) {
    let k: { type: string };
    try {
      k = keys.privateKeyFromProtobuf(new Uint8Array(readFileSync(file)));
    } catch (e) {
      throw new CellError(ERR_MESH_BAD_KEY, `${file} is not a libp2p private key: ${(e as Error).message}`, { file });
    }
    if (k.type !== 'Ed25519') throw new CellError(ERR_MESH_BAD_KEY, `${file} holds a ${k.type} key, not Ed25519`, { file });
    return k;
  }
  const k = await keys.generateKeyPair('Ed25519');
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, keys.privateKeyToProtobuf(k as never), { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return k;
}
