// Publisher keys (docs/flash.md §7): `cell keys gen` writes an Ed25519 key pair, `cell sign`
// reads the secret key, `cell flash` reads the trusted public keys from cell.toml
// (`[flash] trusted_keys = ["<hex>", ...]`) and/or a keys file (one hex key per line, `#`
// comments). Keys are hex text files so that they diff and copy cleanly.
import { existsSync, lstatSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { parse } from 'smol-toml';

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const HEX32 = /^[0-9a-fA-F]{64}$/;

export function fromHex32(s: string, what: string): Uint8Array {
  const t = s.trim();
  if (!HEX32.test(t)) throw new RangeError(`${what} must be 64 hex digits (32 bytes)`);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export interface KeyPair { secretKey: Uint8Array; publicKey: Uint8Array; publicHex: string }

export function generateKeyPair(): KeyPair {
  const secretKey = ed25519.utils.randomSecretKey();
  const publicKey = ed25519.getPublicKey(secretKey);
  return { secretKey, publicKey, publicHex: hex(publicKey) };
}

/** writeKeyPair refused: a file (or a symbolic link, even a dangling one) is already at `path`. */
export class KeyFileExists extends Error {
  readonly code = 'EEXIST';
  constructor(readonly path: string, readonly linkTo: string | null) {
    super(`${path} already exists${linkTo !== null ? ` (a symbolic link to ${linkTo})` : ''}: refusing to overwrite it`);
    this.name = 'KeyFileExists';
  }
}

function existing(path: string): KeyFileExists | null {
  let st;
  try { st = lstatSync(path); } catch { return null; }
  let to: string | null = null;
  if (st.isSymbolicLink()) { try { to = readlinkSync(path); } catch { to = '?'; } }
  return new KeyFileExists(path, to);
}

/**
 * Create `path` with `text`, never through a symbolic link: O_CREAT|O_EXCL ('wx') fails on any
 * existing name, a link (dangling or not) included, and the mode is set at creation (so the
 * secret is never readable by others, not even for a moment). `replace`: write a new file next to
 * it and rename it over the name (rename replaces a link itself, never its target).
 */
function createFile(path: string, text: string, mode: number, replace: boolean): void {
  if (!replace) { writeFileSync(path, text, { flag: 'wx', mode }); return; }
  const tmp = `${path}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, text, { flag: 'wx', mode });
  try { renameSync(tmp, path); } catch (e) { rmSync(tmp, { force: true }); throw e; }
}

/**
 * Write `<base>.key` (secret, mode 0600) and `<base>.pub` (0644), each created exclusively.
 * Without `force` an existing file or link at either name is refused (KeyFileExists) and nothing
 * is written; with `force` the files are replaced (a link at the name is replaced, not followed).
 */
export function writeKeyPair(base: string, kp: KeyPair, force = false): { keyFile: string; pubFile: string } {
  const keyFile = `${base}.key`;
  const pubFile = `${base}.pub`;
  if (!force) {
    const e = existing(keyFile) ?? existing(pubFile);
    if (e !== null) throw e;
  }
  try {
    createFile(keyFile, `# Cell image signing key (Ed25519 secret). Keep it private.\n${hex(kp.secretKey)}\n`, 0o600, force);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw existing(keyFile) ?? new KeyFileExists(keyFile, null);
    throw e;
  }
  try {
    createFile(pubFile, `${kp.publicHex}\n`, 0o644, force);
  } catch (e) {
    rmSync(keyFile, { force: true }); // not half a pair
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw existing(pubFile) ?? new KeyFileExists(pubFile, null);
    throw e;
  }
  return { keyFile, pubFile };
}

/** The first non-comment line of a key file as 32 bytes. */
export function readKeyFile(path: string, what: string): Uint8Array {
  const line = readFileSync(path, 'utf8').split('\n').map((l) => l.replace(/#.*/, '').trim()).find((l) => l.length > 0);
  if (line === undefined) throw new RangeError(`${path}: no key in the file`);
  return fromHex32(line, `${what} in ${path}`);
}

/** Public keys of a keys file: one hex key per line, `#` comments, blank lines ignored. */
export function readTrustedKeysFile(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').map((l) => l.replace(/#.*/, '').trim()).filter((l) => l.length > 0)
    .map((l) => hex(fromHex32(l, `trusted key in ${path}`)));
}

/** `[flash] trusted_keys` of `<dir>/cell.toml` (none when there is no file or no table). */
export function trustedKeysFromToml(dir: string): string[] {
  const path = join(dir, 'cell.toml');
  if (!existsSync(path)) return [];
  const doc = parse(readFileSync(path, 'utf8')) as { flash?: { trusted_keys?: unknown } };
  const keys = doc.flash?.trusted_keys;
  if (keys === undefined) return [];
  if (!Array.isArray(keys)) throw new RangeError(`${path}: [flash] trusted_keys must be an array of hex strings`);
  return keys.map((k) => hex(fromHex32(String(k), `[flash] trusted_keys in ${path}`)));
}
