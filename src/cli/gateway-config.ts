// The gateway's config file: `cell gateway --config /etc/cell/gateway.toml` (docs/gateway.md §1
// "Config file"; a commented example in examples/gateway.toml). Every flag of `cell gateway` has a
// key; flags on the command line win over the file (lists are replaced, not merged).
//
//   dir = "/var/lib/cell"     log = "json"     drain_ms = 5000     baud = 115200     max_frame = 512
//   schemas = ["thermo.json"]                  metrics = "127.0.0.1:9464"
//   [mesh]     listen, bootstrap, mdns, quic, dht, relay_server
//   [[device]] path | serial | glob, name, baud, max_frame, schema
//   [[can]]    interface, fd, bitrate, data_bitrate, node, max_frame, nodes, learn, probe_interval_ms
//     [[can.device]] node, name, schema
//
// A bad file is refused before anything starts (exit 2) with the file, the line, the key and a
// fix: TOML syntax, unknown keys (with "did you mean"), wrong types, a device with both `path`
// and `serial`, bad multiaddrs, schema files that are missing or not a description. Relative
// paths in the file are relative to the file's directory; on the command line, to the working
// directory.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import type { CellDescription } from '../codec/schema-json.ts';
import { closest, type Parsed } from './args.ts';
import { CliError, EXIT_USAGE } from './errors.ts';
import { checkDescription } from './remote.ts';
import { KeyRing, readKeyFile } from '../transports/secure-keys.ts';

/**
 * Keys reserved for later work: refused by name with what they will do, never silently ignored.
 * (None now: `can` was the last, implemented with the CAN transport.)
 */
export const RESERVED_KEYS: Readonly<Record<string, { what: string; issue: string; fix: string }>> = {};

const TOP_KEYS = ['dir', 'log', 'drain_ms', 'metrics', 'baud', 'max_frame', 'key', 'schemas', 'mesh', 'device', 'can'] as const;
const CAN_KEYS = ['interface', 'fd', 'bitrate', 'data_bitrate', 'node', 'max_frame', 'nodes', 'learn', 'probe_interval_ms', 'device'] as const;
const CAN_DEVICE_KEYS = ['node', 'name', 'schema'] as const;
/** The gateway's node id on a CAN bus unless `node` / --can-node says otherwise (docs/gateway.md §9). */
export const DEFAULT_CAN_GATEWAY_NODE = 0;
/** Largest CAN node id (127 is the broadcast address). */
export const CAN_NODE_LIMIT = 126;
const MESH_KEYS = ['listen', 'bootstrap', 'mdns', 'quic', 'dht', 'relay_server'] as const;
const DEVICE_KEYS = ['path', 'serial', 'glob', 'name', 'baud', 'max_frame', 'schema', 'key'] as const;
const DEVICE_RESERVED = [] as const;

/** Largest `max_frame` / --max-frame (one UART frame, header included). */
export const MAX_FRAME_LIMIT = 1 << 20;
/** Smallest: a HELLO of a small cell must fit. */
export const MIN_FRAME = 64;
/** Longest accepted drain on SIGTERM (systemd's TimeoutStopSec must be longer). */
export const MAX_DRAIN_MS = 600_000;
/** Calls in flight get this long to finish after SIGTERM unless drain_ms says otherwise. */
export const DEFAULT_DRAIN_MS = 5000;

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Where a value came from: a line of the config file, or a flag. For messages. */
export interface Origin {
  /** The config file (absolute), or null for a flag. */
  readonly file: string | null;
  readonly line: number;
  /** The key as written (`device[0].schema`), or the flag (`--schema`). */
  readonly key: string;
}

/** One device of the file or of the command line. Exactly one of path, serialNumber, glob. */
export interface GatewayDeviceConfig {
  readonly path?: string;
  readonly serialNumber?: string;
  /** Hot-plug: every device node matching it (`/dev/ttyUSB*`; * and ? in the last segment). */
  readonly glob?: string;
  /** Announce the device's cell under this name instead of the name in its HELLO. */
  readonly name?: string;
  readonly baudRate?: number;
  readonly maxFrameBytes?: number;
  /** A description file for this device's cell (absolute). */
  readonly schema?: string;
  /** Key files (absolute) that secure this device's link (docs/security.md). */
  readonly keyFiles?: readonly string[];
  readonly origin: Origin;
}

/** One CAN bus of the file (`[[can]]`) or of `--can`. */
export interface GatewayCanConfig {
  /** "can0" (SocketCAN) or "slcan:/dev/ttyACM0" (an slcan USB adapter). */
  readonly iface: string;
  readonly fd: boolean;
  /** slcan: the nominal bitrate (SocketCAN: set by `ip link`). */
  readonly bitrate?: number;
  readonly dataBitrate?: number;
  /** The gateway's node id on this bus. */
  readonly node: number;
  readonly maxFrameBytes?: number;
  /** Nodes probed from the start (static list), besides those that broadcast a HELLO. */
  readonly nodes: readonly number[];
  /** Take in nodes that broadcast a HELLO (default true). */
  readonly learn: boolean;
  readonly probeIntervalMs?: number;
  /** Announced names by node. */
  readonly names: Readonly<Record<number, string>>;
  readonly origin: Origin;
}

/** The config file, checked (nothing read from the file system but the file itself). */
export interface GatewayConfig {
  readonly file: string;
  readonly dir?: string;
  readonly log?: 'json' | 'text';
  readonly drainMs?: number;
  /** `host:port` of the Prometheus endpoint (opt-in). */
  readonly metrics?: string;
  readonly baudRate?: number;
  readonly maxFrameBytes?: number;
  /** Key files (absolute) that secure every device without a `key` of its own. */
  readonly keyFiles?: readonly string[];
  readonly schemas: readonly { file: string; origin: Origin }[];
  readonly listen?: readonly string[];
  readonly bootstrap?: readonly string[];
  readonly mdns?: boolean;
  readonly quic?: boolean;
  readonly dht?: 'server' | 'client' | 'off';
  readonly relayServer?: boolean;
  readonly devices: readonly GatewayDeviceConfig[];
  readonly can: readonly GatewayCanConfig[];
}

