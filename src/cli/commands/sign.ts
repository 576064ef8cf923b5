// cell sign <image> --board B --version X.Y.Z [--security-version N] [--allow-downgrade] [--key file]
//           [--out file] [--json]
// Writes the image's signed manifest next to it (docs/flash.md §3, §7).
import { readFileSync, writeFileSync } from 'node:fs';
import type { CommandSpec, Parsed } from '../args.ts';
import { CliError, EXIT_USAGE } from '../errors.ts';
import { bool, num, str, stringify, type Ctx } from '../io.ts';
import { buildManifest, describeManifest, signManifest } from '../../flash/manifest.ts';
import { readKeyFile } from '../../flash/keys.ts';

export const spec: CommandSpec = {
  name: 'sign',
  summary: 'Sign a firmware image: write <image>.manifest (size, version, board, SHA-256, Ed25519 signature).',
  details: [
    'The manifest is 160 bytes; `cell flash <image>` reads <image>.manifest and refuses an image',
    'that is not signed by a trusted key. Create a key with `cell keys gen`.',
    'A bootloader built with a trusted key checks the signature itself, and refuses an image whose',
    '--security-version is below the highest it has confirmed (anti-rollback, BootRollback 717)',
    'unless the image was signed with --allow-downgrade (docs/flash.md §2.1, §5.4).',
  ].join('\n'),
  args: [{ name: 'image', desc: 'the image file (e.g. build/firmware/thermo.wasm)' }],
  flags: {
    board: { type: 'string', arg: 'name', desc: 'target board, as the bootloader reports it (e.g. sim, mps2-an385)' },
    version: { type: 'string', arg: 'x.y.z', desc: 'image version (major.minor.patch)' },
    'security-version': { type: 'number', arg: 'N', desc: 'anti-rollback security version 0..255 (default 0): raise it when the image fixes a vulnerability' },
    'allow-downgrade': { type: 'boolean', desc: 'allow this image onto a device that has confirmed a higher security version' },
    key: { type: 'string', arg: 'file', desc: 'secret key file (default: cell-signing.key)' },
    out: { type: 'string', arg: 'file', desc: 'manifest file (default: <image>.manifest)' },
    json: { type: 'boolean', desc: 'print the manifest as JSON' },
  },
  examples: [
    'cell sign build/firmware/thermo.wasm --board sim --version 1.2.0 --key cell-signing.key',
    'cell sign build/firmware/thermo.wasm --board sim --version 1.3.0 --security-version 2',
    'cell sign old.wasm --board sim --version 1.1.0 --security-version 1 --allow-downgrade',
  ],
};

export async function run(p: Parsed, ctx: Ctx): Promise<number> {
  const image = p.positionals[0]!;
  const board = str(p, 'board');
  const version = str(p, 'version');
  if (board === undefined || version === undefined) {
    throw new CliError('--board and --version are required', { exit: EXIT_USAGE, fix: `cell sign ${image} --board <name> --version <x.y.z>` });
  }
  const keyFile = str(p, 'key') ?? 'cell-signing.key';
  let secret: Uint8Array;
  try {
    secret = readKeyFile(keyFile, 'secret key');
  } catch (e) {
    throw new CliError(`cannot read the signing key ${keyFile}: ${(e as Error).message}`, { name: 'NoKey', fix: 'create one with `cell keys gen`, or pass --key <file>' });
  }
  const bytes = new Uint8Array(readFileSync(image));
  let manifest: Uint8Array;
  try {
    manifest = signManifest(buildManifest(bytes, {
      version, board, securityVersion: num(p, 'security-version') ?? 0, allowDowngrade: bool(p, 'allow-downgrade'),
    }), secret);
  } catch (e) {
    if (e instanceof RangeError) throw new CliError(e.message, { exit: EXIT_USAGE, fix: 'see `cell sign --help`' });
    throw e;
  }
  const out = str(p, 'out') ?? `${image}.manifest`;
  writeFileSync(out, manifest);
  const info = describeManifest(manifest);
  if (ctx.json) ctx.out(stringify({ manifest: out, ...info }));
  else ctx.out(`wrote ${out}: ${info.imageBytes} bytes, version ${info.version}, board ${info.board}, sha256 ${info.sha256}, security version ${info.securityVersion}${info.allowDowngrade ? ' (downgrade allowed)' : ''}, signed by ${info.signer}`);
  return 0;
}
