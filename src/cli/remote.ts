// Talking to a running cell without its source: fetch its schema over the control channel
// (describe()), rebuild codecs from the JSON and connect with a CellDef made from them.
import { struct, hex64 } from '../codec/index.ts';
import { firstUndescribedEntry, schemaFromJson, type CellDescription, type SchemaJson } from '../codec/schema-json.ts';
import { appError, connect, defineCell, method, stream, type AnyCodec, type AppErrorDef, type CellDef, type Client, type ErrorsDecl } from '../rpc/index.ts';
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
  const link = await openLink(t);
  const client = await connect(PROBE, link, { helloTimeoutMs: timeoutMs, heartbeatMs: 0 });
  try {
    return checkDescription(await client.describe({ deadlineMs: timeoutMs }));
  } catch (e) {
    // UnknownMethod (403): a device without describe; its HELLO still has every name and key
    const peer = client.peer as HelloInfo | null;
    if ((e as { code?: unknown }).code !== 403 || peer === null) throw e;
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
      code: 403,
      fix: `pass --schema FILE: the cell's description (firmware: firmware/<app>/gen/schema.json, written by \`npm run build:firmware\`; or a .cell/schemas/${peer.cellName}.json from \`cell gen\`)`,
      detail: { cell: peer.cellName, entries: peer.entries.map((e) => e.name) },
    });
  }
  let d: CellDescription;
  try {
    d = checkDescription(JSON.parse(readFileSync(path, 'utf8')), path);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`${path} is not JSON: ${(e as Error).message}`, { code: 406, fix: 'regenerate it (npm run build:firmware, or cell gen)' });
  }
  const miss = firstUndescribedEntry(d, peer.entries);
  if (miss !== null) {
    const { entry: e, describedKey: k } = miss;
    throw new CliError(k === undefined ? `${path} has no ${e.kind} "${e.name}" that the device ${peer.cellName} serves` : `${e.kind} "${e.name}": the device's key ${hex64(e.key)} differs from ${path} (${k}): the file describes other firmware`, {
      code: 402,
      fix: 'use the schema file of the firmware the device runs (rebuild: npm run build:firmware), or reflash the device',
      detail: { cell: peer.cellName, entry: e.name, device: hex64(e.key), file: k ?? null },
    });
  }
  if (d.name !== peer.cellName) throw new CliError(`${path} describes cell "${d.name}", the device is "${peer.cellName}"`, { code: 402, fix: 'pass the schema file of this device\'s firmware' });
  return d;
}

/** Check the shape of a describe() answer or a cached schema file. */
export function checkDescription(d: unknown, where = 'describe()'): CellDescription {
  const o = d as Partial<CellDescription> | null;
  if (o === null || typeof o !== 'object' || typeof o.name !== 'string' || !Array.isArray(o.methods) || !Array.isArray(o.streams) || !Array.isArray(o.events)) {
    throw new CliError(`${where} is not a cell description (name, methods, streams, events)`, { code: 406, fix: 'regenerate it: `cell gen <target>`' });
  }
  return o as CellDescription;
}

function codecOf(j: SchemaJson, where: string): AnyCodec {
  const t = schemaFromJson(j, { struct: (name, fields) => struct(name, fields) }, where);
  if (t.kind !== 'struct') throw new CliError(`${where}: messages must be structs, got ${t.kind}`, { code: 406 });
  return t as AnyCodec;
}

function errorsOf(errs: CellDescription['methods'][number]['errors'], where: string): ErrorsDecl {
  const out: Record<string, AppErrorDef> = {};
  for (const e of errs) out[e.name] = e.payload === undefined ? appError(e.code) : appError(e.code, codecOf(e.payload, `${where}.errors.${e.name}`));
  return out;
}

/**
 * Rebuild a CellDef from a description. The keys it computes must equal the ones described:
 * otherwise the JSON does not round-trip (a CLI older or newer than the cell) — SchemaMismatch.
 */
export function defFromDescription(d: CellDescription): CellDef {
  const methods: Record<string, ReturnType<typeof method>> = {};
  for (const m of d.methods) methods[m.name] = method(codecOf(m.request.schema, `${m.name}.request`), codecOf(m.response.schema, `${m.name}.response`), { errors: errorsOf(m.errors, m.name) });
  const streams: Record<string, ReturnType<typeof stream>> = {};
  for (const s of d.streams) streams[s.name] = stream(codecOf(s.request.schema, `${s.name}.request`), codecOf(s.item.schema, `${s.name}.item`), { errors: errorsOf(s.errors, s.name) });
  const events: Record<string, AnyCodec> = {};
  for (const e of d.events) events[e.name] = codecOf(e.payload.schema, `${e.name}.payload`);
  const def = defineCell({ name: d.name, version: d.version, methods, streams, events }) as unknown as CellDef;
  const described = new Map([...d.methods, ...d.streams, ...d.events].map((x) => [x.name, x.key]));
  for (const e of def.entries) {
    if (described.get(e.name) !== hex64(e.key)) {
      throw new CliError(`${e.kind} "${e.name}": the key rebuilt from the schema JSON (${hex64(e.key)}) differs from the cell's (${described.get(e.name)})`, {
        code: 402, fix: 'the CLI and the cell use different schema rules: use the CLI of the same Cell version as the cell',
      });
    }
  }
  return def;
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
