// Talking to a running cell without its source: fetch its schema over the control channel
// (describe()), rebuild codecs from the JSON and connect with a CellDef made from them.
import { hex64 } from '../codec/index.ts';
import { firstUndescribedEntry, type CellDescription } from '../codec/schema-json.ts';
import { connect, defineCell, type CellDef, type Client } from '../rpc/index.ts';
import { checkDescription as checkDescriptionOf, defFromDescription as defFrom } from '../rpc/described.ts';
import { CellError } from '../wire/cell-error.ts';
import { ERR_RPC_MALFORMED, ERR_RPC_SCHEMA_MISMATCH, ERR_RPC_UNKNOWN_METHOD } from '../wire/errors.ts';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HelloInfo } from '../rpc/payloads.ts';
import { CliError } from './errors.ts';
import { linkReleased, openLink, type Target } from './target.ts';

export interface RemoteOptions {
  /** Deadline of HELLO and describe(). @default 5000 */
  timeoutMs?: number;
  /**
   * A device that does not serve describe (the firmware keeps its flash for the app: docs/firmware.md
   * "describe") is described by this file instead — a describe() answer or a `.cell/schemas/*.json`
   * — after every entry of the device's HELLO is checked against it (same name, same key).
   * @default .cell/schemas/<the HELLO's cell name>.json when it exists
   */
  schemaFile?: string;
}

/** An empty cell: enough to say HELLO and call describe(). */
const PROBE = defineCell({ name: 'cell_cli' });

/** Connect, say HELLO, fetch the schema, close. */
export async function fetchDescription(t: Target, opts: RemoteOptions = {}): Promise<CellDescription> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const link = await openLink(t, { shm: false }); // one describe(): not worth a segment
  const client = await connect(PROBE, link, { helloTimeoutMs: timeoutMs, heartbeatMs: 0 });
  try {
    return checkDescription(await client.describe({ deadlineMs: timeoutMs }));
  } catch (e) {
    // UnknownMethod (403): a device without describe; its HELLO still has every name and key
    const peer = client.peer as HelloInfo | null;
    if ((e as { code?: unknown }).code !== ERR_RPC_UNKNOWN_METHOD || peer === null) throw e;
    return describeFromFile(peer, opts.schemaFile);
  } finally {
    await client.close();
    await linkReleased(link);
  }
}

/**
 * The description of a device that does not serve describe: read from `file` (default
 * .cell/schemas/<name>.json), accepted only when it has every entry of the device's HELLO under the
 * same name and key (so a stale file can never encode a request the device would misread).
 */
export function describeFromFile(peer: HelloInfo, file?: string): CellDescription {
  const path = file ?? join('.cell', 'schemas', `${peer.cellName}.json`);
  if (!existsSync(path)) {
    throw new CliError(`${peer.cellName} does not serve describe (a device keeps its flash for the app) and there is no schema file${file === undefined ? ` ${path}` : ` ${file}`}`, {
      code: ERR_RPC_UNKNOWN_METHOD,
      fix: `pass --schema FILE: the cell's description (firmware: firmware/<app>/gen/schema.json, written by \`npm run build:firmware\`; or a .cell/schemas/${peer.cellName}.json from \`cell gen\`)`,
      detail: { cell: peer.cellName, entries: peer.entries.map((e) => e.name) },
    });
  }
  let d: CellDescription;
  try {
    d = checkDescription(JSON.parse(readFileSync(path, 'utf8')), path);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`${path} is not JSON: ${(e as Error).message}`, { code: ERR_RPC_MALFORMED, fix: 'regenerate it (npm run build:firmware, or cell gen)' });
  }
  const miss = firstUndescribedEntry(d, peer.entries);
  if (miss !== null) {
    const { entry: e, describedKey: k } = miss;
    throw new CliError(k === undefined ? `${path} has no ${e.kind} "${e.name}" that the device ${peer.cellName} serves` : `${e.kind} "${e.name}": the device's key ${hex64(e.key)} differs from ${path} (${k}): the file describes other firmware`, {
      code: ERR_RPC_SCHEMA_MISMATCH,
      fix: 'use the schema file of the firmware the device runs (rebuild: npm run build:firmware), or reflash the device',
      detail: { cell: peer.cellName, entry: e.name, device: hex64(e.key), file: k ?? null },
    });
  }
  if (d.name !== peer.cellName) throw new CliError(`${path} describes cell "${d.name}", the device is "${peer.cellName}"`, { code: ERR_RPC_SCHEMA_MISMATCH, fix: 'pass the schema file of this device\'s firmware' });
  return d;
}

/** checkDescription of src/rpc/described.ts, with the CLI's fix. */
export function checkDescription(d: unknown, where = 'describe()'): CellDescription {
  try {
    return checkDescriptionOf(d, where);
  } catch (e) {
    throw withFix(e, 'regenerate it: `cell gen <target>`');
  }
}

/** defFromDescription of src/rpc/described.ts, with the CLI's fix. */
export function defFromDescription(d: CellDescription): CellDef {
  try {
    return defFrom(d);
  } catch (e) {
    throw withFix(e, (e as { code?: unknown }).code === ERR_RPC_SCHEMA_MISMATCH
      ? 'the CLI and the cell use different schema rules: use the CLI of the same Cell version as the cell'
      : 'regenerate the description: `cell gen <target>`');
  }
}

function withFix(e: unknown, fix: string): unknown {
  if (!(e instanceof CellError)) return e;
  return new CliError(e.message, { code: e.code, fix, ...(e.detail !== undefined ? { detail: { ...e.detail } } : {}) });
}

export interface Remote {
  readonly description: CellDescription;
  readonly def: CellDef;
  readonly client: Client<CellDef>;
}

/** Fetch the schema, then connect with a CellDef built from it: a client for every method. */
export async function connectRemote(t: Target, opts: RemoteOptions = {}): Promise<Remote> {
  const description = await fetchDescription(t, opts);
  const def = defFromDescription(description);
  const client = await connect(def, await openLink(t), { helloTimeoutMs: opts.timeoutMs ?? 5000 });
  return { description, def, client };
}