/** A device as `startGateway` takes it (plus the announced name). */
export type ConfiguredDevice = (
  | { path: string; serialNumber?: undefined; glob?: undefined; name?: string; baudRate?: number; maxFrameBytes?: number }
  | { serialNumber: string; path?: undefined; glob?: undefined; name?: string; baudRate?: number; maxFrameBytes?: number }
  | { glob: string; path?: undefined; serialNumber?: undefined; baudRate?: number; maxFrameBytes?: number }
) & { security?: { keys: KeyRing } };

/** Everything `cell gateway` runs with: file and flags merged, defaults applied, schemas loaded. */
export interface GatewayRunOptions {
  readonly configFile: string | null;
  readonly devices: ConfiguredDevice[];
  /** CAN buses (the CLI opens each driver, then startGateway({ can })). */
  readonly can: GatewayCanConfig[];
  readonly schemas: CellDescription[];
  readonly dir: string;
  readonly listen?: string[];
  readonly bootstrap: string[];
  readonly mdns: boolean;
  readonly quic: boolean;
  readonly dht: 'server' | 'client' | false;
  readonly relayServer: boolean;
  /** One JSON line per event on stdout (else a readable line on stderr). */
  readonly json: boolean;
  /** @default 5000 */
  readonly drainMs: number;
  /** Prometheus endpoint `host:port`, when asked for. */
  readonly metrics?: string;
}

/** Checks of multiaddr text: null when fine, else why not. */
export interface AddrChecks {
  multiaddr(s: string): string | null;
  /** A bootstrap address: a multiaddr that names its peer (/p2p/<peer id>). */
  bootstrap(s: string): string | null;
}

// ---- reading -------------------------------------------------------------------------------

/** The TOML of a config file, parsed; syntax errors carry the line and column. */
export interface RawConfig {
  readonly file: string;
  readonly text: string;
  readonly doc: Record<string, unknown>;
}

export function readConfigToml(fileArg: string): RawConfig {
  const file = resolve(fileArg);
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new CliError(`--config ${fileArg}: no such file`, {
      exit: EXIT_USAGE, name: 'BadGatewayConfig', detail: { file },
      fix: 'give the path of a gateway config file; examples/gateway.toml (docs/gateway.md §1 "Config file") is a commented one to start from',
    });
  }
  const text = readFileSync(file, 'utf8');
  return { file, text, doc: parseToml(text, file) };
}

/** Parse TOML text (file: for messages). */
export function parseToml(text: string, file: string): Record<string, unknown> {
  try {
    return parse(text) as Record<string, unknown>;
  } catch (e) {
    const line = e instanceof TomlError ? e.line : 0;
    const where = e instanceof TomlError ? `:${e.line}:${e.column}` : '';
    const msg = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    throw new CliError(`${file}${where}: ${msg}`, {
      exit: EXIT_USAGE, name: 'BadGatewayConfig', detail: { file, line },
      fix: 'fix the TOML syntax at that line (strings in double quotes, lists in [ ], one key = value per line; docs/gateway.md §1 "Config file")',
    });
  }
}

// ---- where each key is -------------------------------------------------------------------

/**
 * Line numbers of the keys of a TOML text, by path (`dir`, `mesh.listen`, `device[1].baud`;
 * table headers as `mesh`, `device[1]`). The parser gives no positions, so this scans the lines:
 * table headers, `key =` at the start of a line (dotted keys too), skipping multi-line strings.
 */
export class KeyLines {
  private readonly lines: string[];
  private readonly at = new Map<string, number>();

  constructor(text: string) {
    this.lines = text.split(/\r?\n/);
    const arrays = new Map<string, number>(); // array-of-tables name → last index
    let table = '';
    let inString: '"""' | "'''" | null = null;
    const bare = (k: string): string => k.trim().replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
    const dotted = (k: string): string => k.split('.').map(bare).join('.');
    // `a.b` where `a` is an array of tables: the last element of it.
    const inArray = (path: string): string => {
      const parts = path.split('.');
      for (let i = parts.length; i > 0; i--) {
        const head = parts.slice(0, i).join('.');
        const n = arrays.get(head);
        if (n !== undefined) return [`${head}[${n}]`, ...parts.slice(i)].join('.');
      }
      return path;
    };
    this.lines.forEach((raw, i) => {
      const line = raw.trim();
      if (inString !== null) {
        if (countOf(line, inString) % 2 === 1) inString = null;
        return;
      }
      let m: RegExpExecArray | null;
      if ((m = /^\[\[\s*([^\]]+?)\s*\]\]/.exec(line)) !== null) {
        const name = dotted(m[1]!);
        const n = (arrays.get(name) ?? -1) + 1;
        arrays.set(name, n);
        table = `${name}[${n}]`;
        this.set(table, i + 1);
        this.set(name, i + 1);
        return;
      }
      if ((m = /^\[\s*([^\]]+?)\s*\]/.exec(line)) !== null) {
        table = inArray(dotted(m[1]!));
        this.set(table, i + 1);
        return;
      }
      if ((m = /^((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=(.*)$/.exec(line)) !== null) {
        this.set(table === '' ? dotted(m[1]!) : `${table}.${dotted(m[1]!)}`, i + 1);
        const rest = m[2]!;
        for (const q of ['"""', "'''"] as const) if (countOf(rest, q) % 2 === 1) inString = q;
      }
    });
  }

  private set(path: string, line: number): void {
    if (!this.at.has(path)) this.at.set(path, line);
  }

  /** The line of `path`, else of its closest parent that has one (an inline table), else 0. */
  line(path: string): number {
    let p = path;
    for (;;) {
      const n = this.at.get(p);
      if (n !== undefined) return n;
      const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
      if (cut <= 0) return 0;
      p = p.slice(0, cut);
    }
  }

