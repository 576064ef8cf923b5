// cell flash --port <tty> <image> [--insecure] [--baud N] [--pace N] [--keys file] [--key file] [--no-confirm]
//            [--info] [--json]
// Put a signed image on a device through its bootloader (docs/flash.md §7).
import { existsSync, readFileSync } from 'node:fs';
import type { CommandSpec, Parsed } from '../args.ts';
import { CliError, EXIT_USAGE } from '../errors.ts';
import { bool, num, str, stringify, type Ctx } from '../io.ts';
import { buildManifest, checkImage, formatVersion } from '../../flash/manifest.ts';
import { readTrustedKeysFile, trustedKeysFromToml } from '../../flash/keys.ts';
import { BOOT_MODE_FIX, deviceInfo, flashImage, type FlashEvent } from '../../flash/flash.ts';
import { humanProgress, formatBytes } from '../../flash/progress.ts';
import { loadKeys } from '../link-keys.ts';

export const spec: CommandSpec = {
  name: 'flash',
  summary: 'Flash a signed firmware image over a UART through the device\'s bootloader.',
  details: [
    'Reads <image> and its manifest (<image>.manifest, from `cell sign`), checks size, SHA-256 and',
    'the publisher signature against the trusted keys (cell.toml `[flash] trusted_keys`, and',
    '--keys), then writes the image into the device\'s inactive slot: chunks with a CRC each,',
    'retransmitted when lost, resumed after a broken link. The device verifies the whole image',
    '(SHA-256), boots it on trial, and keeps it only when it answers again (CONFIRM); otherwise',
    'the next reset rolls back to the previous image. A running Cell app is asked to enter the',
    'bootloader by itself; a secured app (docs/security.md) only when asked with its link key',
    '(--key: INFO, ENTER_BOOT, RESET and CONFIRM to the app are sealed; the bootloader speaks',
    'plaintext and checks the image itself). Progress goes to stderr; --json prints JSON-lines',
    'events on stdout.',
  ].join('\n'),
  args: [{ name: 'image', desc: 'the image file (not needed with --info)', optional: true }],
  flags: {
    port: { type: 'string', short: 'p', arg: 'tty', desc: 'serial port of the device (required)' },
    baud: { type: 'number', arg: 'N', desc: 'baud rate (default 115200)' },
    pace: { type: 'number', arg: 'N', desc: 'write no faster than N baud (for ptys and simulators; default off)' },
    manifest: { type: 'string', arg: 'file', desc: 'manifest file (default: <image>.manifest)' },
    keys: { type: 'string', arg: 'file', desc: 'trusted publisher keys, one hex key per line (adds to cell.toml\'s)' },
    key: { type: 'string', arg: 'FILE', multiple: true, desc: 'a secured device\'s link key (fleet or device key file): the app\'s boot commands go sealed' },
    dir: { type: 'string', arg: 'dir', desc: 'directory whose cell.toml lists trusted keys (default: .)' },
    insecure: { type: 'boolean', desc: 'accept an unsigned or untrusted image (development boards only)' },
    board: { type: 'string', arg: 'name', desc: 'with --insecure and no manifest: the board (default: what the device reports)' },
    version: { type: 'string', arg: 'x.y.z', desc: 'with --insecure and no manifest: the version (default 0.0.0)' },
    'no-confirm': { type: 'boolean', desc: 'leave the new image on trial (the next reset rolls back unless the app confirms)' },
    info: { type: 'boolean', desc: 'only show what the device reports (board, mode, slots)' },
    json: { type: 'boolean', desc: 'JSON lines on stdout: events, then {"type":"done",...}' },
  },
  examples: [
    'cell flash --port /dev/ttyUSB0 build/firmware/thermo.wasm',
    'cell flash --port /dev/ttyUSB0 --info',
    'cell flash --port /dev/ttyUSB0 --key fleet.key build/firmware/thermo-secure.wasm',
    'cell flash --port /tmp/sim/ttyB app.wasm --insecure --version 0.1.0',
  ],
};

/** What to do about a 7xx code (shown as `fix:`). */
const FIXES: Record<number, string> = {
  702: 'build a smaller image (a slot holds the size `cell flash --info` reports)',
  703: 'build and sign the image for the device\'s board (`cell flash --port <tty> --info` shows it): `cell sign <image> --board <name> --version <x.y.z>`',
  704: 'the image changed after `cell sign`: sign it again, or use the file that was signed',
  707: BOOT_MODE_FIX,
  710: 'the new image did not answer after its trial boot, so the device kept the previous one: check the image on a simulator first',
  711: 'the manifest file is damaged or not a manifest: sign the image again with `cell sign`',
  712: 'sign it: `cell keys gen` (once), then `cell sign <image> --board <name> --version <x.y.z> --key cell-signing.key`; or pass --insecure on a development board (whose bootloader has no trusted key)',
  713: 'the image or its manifest was changed after signing: sign the image again',
  714: 'trust the publisher: add its public key to cell.toml (`[flash] trusted_keys = ["<hex>"]`) or to a file passed with --keys; a device that answers 714 itself only takes images signed by the key built into its bootloader',
  715: BOOT_MODE_FIX,
  716: 'the image file is truncated or was changed: use the file that was signed, or sign it again',
  717: 'the device has confirmed a newer security version and refuses older images: flash a newer image, or, to downgrade on purpose, sign this one with `cell sign --allow-downgrade`',
  804: 'pass the device\'s link key: `cell flash --port <tty> --key fleet.key <image>` (docs/security.md); or flash through the bootloader\'s window after power-on',
  805: 'pass the fleet key this device was provisioned from, or its device key (`cell keys device`)',
  809: 'the key does not fit this device: pass the fleet key it was provisioned from, or its device key',
  501: 'check the --port path, that no other program has the port open, and the cable',
};

