// cell keys gen [--out base] [--force] [--json] — an Ed25519 key pair for signing images
// (docs/flash.md §7).
// cell keys fleet --out FILE — a fleet key for link security (docs/security.md §2).
// cell keys device --id ID (--fleet FILE | --key FILE) [--out FILE] [--record FILE] — a device's
// key file and its 64-byte provisioning record (written to the device's key page when it is flashed).
import type { CommandSpec, Parsed } from '../args.ts';
import { CliError, EXIT_USAGE } from '../errors.ts';
import { bool, str, stringify, type Ctx } from '../io.ts';
import { generateKeyPair, KeyFileExists, writeKeyPair } from '../../flash/keys.ts';

export const spec: CommandSpec = {
  name: 'keys',
  summary: 'Generate keys: image signing (gen), link security (fleet, device).',
  details: [
    '`cell keys gen` writes <base>.key (the Ed25519 secret key, mode 0600: keep it private) and',
    '<base>.pub (the public key). Sign images with `cell sign <image> --key <base>.key`; devices',
    'are flashed only with images signed by a trusted key: add the public key to cell.toml',
    '(`[flash] trusted_keys = ["<hex>"]`) or to a keys file given to `cell flash --keys`.',
    '',
    'Link security (docs/security.md): `cell keys fleet --out fleet.key` writes a fleet key;',
    '`cell keys device --fleet fleet.key --id <16 hex> --record dev.rec` derives the device key',
    '(HKDF-SHA256 of the fleet key and the id) and writes the 64-byte provisioning record that goes',
    'into the device\'s key page when it is flashed; `--out dev.key` writes the device key file for a',
    'host that should hold only this device\'s key. Key files are created with mode 0600 and never',
    'overwritten. Hosts take them with `--key` (cell call --port, cell gateway).',
  ].join('\n'),
  args: [{ name: 'action', desc: '"gen", "fleet" or "device"' }],
  flags: {
    out: { type: 'string', arg: 'path', desc: 'gen: path without extension (default: cell-signing); fleet/device: the key file to create' },
    force: { type: 'boolean', desc: 'gen: overwrite existing files' },
    json: { type: 'boolean', desc: 'print what was written as JSON' },
    id: { type: 'string', arg: 'hex', desc: 'device: the device id, 16 hex digits (e.g. its MCU unique id folded to 8 bytes)' },
    fleet: { type: 'string', arg: 'FILE', desc: 'device: derive the device key from this fleet key file' },
    key: { type: 'string', arg: 'FILE', desc: 'device: take the key from this device key file instead' },
    record: { type: 'string', arg: 'FILE', desc: 'device: write the 64-byte provisioning record here (mode 0600)' },
  },
  examples: [
    'cell keys gen', 'cell keys gen --out keys/release',
    'cell keys fleet --out fleet.key',
    'cell keys device --fleet fleet.key --id 00c0ffee00000017 --record thermo-17.rec --out thermo-17.key',
  ],
};

async function linkKeys(action: 'fleet' | 'device', p: Parsed, ctx: Ctx): Promise<number> {
  const K = await import('../../transports/secure-keys.ts');
  const { writeProvision } = await import('../../secure/provision.ts');
  const wrap = <T>(f: () => T): T => {
    try { return f(); } catch (e) {
      throw new CliError((e as Error).message, { code: (e as { code?: number }).code ?? 807, exit: EXIT_USAGE, fix: 'key files are never overwritten: choose another path or move the old file away' });
    }
  };
  if (action === 'fleet') {
    const out = str(p, 'out');
    if (out === undefined) throw new CliError('cell keys fleet needs --out FILE', { exit: EXIT_USAGE, fix: 'cell keys fleet --out fleet.key' });
    wrap(() => K.writeKeyFile(out, { kind: 'fleet', key: K.newKey() }));
    if (ctx.json) ctx.out(stringify({ fleetKeyFile: out }));
    else ctx.out(`wrote ${out} (fleet key, mode 0600: every device key derives from it; keep it secret)`);
    return 0;
  }
  const idText = str(p, 'id');
  if (idText === undefined) throw new CliError('cell keys device needs --id <16 hex digits>', { exit: EXIT_USAGE, fix: 'cell keys device --fleet fleet.key --id 00c0ffee00000017 --record dev.rec' });
  const fleetFile = str(p, 'fleet');
  const keyFile = str(p, 'key');
  if ((fleetFile === undefined) === (keyFile === undefined)) throw new CliError('give exactly one of --fleet FILE and --key FILE', { exit: EXIT_USAGE });
  const id = wrap(() => K.parseDeviceId(idText));
  let key: Uint8Array;
  if (fleetFile !== undefined) {
    const e = wrap(() => K.readKeyFile(fleetFile));
    if (e.kind !== 'fleet') throw new CliError(`${fleetFile} is a device key, not a fleet key`, { exit: EXIT_USAGE, fix: 'pass it with --key instead' });
    key = K.deviceKeyFromFleet(e.key, id);
  } else {
    const e = wrap(() => K.readKeyFile(keyFile!));
    if (e.kind !== 'device') throw new CliError(`${keyFile} is a fleet key, not a device key`, { exit: EXIT_USAGE, fix: 'pass it with --fleet instead' });
    if (K.hexOf(e.deviceId) !== K.hexOf(id)) throw new CliError(`${keyFile} is the key of device ${K.hexOf(e.deviceId)}, not ${K.hexOf(id)}`, { exit: EXIT_USAGE });
    key = e.key;
  }
  const out = str(p, 'out');
  const rec = str(p, 'record');
  if (out === undefined && rec === undefined) throw new CliError('nothing to write: give --record FILE (the provisioning record) and/or --out FILE (the device key file)', { exit: EXIT_USAGE });
  if (out !== undefined) wrap(() => K.writeKeyFile(out, { kind: 'device', deviceId: id, key }));
  if (rec !== undefined) {
    const r = new Uint8Array(64);
    writeProvision(id, key, r, 0);
    wrap(() => K.writeSecretFile(rec, r));
  }
  if (ctx.json) ctx.out(stringify({ deviceId: K.hexOf(id), ...(out !== undefined ? { keyFile: out } : {}), ...(rec !== undefined ? { recordFile: rec } : {}) }));
  else {
    if (out !== undefined) ctx.out(`wrote ${out} (device ${K.hexOf(id)} key, mode 0600)`);
    if (rec !== undefined) ctx.out(`wrote ${rec} (64-byte provisioning record of device ${K.hexOf(id)}: flash it into the device's key page, then delete it)`);
  }
  return 0;
}

export async function run(p: Parsed, ctx: Ctx): Promise<number> {
  const action = p.positionals[0];
  if (action === 'fleet' || action === 'device') return linkKeys(action, p, ctx);
  if (action !== 'gen') throw new CliError(`unknown action "${action ?? ''}"`, { exit: EXIT_USAGE, fix: 'run `cell keys gen` (image signing), `cell keys fleet` or `cell keys device` (link security)' });
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