  /** The line of the string `value` of the list at `path` (a multi-line list), else the key's. */
  lineOfValue(path: string, value: string): number {
    const from = this.line(path);
    if (from === 0) return 0;
    const lit = JSON.stringify(value);
    for (let i = from - 1; i < this.lines.length && i < from + 200; i++) {
      const l = this.lines[i]!;
      if (l.includes(lit) || l.includes(`'${value}'`)) return i + 1;
      if (i > from - 1 && /^\s*(\[|[A-Za-z0-9_"'-]+\s*=)/.test(l)) break;
    }
    return from;
  }
}

function countOf(s: string, sub: string): number {
  let n = 0;
  for (let i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length)) n++;
  return n;
}

// ---- checking ------------------------------------------------------------------------------

type Table = Record<string, unknown>;
const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** A TOML value's type, as the user would call it. */
function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (isTable(v)) return 'a table';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'number') return Number.isInteger(v) ? `the integer ${v}` : `the number ${v}`;
  if (typeof v === 'bigint') return `the integer ${v}`;
  if (typeof v === 'boolean') return `${v}`;
  return 'a date';
}

/** Syntactic multiaddr checks for when @multiformats/multiaddr is not installed. */
export const basicAddrChecks: AddrChecks = {
  multiaddr: (s) => (/^(\/[A-Za-z0-9._-]+)(\/[^/\s]+)*$/.test(s) ? null : 'is not a multiaddr (e.g. /ip4/0.0.0.0/tcp/4001)'),
  bootstrap: (s) => basicAddrChecks.multiaddr(s) ?? (/\/p2p\/[1-9A-HJ-NP-Za-km-z]{40,}/.test(s) ? null : 'names no peer: end it with /p2p/<peer id> (the `node` event of that peer prints its addresses with it)'),
};

/**
 * Checks with the multiaddr and peer id parsers of libp2p (installed with the mesh); the
 * syntactic ones when they are missing (the node's start then says what to install).
 */
export async function loadAddrChecks(): Promise<AddrChecks> {
  let multiaddr: (s: string) => { getComponents(): { name: string; value?: string }[] };
  let peerIdFromString: (s: string) => unknown;
  try {
    ({ multiaddr } = await import('@multiformats/multiaddr'));
    ({ peerIdFromString } = await import('@libp2p/peer-id'));
  } catch {
    return basicAddrChecks;
  }
  const check = (s: string): string | null => {
    try { multiaddr(s); return null; } catch (e) { return `is not a multiaddr: ${(e as Error).message}`; }
  };
  return {
    multiaddr: check,
    bootstrap(s) {
      const bad = check(s);
      if (bad !== null) return bad;
      const ids = multiaddr(s).getComponents().filter((c) => c.name === 'p2p');
      if (ids.length === 0) return 'names no peer: end it with /p2p/<peer id> (the `node` event of that peer prints its addresses with it)';
      try { peerIdFromString(ids[ids.length - 1]!.value ?? ''); return null; } catch (e) { return `has a bad peer id "${ids[ids.length - 1]!.value}": ${(e as Error).message}`; }
    },
  };
}

/** A device glob the hot-plug watcher can follow: absolute, * and ? in the last segment only. */
export function globProblem(glob: string): string | null {
  if (!glob.startsWith('/')) return 'must be an absolute pattern (e.g. "/dev/ttyUSB*")';
  const cut = glob.lastIndexOf('/');
  const dir = glob.slice(0, cut);
  const pattern = glob.slice(cut + 1);
  if (/[*?[\]{}]/.test(dir)) return 'may have wildcards only in its last path segment (the directory is watched), e.g. "/dev/serial/by-id/usb-FTDI_*"';
  if (pattern === '') return 'ends with "/": give a name pattern, e.g. "/dev/ttyUSB*"';
  if (/[[\]{}]/.test(pattern)) return 'supports only * and ? (no [...] or {...}); give one [[device]] per pattern';
  if (!/[*?]/.test(pattern)) return 'has no wildcard: for one fixed device use path = "..." instead';
  return null;
}

/**
 * `host:port` (an IPv6 host in brackets), or a bare port meaning 127.0.0.1: the rules of
 * serveMetrics (src/gateway/metrics.ts parseHostPort).
 */
export function hostPortProblem(s: string): string | null {
  const m = /^(?:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(s);
  if (m === null) return 'must be "host:port" (e.g. "127.0.0.1:9464"; an IPv6 host in brackets: "[::1]:9464"), or a port for 127.0.0.1';
  const port = Number(m[2]);
  return port <= 65535 ? null : `has port ${port}: give 0-65535`;
}

/** A CAN interface as the gateway opens it: a network interface name, or slcan:<absolute path>. */
export function canIfaceProblem(iface: string): string | null {
  if (iface.startsWith('slcan:')) return iface.length > 6 && iface[6] === '/' ? null : 'needs the adapter\'s absolute path after "slcan:" (e.g. "slcan:/dev/ttyACM0")';
  return /^[A-Za-z0-9_.-]{1,15}$/.test(iface) ? null : 'is not a network interface name (at most 15 letters, digits, _ . -), nor slcan:<path>';
}

/** Check a parsed config document. Throws the first problem as a CliError (exit 2). */
export function checkGatewayConfig(raw: RawConfig, addrs: AddrChecks = basicAddrChecks): GatewayConfig {
  const { file, doc } = raw;
  const lines = new KeyLines(raw.text);
  const base = dirname(file);
  const origin = (key: string, line = lines.line(key)): Origin => ({ file, line, key });
  const fail = (key: string, why: string, fix: string, line = lines.line(key)): CliError =>
    new CliError(`${file}:${line}: ${key} ${why}`, { exit: EXIT_USAGE, name: 'BadGatewayConfig', fix, detail: { file, line, key } });
  const SEE = 'docs/gateway.md §1 "Config file" lists the keys';
  const reservedKey = (key: string, k: keyof typeof RESERVED_KEYS): CliError => {
    const r = RESERVED_KEYS[k]!;
    return fail(key, `is not yet supported (${r.issue}): ${r.what}`, r.fix);
  };

  const unknown = (t: Table, prefix: string, known: readonly string[], reserved: readonly string[]): void => {
    for (const k of Object.keys(t)) {
      const key = prefix === '' ? k : `${prefix}.${k}`;
      if (reserved.includes(k)) throw reservedKey(key, k as keyof typeof RESERVED_KEYS);
      if (!known.includes(k)) {
        const near = closest(k, known);
        throw fail(key, `is not a known key${near !== undefined ? ` (did you mean ${near}?)` : ''}`,
          `${near !== undefined ? `rename it to ${near}, or remove it` : 'remove it'}; known here: ${known.join(', ')} (${SEE})`);
      }
    }
  };
  const str = (t: Table, k: string, key: string, example: string): string | undefined => {
    const v = t[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') throw fail(key, `must be a non-empty string, not ${typeName(v)}`, `write it in double quotes: ${example}`);
    return v;
  };
  const bool = (t: Table, k: string, key: string): boolean | undefined => {
    const v = t[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw fail(key, `must be true or false, not ${typeName(v)}`, `${k} = true (no quotes)`);
    return v;
  };
  const int = (t: Table, k: string, key: string, min: number, max: number, example: string): number | undefined => {
    const v = t[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw fail(key, `must be an integer from ${min} to ${max}, not ${typeName(v)}`, `e.g. ${example} (no quotes)`);
    }
    return v;
  };
  const strList = (t: Table, k: string, key: string, example: string): string[] | undefined => {
    const v = t[k];
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) throw fail(key, `must be a list of strings, not ${typeName(v)}`, `e.g. ${k} = [${example}]`);
    v.forEach((x, i) => {
      if (typeof x !== 'string' || x === '') throw fail(`${key}[${i}]`, `must be a non-empty string, not ${typeName(x)}`, `e.g. ${k} = [${example}]`, lines.line(key));
    });
    return v as string[];
  };
  const addrList = (t: Table, k: string, key: string, example: string, check: (s: string) => string | null, fix: string): string[] | undefined => {
    const v = strList(t, k, key, example);
    v?.forEach((a, i) => {
      const bad = check(a);
      if (bad !== null) throw fail(`${key}[${i}]`, `"${a}" ${bad}`, fix, lines.lineOfValue(key, a));
    });
    return v;
  };
  const baud = (t: Table, key: string): number | undefined => int(t, 'baud', key, 50, 16_000_000, 'baud = 115200');
  const maxFrame = (t: Table, key: string): number | undefined =>
    int(t, 'max_frame', key, MIN_FRAME, MAX_FRAME_LIMIT, 'max_frame = 512 (the firmware\'s limit; thermo: 512)');
  const path = (p: string): string => resolve(base, p);

  unknown(doc, '', TOP_KEYS, Object.keys(RESERVED_KEYS));

  const log = str(doc, 'log', 'log', 'log = "json"');
  if (log !== undefined && log !== 'json' && log !== 'text') throw fail('log', `must be "json" or "text", not "${log}"`, 'log = "json" (one JSON line per event on stdout, for journald) or log = "text"');
  const metrics = str(doc, 'metrics', 'metrics', 'metrics = "127.0.0.1:9464"');
  if (metrics !== undefined) {
    const bad = hostPortProblem(metrics);
    if (bad !== null) throw fail('metrics', bad, 'metrics = "127.0.0.1:9464" (Prometheus scrapes http://127.0.0.1:9464/metrics); leave it out for no endpoint');
  }
  const dir = str(doc, 'dir', 'dir', 'dir = "/var/lib/cell"');
  /** `key = "file"` or `key = ["a", "b"]`: key files, each readable by us only (checked now, with the line). */
  const keyFiles = (t: Table, key: string): string[] | undefined => {
    const v = t.key;
    if (v === undefined) return undefined;
    const list = typeof v === 'string' ? [v] : Array.isArray(v) && v.every((x) => typeof x === 'string') ? v as string[] : null;
    if (list === null || list.length === 0) throw fail(key, `must be a key file path or a list of them, not ${typeName(v)}`, 'key = "/etc/cell/fleet.key" (create it with `cell keys fleet --out /etc/cell/fleet.key`)');
    return list.map((k) => {
      const abs = path(k);
      try { readKeyFile(abs); } catch (e) { throw fail(key, `${(e as Error).message}`, 'create key files with `cell keys fleet` / `cell keys device`; they must be yours and mode 0600'); }
      return abs;
    });
  };
  const topKeys = keyFiles(doc, 'key');

  const schemas: { file: string; origin: Origin }[] = [];
  strList(doc, 'schemas', 'schemas', '"/etc/cell/schemas/thermo.json"')?.forEach((s, i) => {
    schemas.push({ file: path(s), origin: origin(`schemas[${i}]`, lines.lineOfValue('schemas', s)) });
  });

  let mesh: Table = {};
  if (doc.mesh !== undefined) {
    if (!isTable(doc.mesh)) throw fail('mesh', `must be a table, not ${typeName(doc.mesh)}`, 'write [mesh] on its own line, then its keys (listen = [...], bootstrap = [...])');
    mesh = doc.mesh;
    unknown(mesh, 'mesh', MESH_KEYS, []);
  }
  const listen = addrList(mesh, 'listen', 'mesh.listen', '"/ip4/0.0.0.0/tcp/4001"', addrs.multiaddr,
    'give multiaddrs such as "/ip4/0.0.0.0/tcp/4001" or "/ip4/0.0.0.0/udp/4001/quic-v1"');
  if (listen !== undefined && listen.length === 0) throw fail('mesh.listen', 'is empty: the node would not listen', 'give at least one address, or remove the key for the default (TCP and QUIC on every interface, any port)');
  const bootstrap = addrList(mesh, 'bootstrap', 'mesh.bootstrap', '"/ip4/203.0.113.7/tcp/4001/p2p/12D3KooW..."', addrs.bootstrap,
    'copy the address from the other node\'s `node` event (cell gateway/cell mesh up print them), /p2p/<peer id> included');
  const dht = str(mesh, 'dht', 'mesh.dht', 'dht = "server"');
  if (dht !== undefined && dht !== 'server' && dht !== 'client' && dht !== 'off') {
    throw fail('mesh.dht', `must be "server", "client" or "off", not "${dht}"`, 'dht = "server" (a Pi on the LAN), "client" (behind NAT), "off" (mDNS only)');
  }

  const devices: GatewayDeviceConfig[] = [];
  if (doc.device !== undefined) {
    const list = Array.isArray(doc.device) ? doc.device : [doc.device];
    const seen = new Map<string, string>();
    list.forEach((d, i) => {
      const key = `device[${i}]`;
      if (!isTable(d)) throw fail(key, `must be a table, not ${typeName(d)}`, 'write each device as a [[device]] section with path = "..." (or serial = "...", glob = "...")');
      unknown(d, key, DEVICE_KEYS, DEVICE_RESERVED);
      const p = str(d, 'path', `${key}.path`, 'path = "/dev/serial/by-id/usb-FTDI_..."');
      if (typeof d.serial === 'number' || typeof d.serial === 'bigint') {
        throw fail(`${key}.serial`, `must be a string, not ${typeName(d.serial)}`, `quote it: serial = "${String(d.serial)}" (a number would lose leading zeros)`);
      }
      const serial = str(d, 'serial', `${key}.serial`, 'serial = "A6008isP"');
      const glob = str(d, 'glob', `${key}.glob`, 'glob = "/dev/ttyUSB*"');
      const given = [p !== undefined && 'path', serial !== undefined && 'serial', glob !== undefined && 'glob'].filter((x): x is string => x !== false);
      if (given.length === 0) throw fail(key, 'has no path, serial or glob', 'give one: path = "/dev/ttyUSB0", serial = "<USB serial number>" or glob = "/dev/ttyUSB*"');
      if (given.length > 1) {
        throw fail(`${key}.${given[1]}`, `and ${key}.${given[0]} are both given: a device is found one way`,
          `keep one: path (a fixed node, best /dev/serial/by-id/...), serial (a USB serial number, any node) or glob (every matching node)`);
      }
      const name = str(d, 'name', `${key}.name`, 'name = "greenhouse-thermo"');
      if (name !== undefined && (!NAME_RE.test(name) || name.length > 255)) {
        throw fail(`${key}.name`, `"${name}" is not a cell name: letters, digits, _ and -, not starting with a digit, at most 255`, 'e.g. name = "greenhouse-thermo"');
      }
      if (name !== undefined && glob !== undefined) {
        throw fail(`${key}.name`, 'cannot be given with glob: every device matching the pattern would claim the same name', 'give the device its own [[device]] with path = "..." and name = "...", or leave the name out');
      }
      if (glob !== undefined) {
        const bad = globProblem(glob);
        if (bad !== null) throw fail(`${key}.glob`, `"${glob}" ${bad}`, 'e.g. glob = "/dev/ttyUSB*" or glob = "/dev/serial/by-id/usb-FTDI_*"');
      }
      const id = p !== undefined ? `path ${p}` : serial !== undefined ? `serial ${serial.toLowerCase()}` : `glob ${glob}`;
      const prev = seen.get(id);
      if (prev !== undefined) throw fail(`${key}.${given[0]}`, `repeats ${prev} (${id})`, 'list each device once (one [[device]] per port)');
      seen.set(id, key);
      if (name !== undefined) {
        const other = seen.get(`name ${name}`);
        if (other !== undefined) throw fail(`${key}.name`, `"${name}" is also the name of ${other}: one node provides a name once`, 'give each device its own name');
        seen.set(`name ${name}`, key);
      }
      const schema = str(d, 'schema', `${key}.schema`, 'schema = "/etc/cell/schemas/thermo.json"');
      const devKeys = keyFiles(d, `${key}.key`);
      const b = baud(d, `${key}.baud`);
      const mf = maxFrame(d, `${key}.max_frame`);
      devices.push({
        ...(p !== undefined ? { path: p } : {}),
        ...(serial !== undefined ? { serialNumber: serial } : {}),
        ...(glob !== undefined ? { glob } : {}),
        ...(name !== undefined ? { name } : {}),
        ...(b !== undefined ? { baudRate: b } : {}),
        ...(mf !== undefined ? { maxFrameBytes: mf } : {}),
        ...(schema !== undefined ? { schema: path(schema) } : {}),
        ...(devKeys !== undefined ? { keyFiles: devKeys } : {}),
        origin: origin(key),
      });
      if (schema !== undefined) schemas.push({ file: path(schema), origin: origin(`${key}.schema`) });
    });
  }

  const can: GatewayCanConfig[] = [];
  if (doc.can !== undefined) {
    const list = Array.isArray(doc.can) ? doc.can : [doc.can];
    const seenIface = new Map<string, string>();
    const seenName = new Map<string, string>();
    for (const d of devices) if (d.name !== undefined) seenName.set(d.name, `device[${devices.indexOf(d)}]`);
    list.forEach((c, i) => {
      const key = `can[${i}]`;
      if (!isTable(c)) throw fail(key, `must be a table, not ${typeName(c)}`, 'write each bus as a [[can]] section with interface = "can0" (or "slcan:/dev/ttyACM0")');
      unknown(c, key, CAN_KEYS, []);
      const iface = str(c, 'interface', `${key}.interface`, 'interface = "can0"');
      if (iface === undefined) throw fail(key, 'has no interface', 'interface = "can0" (SocketCAN; set it up with `ip link`), or interface = "slcan:/dev/ttyACM0" (a USB adapter)');
      const bad = canIfaceProblem(iface);
      if (bad !== null) throw fail(`${key}.interface`, `"${iface}" ${bad}`, 'interface = "can0", "vcan0" or "slcan:/dev/serial/by-id/usb-..."');
      const prev = seenIface.get(iface);
      if (prev !== undefined) throw fail(`${key}.interface`, `repeats ${prev} (${iface})`, 'list each bus once; its devices go in its [[can.device]] sections');
      seenIface.set(iface, key);
      const fd = bool(c, 'fd', `${key}.fd`) ?? false;
      const slcan = iface.startsWith('slcan:');
      const bitrate = int(c, 'bitrate', `${key}.bitrate`, 10_000, 1_000_000, 'bitrate = 500000');
      const dataBitrate = int(c, 'data_bitrate', `${key}.data_bitrate`, 500_000, 5_000_000, 'data_bitrate = 2000000');
      if (!slcan && (bitrate !== undefined || dataBitrate !== undefined)) {
        throw fail(`${key}.${bitrate !== undefined ? 'bitrate' : 'data_bitrate'}`, 'applies to slcan adapters only: a SocketCAN interface has its bitrate from `ip link`',
          `remove it and run: ip link set ${iface} type can bitrate 500000${fd ? ' dbitrate 2000000 fd on' : ''} restart-ms 100 && ip link set ${iface} up`);
      }
      if (dataBitrate !== undefined && !fd) throw fail(`${key}.data_bitrate`, 'needs fd = true', 'fd = true (a CAN FD adapter), or remove data_bitrate');
      const node = int(c, 'node', `${key}.node`, 0, CAN_NODE_LIMIT, `node = ${DEFAULT_CAN_GATEWAY_NODE} (the gateway's own id on this bus)`) ?? DEFAULT_CAN_GATEWAY_NODE;
      const mfc = maxFrame(c, `${key}.max_frame`);
      const probeIntervalMs = int(c, 'probe_interval_ms', `${key}.probe_interval_ms`, 100, 3_600_000, 'probe_interval_ms = 5000');
      const learn = bool(c, 'learn', `${key}.learn`) ?? true;
      const nodes: number[] = [];
      const nodeOf = (v: unknown, k: string, example: string): number => {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > CAN_NODE_LIMIT) throw fail(k, `must be a node id from 0 to ${CAN_NODE_LIMIT}, not ${typeName(v)}`, example);
        if (v === node) throw fail(k, `is ${v}, the gateway's own node id on this bus`, `give the gateway another id (${key}.node = ...) or the device another one`);
        return v;
      };
      if (c.nodes !== undefined) {
        if (!Array.isArray(c.nodes)) throw fail(`${key}.nodes`, `must be a list of node ids, not ${typeName(c.nodes)}`, 'nodes = [10, 11, 12]');
        c.nodes.forEach((v, j) => { const n = nodeOf(v, `${key}.nodes[${j}]`, 'nodes = [10, 11, 12]'); if (!nodes.includes(n)) nodes.push(n); });
      }
      const names: Record<number, string> = {};
      if (c.device !== undefined) {
        const devs = Array.isArray(c.device) ? c.device : [c.device];
        devs.forEach((d, j) => {
          const dk = `${key}.device[${j}]`;
          if (!isTable(d)) throw fail(dk, `must be a table, not ${typeName(d)}`, 'write each device as a [[can.device]] section with node = 10');
          unknown(d, dk, CAN_DEVICE_KEYS, []);
          if (d.node === undefined) throw fail(dk, 'has no node', 'node = 10 (the device\'s CAN node id)');
          const n = nodeOf(d.node, `${dk}.node`, 'node = 10');
          if (names[n] !== undefined) throw fail(`${dk}.node`, `repeats node ${n}`, 'one [[can.device]] per node');
          const name = str(d, 'name', `${dk}.name`, 'name = "cellar-thermo"');
          if (name !== undefined) {
            if (!NAME_RE.test(name) || name.length > 255) throw fail(`${dk}.name`, `"${name}" is not a cell name: letters, digits, _ and -, not starting with a digit, at most 255`, 'e.g. name = "cellar-thermo"');
            const other = seenName.get(name);
            if (other !== undefined) throw fail(`${dk}.name`, `"${name}" is also the name of ${other}: one node provides a name once`, 'give each device its own name');
            seenName.set(name, dk);
            names[n] = name;
          }
          const schema = str(d, 'schema', `${dk}.schema`, 'schema = "/etc/cell/schemas/thermo.json"');
          if (schema !== undefined) schemas.push({ file: path(schema), origin: origin(`${dk}.schema`) });
          if (!nodes.includes(n)) nodes.push(n);
        });
      }
      can.push({
        iface, fd, node, nodes, learn, names, origin: origin(key),
        ...(bitrate !== undefined ? { bitrate } : {}),
        ...(dataBitrate !== undefined ? { dataBitrate } : {}),
        ...(mfc !== undefined ? { maxFrameBytes: mfc } : {}),
        ...(probeIntervalMs !== undefined ? { probeIntervalMs } : {}),
      });
    });
  }

  const b = baud(doc, 'baud');
  const mf = maxFrame(doc, 'max_frame');
  const drainMs = int(doc, 'drain_ms', 'drain_ms', 0, MAX_DRAIN_MS, 'drain_ms = 5000 (keep it below systemd\'s TimeoutStopSec)');
  const mdns = bool(mesh, 'mdns', 'mesh.mdns');
  const quic = bool(mesh, 'quic', 'mesh.quic');
  const relayServer = bool(mesh, 'relay_server', 'mesh.relay_server');
  return {
    file, schemas, devices, can,
    ...(dir !== undefined ? { dir: path(dir) } : {}),
    ...(log !== undefined ? { log: log as 'json' | 'text' } : {}),
    ...(drainMs !== undefined ? { drainMs } : {}),
    ...(metrics !== undefined ? { metrics } : {}),
    ...(b !== undefined ? { baudRate: b } : {}),
    ...(mf !== undefined ? { maxFrameBytes: mf } : {}),
    ...(topKeys !== undefined ? { keyFiles: topKeys } : {}),
    ...(listen !== undefined ? { listen } : {}),
    ...(bootstrap !== undefined ? { bootstrap } : {}),
    ...(mdns !== undefined ? { mdns } : {}),
    ...(quic !== undefined ? { quic } : {}),
    ...(dht !== undefined ? { dht: dht as 'server' | 'client' | 'off' } : {}),
    ...(relayServer !== undefined ? { relayServer } : {}),
  };
}

/** Read and check a config file (the TOML, then the keys). */
export async function readGatewayConfig(fileArg: string, addrs?: AddrChecks): Promise<GatewayConfig> {
  return checkGatewayConfig(readConfigToml(fileArg), addrs ?? await loadAddrChecks());
}

// ---- files the config names --------------------------------------------------------------

function describeOrigin(o: Origin): string {
  return o.file === null ? o.key : `${o.file}:${o.line}: ${o.key}`;
}

/**
 * A schema file (a describe() answer or a generated gen/schema.json), checked for shape.
 * Errors name the key or flag it came from.
 */
export function loadSchemaFile(file: string, o: Origin): CellDescription {
  const where = describeOrigin(o);
  const detail = o.file === null ? { file } : { file: o.file, line: o.line, key: o.key, schema: file };
  if (!existsSync(file)) {
    throw new CliError(`${where}: ${file}: no such file`, {
      exit: EXIT_USAGE, name: o.file === null ? 'UsageError' : 'BadGatewayConfig', detail,
      fix: 'firmware schemas are written by `npm run build:firmware` (firmware/<app>/gen/schema.json); a running cell\'s by `cell gen <target>`',
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError(`${where}: ${file} is not JSON: ${(e as Error).message}`, { code: 406, detail, fix: 'regenerate it (npm run build:firmware, or cell gen)' });
  }
  return checkDescription(json, file);
}

// ---- flags + file ------------------------------------------------------------------------

const flagOrigin = (flag: string): Origin => ({ file: null, line: 0, key: flag });

function usage(msg: string, fix: string): CliError {
  return new CliError(msg, { exit: EXIT_USAGE, fix });
}

/**
 * What `cell gateway` runs with: the config file (if --config) with the flags on top. A flag
 * replaces the file's value: --uart/--serial replace every [[device]], --listen/--bootstrap/
 * --schema replace the lists, --baud/--max-frame apply to every device (per-device values too).
 */
export async function gatewayOptions(p: Parsed, raw?: RawConfig | null, addrs?: AddrChecks): Promise<GatewayRunOptions> {
  const f = p.flags;
  const checks = addrs ?? await loadAddrChecks();
  const configFile = f.config as string | undefined;
  const cfgRaw = raw !== undefined ? raw : configFile !== undefined ? readConfigToml(configFile) : null;
  const cfg = cfgRaw !== null ? checkGatewayConfig(cfgRaw, checks) : null;
  const list = (name: string): string[] => {
    const v = f[name];
    return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  };
  const flagBool = (name: string): boolean | undefined => (typeof f[name] === 'boolean' ? f[name] as boolean : undefined);

  const baudFlag = f.baud as number | undefined;
  if (baudFlag !== undefined && (!Number.isInteger(baudFlag) || baudFlag < 50 || baudFlag > 16_000_000)) throw usage(`--baud ${baudFlag} is not a line rate`, 'give an integer rate such as --baud 115200');
  const frameFlag = f['max-frame'] as number | undefined;
  if (frameFlag !== undefined && (!Number.isInteger(frameFlag) || frameFlag < MIN_FRAME || frameFlag > MAX_FRAME_LIMIT)) {
    throw usage(`--max-frame ${frameFlag} is not from ${MIN_FRAME} to ${MAX_FRAME_LIMIT}`, 'set it to the firmware\'s limit, header included (thermo: --max-frame 512)');
  }
  const dhtFlag = f.dht as string | undefined;
  if (dhtFlag !== undefined && !['server', 'client', 'off'].includes(dhtFlag)) throw usage(`--dht "${dhtFlag}" is not server, client or off`, 'e.g. --dht client (behind NAT) or --dht off (mDNS only)');
  for (const [flag, check] of [['listen', checks.multiaddr], ['bootstrap', checks.bootstrap]] as const) {
    for (const a of list(flag)) {
      const bad = check(a);
      if (bad !== null) throw usage(`--${flag} "${a}" ${bad}`, flag === 'listen' ? 'e.g. --listen /ip4/0.0.0.0/tcp/4001' : 'copy the address from the other node\'s `node` event, /p2p/<peer id> included');
    }
  }

  // Devices: the flags' list replaces the file's.
  const fromFlags = list('uart').length + list('serial').length > 0;
  type Line = { baudRate?: number; maxFrameBytes?: number };
  const line = (own: Line): Line => {
    const baudRate = baudFlag ?? own.baudRate ?? cfg?.baudRate;
    const maxFrameBytes = frameFlag ?? own.maxFrameBytes ?? cfg?.maxFrameBytes;
    return { ...(baudRate !== undefined ? { baudRate } : {}), ...(maxFrameBytes !== undefined ? { maxFrameBytes } : {}) };
  };
  // Keys: --key replaces every key of the file; else a device's own, else the file's top-level one.
  // One KeyRing per set of files, shared by the devices (and the hot-plugged ones) that use it.
  const rings = new Map<string, KeyRing>();
  const ring = (files: readonly string[]): { security: { keys: KeyRing } } => {
    const id = files.join('\0');
    let r = rings.get(id);
    if (r === undefined) {
      try { r = KeyRing.fromFiles(files); } catch (e) { throw usage((e as Error).message, 'create key files with `cell keys fleet` / `cell keys device`; they must be yours and mode 0600'); }
      rings.set(id, r);
    }
    return { security: { keys: r } };
  };
  const keyFlag = list('key').map((k) => resolve(k));
  const secFor = (own?: readonly string[]): { security: { keys: KeyRing } } | object => {
    const files = keyFlag.length > 0 ? keyFlag : own ?? cfg?.keyFiles;
    return files !== undefined && files.length > 0 ? ring(files) : {};
  };
  const devices: ConfiguredDevice[] = fromFlags
    ? [...list('uart').map((path) => ({ path, ...line({}), ...secFor() })), ...list('serial').map((serialNumber) => ({ serialNumber, ...line({}), ...secFor() }))]
    : (cfg?.devices ?? []).map((d): ConfiguredDevice => {
      const l = { ...line(d), ...secFor(d.keyFiles) };
      if (d.glob !== undefined) return { glob: d.glob, ...l };
      const name = d.name !== undefined ? { name: d.name } : {};
      return d.path !== undefined ? { path: d.path, ...name, ...l } : { serialNumber: d.serialNumber!, ...name, ...l };
    });
  const can = canBuses(p, cfg, frameFlag);
  if (devices.length === 0 && can.length === 0) {
    throw new CliError(cfg !== null ? `${cfg.file}: no [[device]] and no [[can]]: the gateway would have nothing to serve` : 'no device: give --uart <path> (or --serial <number>, or --can <interface>) at least once, or --config <file>', {
      exit: EXIT_USAGE, ...(cfg !== null ? { name: 'BadGatewayConfig', detail: { file: cfg.file, line: 0, key: 'device' } } : {}),
      fix: cfg !== null ? 'add a [[device]] section with path = "/dev/ttyUSB0", or a [[can]] section with interface = "can0" (docs/gateway.md §1 "Config file")' : 'e.g. cell gateway --uart /dev/ttyUSB0, cell gateway --can can0, or cell gateway --config /etc/cell/gateway.toml',
    });
  }

  // Schemas: --schema replaces the file's top-level list; a device's schema goes with its device.
  const fileRefs = cfg?.schemas ?? [];
  const refs = [
    ...(list('schema').length > 0 ? list('schema').map((s) => ({ file: resolve(s), origin: flagOrigin('--schema') })) : fileRefs.filter((s) => s.origin.key.startsWith('schemas'))),
    ...fileRefs.filter((s) => (!fromFlags && s.origin.key.startsWith('device')) || (!canFromFlags(p) && s.origin.key.startsWith('can'))),
  ];
  const schemas: CellDescription[] = [];
  const byName = new Map<string, { file: string; origin: Origin }>();
  for (const r of refs) {
    const d = loadSchemaFile(r.file, r.origin);
    const prev = byName.get(d.name);
    if (prev !== undefined) {
      if (prev.file === r.file) continue;
      const o = r.origin;
      throw new CliError(`${describeOrigin(o)}: ${r.file} describes cell "${d.name}", as ${prev.file} (${describeOrigin(prev.origin)}) does: the gateway matches schemas by cell name`, {
        exit: EXIT_USAGE, name: o.file === null ? 'UsageError' : 'BadGatewayConfig',
        detail: o.file === null ? { file: r.file } : { file: o.file, line: o.line, key: o.key },
        fix: 'give one schema file per cell name (devices with the same firmware share it)',
      });
    }
    byName.set(d.name, r);
    schemas.push(d);
  }

  const dhtv = dhtFlag ?? cfg?.dht ?? 'server';
  const listen = list('listen').length > 0 ? list('listen') : cfg?.listen !== undefined ? [...cfg.listen] : undefined;
  const noMdns = flagBool('no-mdns');
  const noQuic = flagBool('no-quic');
  const jsonFlag = flagBool('json');
  return {
    configFile: cfg?.file ?? null,
    devices,
    can,
    schemas,
    dir: f.dir !== undefined ? resolve(f.dir as string) : cfg?.dir ?? '.',
    ...(listen !== undefined ? { listen } : {}),
    bootstrap: list('bootstrap').length > 0 ? list('bootstrap') : [...(cfg?.bootstrap ?? [])],
    mdns: noMdns !== undefined ? !noMdns : cfg?.mdns ?? true,
    quic: noQuic !== undefined ? !noQuic : cfg?.quic ?? true,
    dht: dhtv === 'off' ? false : dhtv as 'server' | 'client',
    relayServer: flagBool('relay-server') ?? cfg?.relayServer ?? false,
    json: jsonFlag ?? cfg?.log === 'json',
    drainMs: cfg?.drainMs ?? DEFAULT_DRAIN_MS,
    ...(cfg?.metrics !== undefined ? { metrics: cfg.metrics } : {}),
  };
}

const canFromFlags = (p: Parsed): boolean => p.flags.can !== undefined && (!Array.isArray(p.flags.can) || p.flags.can.length > 0);

/**
 * The CAN buses: `--can <interface>[,fd]` (repeatable) replaces the file's [[can]] list;
 * `--can-node` (the gateway's node id), `--can-bitrate` (slcan) and `--can-nodes 10,11` (a static
 * list) apply to the buses of the flags; --max-frame to every bus.
 */
function canBuses(p: Parsed, cfg: GatewayConfig | null, frameFlag: number | undefined): GatewayCanConfig[] {
  const f = p.flags;
  const nodeFlag = f['can-node'] as number | undefined;
  const bitrateFlag = f['can-bitrate'] as number | undefined;
  const nodesFlag = f['can-nodes'] as string | undefined;
  if (nodeFlag !== undefined && (!Number.isInteger(nodeFlag) || nodeFlag < 0 || nodeFlag > CAN_NODE_LIMIT)) throw usage(`--can-node ${nodeFlag} is not a CAN node id`, `give 0-${CAN_NODE_LIMIT} (default ${DEFAULT_CAN_GATEWAY_NODE}; 127 is the broadcast address)`);
  if (bitrateFlag !== undefined && (!Number.isInteger(bitrateFlag) || bitrateFlag < 10_000 || bitrateFlag > 1_000_000)) throw usage(`--can-bitrate ${bitrateFlag} is not a CAN bitrate`, 'e.g. --can-bitrate 500000 (slcan adapters: 10k, 20k, 50k, 100k, 125k, 250k, 500k, 800k, 1M)');
  if (!canFromFlags(p)) {
    if (nodeFlag !== undefined || bitrateFlag !== undefined || nodesFlag !== undefined) {
      if (cfg === null || cfg.can.length === 0) throw usage('--can-node, --can-bitrate and --can-nodes go with --can', 'e.g. cell gateway --can can0 --can-node 1');
    }
    return (cfg?.can ?? []).map((c) => ({
      ...c,
      ...(nodeFlag !== undefined ? { node: nodeFlag } : {}),
      ...(frameFlag !== undefined ? { maxFrameBytes: frameFlag } : c.maxFrameBytes === undefined && cfg?.maxFrameBytes !== undefined ? { maxFrameBytes: cfg.maxFrameBytes } : {}),
    }));
  }
  const node = nodeFlag ?? DEFAULT_CAN_GATEWAY_NODE;
  const nodes: number[] = [];
  if (nodesFlag !== undefined) {
    for (const t of nodesFlag.split(',').map((x) => x.trim()).filter((x) => x !== '')) {
      const n = Number(t);
      if (!Number.isInteger(n) || n < 0 || n > CAN_NODE_LIMIT || n === node) throw usage(`--can-nodes: "${t}" is not a device node id`, `give ids 0-${CAN_NODE_LIMIT} other than the gateway's own (${node}), e.g. --can-nodes 10,11,12`);
      if (!nodes.includes(n)) nodes.push(n);
    }
  }
  const list = Array.isArray(f.can) ? f.can as string[] : [f.can as string];
  const seen = new Set<string>();
  return list.map((text): GatewayCanConfig => {
    const parts = text.split(',').map((x) => x.trim());
    const iface = parts[0]!;
    const bad = canIfaceProblem(iface);
    if (bad !== null) throw usage(`--can "${text}": "${iface}" ${bad}`, 'e.g. --can can0, --can can0,fd or --can slcan:/dev/ttyACM0');
    let fd = false;
    for (const o of parts.slice(1)) {
      if (o === 'fd') fd = true;
      else throw usage(`--can "${text}": unknown option "${o}"`, 'the only option is fd: --can can0,fd (CAN FD frames)');
    }
    if (seen.has(iface)) throw usage(`--can ${iface} is given twice`, 'give each bus once');
    seen.add(iface);
    if (bitrateFlag !== undefined && !iface.startsWith('slcan:')) throw usage(`--can-bitrate applies to slcan adapters only (${iface} is SocketCAN)`, `set the bitrate with ip link: ip link set ${iface} type can bitrate ${bitrateFlag} restart-ms 100`);
    const maxFrameBytes = frameFlag ?? cfg?.maxFrameBytes;
    return {
      iface, fd, node, nodes, learn: true, names: {}, origin: flagOrigin('--can'),
      ...(bitrateFlag !== undefined ? { bitrate: bitrateFlag } : {}),
      ...(maxFrameBytes !== undefined ? { maxFrameBytes } : {}),
    };
  });
}