function asCli(e: unknown): unknown {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'number' && FIXES[code] !== undefined && !(e instanceof CliError)) {
    const ce = e as { message: string; detail?: Record<string, unknown> };
    const detail = { ...(ce.detail ?? {}) };
    delete detail.fix;
    return new CliError(ce.message, { code, fix: FIXES[code], detail: Object.keys(detail).length > 0 ? detail : undefined });
  }
  return e;
}

export async function run(p: Parsed, ctx: Ctx): Promise<number> {
  try {
    return await flash(p, ctx);
  } catch (e) {
    throw asCli(e);
  }
}

async function flash(p: Parsed, ctx: Ctx): Promise<number> {
  const port = str(p, 'port');
  if (port === undefined) throw new CliError('--port is required', { exit: EXIT_USAGE, fix: 'cell flash --port /dev/ttyUSB0 <image>' });
  const baudRate = num(p, 'baud') ?? 115200;
  const keyFiles = (p.flags.key as string[] | undefined) ?? [];
  const keys = keyFiles.length > 0 ? await loadKeys(keyFiles) : undefined;
  if (bool(p, 'info')) {
    const d = await deviceInfo({ port, baudRate, keys });
    if (ctx.json) ctx.out(stringify({ type: 'info', ...d }));
    else {
      ctx.out(`${port}: ${d.mode === 'app' ? `app running from slot ${d.runningSlot}${d.trialRunning ? ' (on trial)' : ''}` : 'in the bootloader'}, board ${d.board}, bootloader v${d.bootloaderVersion}, slots of ${formatBytes(d.maxImageBytes)}`);
      ctx.out(`  verified boot: ${d.verifiedBoot === null ? 'not reported (boot protocol 1)' : d.verifiedBoot ? `on (signatures checked by the device), minimum security version ${d.minSecurityVersion}` : 'off (a development bootloader: no trusted key)'}`);
      d.slots.forEach((s, i) => ctx.out(`  slot ${i}: ${s.state}${s.state !== 'empty' ? `, version ${s.version}${s.securityVersion !== null ? ` (security ${s.securityVersion})` : ''}, ${s.imageBytes} bytes, sha256 ${s.shaPrefix}…` : ''}${d.activeSlot === i ? ' [active]' : ''}${d.trialSlot === i ? ' [trial]' : ''}`));
    }
    return 0;
  }
  const imagePath = p.positionals[0];
  if (imagePath === undefined) throw new CliError('missing <image>', { exit: EXIT_USAGE, fix: 'cell flash --port <tty> <image>' });
  const image = new Uint8Array(readFileSync(imagePath));
  const insecure = bool(p, 'insecure');
  const manifestPath = str(p, 'manifest') ?? `${imagePath}.manifest`;
  let manifest: Uint8Array;
  if (existsSync(manifestPath)) manifest = new Uint8Array(readFileSync(manifestPath));
  else if (insecure) {
    const board = str(p, 'board') ?? (await deviceInfo({ port, baudRate, keys })).board;
    manifest = buildManifest(image, { version: str(p, 'version') ?? '0.0.0', board });
  } else {
    throw new CliError(`${imagePath} has no manifest (${manifestPath}): it is not signed`, { code: 712, fix: FIXES[712] });
  }
  const trusted = [...trustedKeysFromToml(str(p, 'dir') ?? '.'), ...(str(p, 'keys') !== undefined ? readTrustedKeysFile(str(p, 'keys')!) : [])];
  const info = checkImage(image, manifest, { trustedKeys: trusted, insecure });
  if (insecure && info.signer === null) ctx.err('warning: flashing an unsigned image (--insecure)');
  const onEvent: (e: FlashEvent) => void = ctx.json
    ? (e) => ctx.out(stringify(e.type === 'progress' ? { ...e, rateBytesPerS: Math.round(e.rateBytesPerS), etaMs: Math.round(e.etaMs) } : e))
    : humanProgress((s) => process.stderr.write(s), process.stderr.isTTY === true);
  if (!ctx.json) ctx.err(`flashing ${imagePath}: ${info.imageBytes} bytes, version ${info.version}, board ${info.board}${info.signer !== null ? `, signed by ${info.signer.slice(0, 16)}…` : ''}`);
  const r = await flashImage({ port, baudRate, paceBaud: num(p, 'pace') ?? 0, image, manifest, confirm: !bool(p, 'no-confirm'), onEvent, keys });
  if (ctx.json) ctx.out(stringify({ type: 'done', ...r, totalMs: Math.round(r.totalMs), transferMs: Math.round(r.transferMs) }));
  else {
    const rate = r.transferMs > 0 ? formatBytes(Math.round((r.imageBytes * 1000) / r.transferMs)) + '/s' : '-';
    ctx.out(r.alreadyInstalled
      ? `${port}: already runs version ${r.version} from slot ${r.slot}: nothing written`
      : `${port}: version ${formatVersion(info.versionCode)} in slot ${r.slot}, ${r.confirmed ? 'confirmed' : 'on trial (not confirmed: the next reset rolls back)'}; ${r.imageBytes} bytes in ${(r.totalMs / 1000).toFixed(2)} s (transfer ${rate}, ${r.retransmits} retransmitted, ${r.resumes} resumed)`);
  }
  return 0;
}

