// Keys for link security on the host (docs/security.md §2 "Keys"): key files, the fleet key →
// device key derivation, and the key ring a host looks device ids up in.
//
// A key file is one line of text, mode 0600, owned by the user, created exclusively:
//   cell-key 1 fleet <64 hex>                  a fleet key: device keys derive from it
//   cell-key 1 device <16 hex id> <64 hex>     one device's key
// Device key = HKDF-SHA256(ikm = fleet key, salt = "cell/device-key/v1", info = device id, 32 bytes)
// (RFC 5869, @noble/hashes): the provisioning tool computes it once per device; a gateway that
// holds the fleet key needs no list of devices.
import { closeSync, fstatSync, openSync, readFileSync, writeSync, constants as fsc } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CellError } from '../wire/cell-error.ts';
import { ERR_SECURE_KEY_FILE } from '../wire/errors.ts';
import { SEC_DEVICE_ID_BYTES, SEC_KEY_BYTES } from '../wire/layouts.ts';

const DEVICE_KEY_SALT = new TextEncoder().encode('cell/device-key/v1');

export type KeyFileEntry =
  | { readonly kind: 'fleet'; readonly key: Uint8Array }
  | { readonly kind: 'device'; readonly deviceId: Uint8Array; readonly key: Uint8Array };

/** The device key a fleet key gives a device id. */
export function deviceKeyFromFleet(fleetKey: Uint8Array, deviceId: Uint8Array): Uint8Array {
  if (fleetKey.length !== SEC_KEY_BYTES) throw new RangeError(`a fleet key has ${SEC_KEY_BYTES} bytes`);
  if (deviceId.length !== SEC_DEVICE_ID_BYTES) throw new RangeError(`a device id has ${SEC_DEVICE_ID_BYTES} bytes`);
  return hkdf(sha256, fleetKey, DEVICE_KEY_SALT, deviceId, SEC_KEY_BYTES);
}

export function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

/** A device id from 16 hex digits (a leading 0x is allowed). */
export function parseDeviceId(text: string): Uint8Array {
  const t = text.trim().replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]{16}$/.test(t)) {
    throw new CellError(ERR_SECURE_KEY_FILE, `a device id is 16 hex digits (8 bytes), got "${text}"`);
  }
  return new Uint8Array(Buffer.from(t, 'hex'));
}

function keyHex(text: string, file: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new CellError(ERR_SECURE_KEY_FILE, `${file}: a key is 64 hex digits (32 bytes)`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** Parse a key file's text (comments with #, one key line). */
export function parseKeyFile(text: string, file = 'key file'): KeyFileEntry {
  const lines = text.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter((l) => l !== '');
  if (lines.length !== 1) throw new CellError(ERR_SECURE_KEY_FILE, `${file}: expected one key line, found ${lines.length}`);
  const w = lines[0]!.split(/\s+/);
  if (w[0] !== 'cell-key' || w[1] !== '1') throw new CellError(ERR_SECURE_KEY_FILE, `${file}: not a Cell key file (the line starts "cell-key 1")`);
  if (w[2] === 'fleet' && w.length === 4) return { kind: 'fleet', key: keyHex(w[3]!, file) };
  if (w[2] === 'device' && w.length === 5) return { kind: 'device', deviceId: parseDeviceId(w[3]!), key: keyHex(w[4]!, file) };
  throw new CellError(ERR_SECURE_KEY_FILE, `${file}: expected "cell-key 1 fleet <key>" or "cell-key 1 device <id> <key>"`);
}

export function formatKeyFile(e: KeyFileEntry): string {
  return e.kind === 'fleet'
    ? `# Cell fleet key: device keys derive from it. Keep it secret (mode 0600).\ncell-key 1 fleet ${hexOf(e.key)}\n`
    : `# Cell device key. Keep it secret (mode 0600).\ncell-key 1 device ${hexOf(e.deviceId)} ${hexOf(e.key)}\n`;
}

/**
 * Read a key file, refusing one that others can read or that is not ours: a key anyone on the
 * machine can read protects nothing (ssh refuses such keys for the same reason).
 */
export function readKeyFile(path: string): KeyFileEntry {
  let fd: number;
  try {
    fd = openSync(path, fsc.O_RDONLY | (fsc.O_NOFOLLOW ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file (create one with `cell key new`)' : code === 'ELOOP' ? 'it is a symbolic link' : String((e as Error).message);
    throw new CellError(ERR_SECURE_KEY_FILE, `key file ${path}: ${why}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new CellError(ERR_SECURE_KEY_FILE, `key file ${path} is not a regular file`);
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
      throw new CellError(ERR_SECURE_KEY_FILE, `key file ${path} belongs to uid ${st.uid}, not to you`);
    }
    if ((st.mode & 0o077) !== 0) {
      throw new CellError(ERR_SECURE_KEY_FILE, `key file ${path} has mode ${(st.mode & 0o777).toString(8)}: others can read it; fix: chmod 600 ${path}`);
    }
    return parseKeyFile(readFileSync(fd, 'utf8'), path);
  } finally {
    closeSync(fd);
  }
}

/** Create `path` exclusively with mode 0600 and write `data` (never overwrites, never through a link). */
export function writeSecretFile(path: string, data: string | Uint8Array): void {
  let fd: number;
  try {
    fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | (fsc.O_NOFOLLOW ?? 0), 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CellError(ERR_SECURE_KEY_FILE, code === 'EEXIST' ? `${path} exists: a key file is never overwritten (move it away first)` : `cannot create ${path}: ${(err as Error).message}`);
  }
  try { if (typeof data === 'string') writeSync(fd, data); else writeSync(fd, data); } finally { closeSync(fd); }
}

/** Create a key file exclusively with mode 0600 (never overwrites: an existing file is an error). */
export function writeKeyFile(path: string, e: KeyFileEntry): void {
  writeSecretFile(path, formatKeyFile(e));
}

/** A fresh random 32-byte key. */
export function newKey(): Uint8Array {
  return new Uint8Array(randomBytes(SEC_KEY_BYTES));
}

/** Where a host finds the key of a device id: fleet keys (derive) and device keys (look up). */
export class KeyRing {
  private readonly fleets: Uint8Array[] = [];
  private readonly devices = new Map<string, Uint8Array>();

  static fromFiles(paths: readonly string[]): KeyRing {
    const r = new KeyRing();
    for (const p of paths) r.add(readKeyFile(p));
    return r;
  }

  add(e: KeyFileEntry): this {
    if (e.kind === 'fleet') this.fleets.push(e.key);
    else this.devices.set(hexOf(e.deviceId), e.key);
    return this;
  }

  get size(): number { return this.fleets.length + this.devices.size; }

  /**
   * The key of this device id, or null. A device key wins over a fleet; with a fleet key the key
   * is derived (the one that verifies is found by the session's ACCEPT; with several fleets the
   * first is tried: `keysFor` gives them all).
   */
  keyFor(deviceId: Uint8Array): Uint8Array | null {
    return this.keysFor(deviceId)[0] ?? null;
  }

  /** Every candidate key of this device id (its device key, then one per fleet). */
  keysFor(deviceId: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    const d = this.devices.get(hexOf(deviceId));
    if (d !== undefined) out.push(d);
    for (const f of this.fleets) out.push(deviceKeyFromFleet(f, deviceId));
    return out;
  }
}
