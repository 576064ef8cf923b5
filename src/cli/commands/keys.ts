// cell keys gen [--out base] [--force] [--json] — an Ed25519 key pair for signing images
// (docs/flash.md §7).
import type { CommandSpec, Parsed } from '../args.ts';
import { CliError, EXIT_USAGE } from '../errors.ts';
import { bool, str, stringify, type Ctx } from '../io.ts';
import { generateKeyPair, KeyFileExists, writeKeyPair } from '../../flash/keys.ts';

export const spec: CommandSpec = {
  name: 'keys',
  summary: 'Generate a publisher key pair for signing firmware images.',
  details: [
    '`cell keys gen` writes <base>.key (the Ed25519 secret key, mode 0600: keep it private) and',
    '<base>.pub (the public key). Sign images with `cell sign <image> --key <base>.key`; devices',
    'are flashed only with images signed by a trusted key: add the public key to cell.toml',
    '(`[flash] trusted_keys = ["<hex>"]`) or to a keys file given to `cell flash --keys`.',
  ].join('\n'),
  args: [{ name: 'action', desc: '"gen"' }],
  flags: {
    out: { type: 'string', arg: 'base', desc: 'path without extension (default: cell-signing)' },
    force: { type: 'boolean', desc: 'overwrite existing files' },
    json: { type: 'boolean', desc: 'print {keyFile, pubFile, publicKey} as JSON' },
  },
  examples: ['cell keys gen', 'cell keys gen --out keys/release'],
};

export async function run(p: Parsed, ctx: Ctx): Promise<number> {
  if (p.positionals[0] !== 'gen') throw new CliError(`unknown action "${p.positionals[0] ?? ''}"`, { exit: EXIT_USAGE, fix: 'run `cell keys gen`' });
  const base = str(p, 'out') ?? 'cell-signing';
  const kp = generateKeyPair();
  let files;
  try {
    files = writeKeyPair(base, kp, bool(p, 'force'));
  } catch (e) {
    if (!(e instanceof KeyFileExists)) throw e;
    throw new CliError(e.message, {
      name: 'KeyExists', detail: { file: e.path, ...(e.linkTo !== null ? { linkTo: e.linkTo } : {}) },
      fix: e.linkTo !== null
        ? `a key is never written through a symbolic link: remove the link (\`rm ${e.path}\`) if you did not plant it, or choose another --out`
        : `choose another --out, or pass --force to replace ${e.path} (the old key is lost)`,
    });
  }
  if (ctx.json) ctx.out(stringify({ keyFile: files.keyFile, pubFile: files.pubFile, publicKey: kp.publicHex }));
  else {
    ctx.out(`wrote ${files.keyFile} (secret: keep it private) and ${files.pubFile}`);
    ctx.out(`public key: ${kp.publicHex}`);
    ctx.out(`trust it in cell.toml:  [flash]\n                         trusted_keys = ["${kp.publicHex}"]`);
  }
  return 0;
}
