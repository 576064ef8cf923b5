// Image manifests on the host (docs/flash.md §3): build one for an image, sign it with the
// publisher's Ed25519 key, and check it before anything is sent to a device. The bytes are
// those of src/flash/boot-wire.ts (160 bytes; the signature covers bytes 0..63, i.e. magic,
// size, version, board and the image's SHA-256, so one signature vouches for the whole image).
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CellError } from '../wire/cell-error.ts';
import {
  ERR_BOOT_BAD_MANIFEST, ERR_BOOT_BAD_SIGNATURE, ERR_BOOT_IMAGE_SIZE, ERR_BOOT_HASH_MISMATCH, ERR_BOOT_UNSIGNED,
  ERR_BOOT_UNTRUSTED_KEY,
} from '../wire/errors.ts';
import {
  BOARD_BYTES, MANIFEST_BYTES, MANIFEST_FLAG_ALLOW_DOWNGRADE, MANIFEST_SIGNED_BYTES, M_KEY, M_SIGNATURE, Manifest, decodeManifest,
  encodeManifest,
} from './boot-wire.ts';

export interface ManifestInfo {
  imageBytes: number;
  /** "major.minor.patch" */
  version: string;
  versionCode: number;
  board: string;
  sha256: string;
  /** Hex public key of the signer, or null when unsigned. */
  signer: string | null;
  /** Anti-rollback security version (0..255, signed with the rest). */
  securityVersion: number;
  /** The image may replace one of a higher security version (a signed, deliberate downgrade). */
  allowDowngrade: boolean;
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** "1.2.3" → major << 24 | minor << 16 | patch (major, minor ≤ 255; patch ≤ 65535). */
export function parseVersion(v: string): number {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v.trim());
  if (!m) throw new RangeError(`version must be major.minor.patch, got "${v}"`);
  const [a, b, c] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (a > 255 || b > 255 || c > 65535) throw new RangeError(`version ${v} out of range (255.255.65535 at most)`);
  return ((a << 24) | (b << 16) | c) >>> 0;
}

export function formatVersion(code: number): string {
  return `${code >>> 24}.${(code >>> 16) & 0xff}.${code & 0xffff}`;
}

function boardBytes(board: string): Uint8Array {
  const b = new TextEncoder().encode(board);
  if (b.length === 0 || b.length > BOARD_BYTES || !/^[\x21-\x7e]+$/.test(board)) {
    throw new RangeError(`board must be 1..${BOARD_BYTES} printable ASCII characters, got "${board}"`);
  }
  const out = new Uint8Array(BOARD_BYTES);
  out.set(b);
  return out;
}

export function boardName(bytes: Uint8Array): string {
  let n = bytes.indexOf(0);
  if (n < 0) n = bytes.length;
  return new TextDecoder().decode(bytes.subarray(0, n));
}

export interface BuildOptions {
  version: string;
  board: string;
  /** Security version 0..255 (docs/flash.md §2.1): a device refuses an image below the minimum it confirmed. @default 0 */
  securityVersion?: number;
  /** Allow the image onto a device whose minimum security version is higher. @default false */
  allowDowngrade?: boolean;
}

/** An unsigned manifest for `image` (key and signature zero). */
export function buildManifest(image: Uint8Array, o: BuildOptions): Uint8Array {
  const m = new Manifest();
  const sv = o.securityVersion ?? 0;
  if (!Number.isInteger(sv) || sv < 0 || sv > 255) throw new RangeError(`security version must be an integer 0..255, got ${sv}`);
  m.securityVersion = sv;
  m.flags = o.allowDowngrade === true ? MANIFEST_FLAG_ALLOW_DOWNGRADE : 0;
  m.imageBytes = image.length;
  m.version = parseVersion(o.version);
  m.board.set(boardBytes(o.board));
  m.sha256.set(sha256(image));
  const out = new Uint8Array(MANIFEST_BYTES);
  encodeManifest(m, out, 0);
  return out;
}

/** Sign a manifest in place with a 32-byte Ed25519 secret key; returns it. */
export function signManifest(manifest: Uint8Array, secretKey: Uint8Array): Uint8Array {
  decodeOrThrow(manifest);
  const pub = ed25519.getPublicKey(secretKey);
  manifest.set(pub, M_KEY);
  manifest.set(ed25519.sign(manifest.subarray(0, MANIFEST_SIGNED_BYTES), secretKey), M_SIGNATURE);
  return manifest;
}

export function decodeOrThrow(bytes: Uint8Array): Manifest {
  const m = new Manifest();
  if (decodeManifest(bytes, 0, bytes.length, m) < 0) {
    throw new CellError(ERR_BOOT_BAD_MANIFEST, `not a Cell image manifest (${bytes.length} bytes; expected ${MANIFEST_BYTES} starting "CIMG")`);
  }
  return m;
}

export function describeManifest(bytes: Uint8Array): ManifestInfo {
  const m = decodeOrThrow(bytes);
  const signed = m.key.some((x) => x !== 0) || m.signature.some((x) => x !== 0);
  return {
    imageBytes: m.imageBytes, version: formatVersion(m.version), versionCode: m.version,
    board: boardName(m.board), sha256: hex(m.sha256), signer: signed ? hex(m.key) : null,
    securityVersion: m.securityVersion, allowDowngrade: (m.flags & MANIFEST_FLAG_ALLOW_DOWNGRADE) !== 0,
  };
}

export interface CheckOptions {
  /** Hex Ed25519 public keys the user trusts. */
  trustedKeys: readonly string[];
  /** Accept an unsigned (or untrusted) image. @default false */
  insecure?: boolean;
}

/**
 * Check an image against its manifest before flashing: size, SHA-256, then the signature (by a
 * trusted key) unless `insecure`. Throws CellError BootImageSize (716), BootHashMismatch (704),
 * BootUnsigned (712), BootBadSignature (713) or BootUntrustedKey (714). Returns the manifest.
 */
export function checkImage(image: Uint8Array, manifest: Uint8Array, o: CheckOptions): ManifestInfo {
  const m = decodeOrThrow(manifest);
  const info = describeManifest(manifest);
  if (image.length !== m.imageBytes) {
    throw new CellError(ERR_BOOT_IMAGE_SIZE, `the image has ${image.length} bytes, its manifest says ${m.imageBytes}`, { imageBytes: image.length, manifestBytes: m.imageBytes });
  }
  if (hex(sha256(image)) !== info.sha256) {
    throw new CellError(ERR_BOOT_HASH_MISMATCH, 'the image is not the one its manifest describes (SHA-256 differs): it was changed after signing', { sha256: info.sha256 });
  }
  if (o.insecure === true) return info;
  if (info.signer === null) throw new CellError(ERR_BOOT_UNSIGNED, 'the image is not signed');
  let ok = false;
  try {
    // Strict (RFC 8032 without ZIP-215's leniency), as the bootloader's C verifier: host and device
    // accept exactly the same signatures.
    ok = ed25519.verify(m.signature, manifest.subarray(0, MANIFEST_SIGNED_BYTES), m.key, { zip215: false });
  } catch {
    ok = false;
  }
  if (!ok) throw new CellError(ERR_BOOT_BAD_SIGNATURE, 'the manifest signature does not verify', { signer: info.signer });
  if (!o.trustedKeys.map((k) => k.toLowerCase()).includes(info.signer)) {
    throw new CellError(ERR_BOOT_UNTRUSTED_KEY, `the image is signed by ${info.signer}, which is not a trusted publisher key`, { signer: info.signer });
  }
  return info;
}
