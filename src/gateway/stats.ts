// Call and link accounting per device, for the gateway's metrics (docs/gateway.md §7 "Metrics").
//
// The gateway forwards frames without decoding payloads. A TapLink sits between a device's UART
// session and the mesh proxy and reads the 20-byte header of every frame (docs/wire-format.md §2:
// kind, call id, method key) and, of an ERROR, the u16 code that starts its payload (docs/rpc.md
// §5 "Errors"). Keys map to entry indexes through the device's HELLO table (a MethodTable), and every
// counter is a slot of a typed array indexed by entry: a frame costs a handful of loads and stores
// and allocates nothing.
//
// Calls are matched on the device side of the proxy: the proxy rewrites each caller's call id to
// one that is unique on the device's session (docs/mesh.md §4), so one in-flight table per device
// covers every mesh stream. The table is direct-mapped by call id (ids are handed out in order):
// a REQUEST whose slot still holds an unanswered call evicts it (counted in `untracked`), so the
// table never grows, whatever callers do.
import type { HelloInfo } from '../rpc/payloads.ts';
import type { Link, LinkCapabilities, LinkHandlers, LinkStats } from '../transports/link.ts';
import type { Header } from '../wire/header.ts';
import {
  CHANNEL_CONTROL, HEADER_BYTES, KIND_CANCEL, KIND_ERROR, KIND_EVENT, KIND_REQUEST, KIND_RESPONSE, KIND_STREAM_END,
} from '../wire/header.ts';
import { ERR_RPC_UNAVAILABLE } from '../wire/errors.ts';

/**
 * Upper bounds of the call latency histogram, in ms: a UART round trip is ~1 ms for a tiny frame
 * on a fast line and ~90 ms for two 512-byte frames at 115200 baud; a slow firmware method may
 * take seconds. Above the last bound: the +Inf bucket.
 */
export const LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000]);
const NB = LATENCY_BUCKETS_MS.length + 1; // + the +Inf bucket
const BOUNDS = Float64Array.from(LATENCY_BUCKETS_MS);

/** Distinct error codes counted per entry; more codes are counted under "other". */
export const MAX_ERROR_CODES_PER_ENTRY = 8;
/** Method tables (cells seen on one device: reflashed firmware) kept per device; the oldest go. */
const MAX_TABLES = 4;

/** The label of calls whose key is not in the device's HELLO (control-channel calls, stale clients). */
export const OTHER_METHOD = '(other)';

export type EntryKindLabel = 'method' | 'stream' | 'event' | 'other';

function tableSignature(hello: HelloInfo): string {
  return `${hello.cellName} ${hello.entries.map((e) => e.key.toString(16)).join(' ')}`;
}

/**
 * Counters of one cell as seen on one device, by HELLO entry (index n: keys not in the HELLO).
 * Built once per HELLO table; lookups by key are an open-addressed hash over typed arrays.
 */
export class MethodTable {
  readonly cell: string;
  /** Entry names; names[n] = OTHER_METHOD. */
  readonly names: readonly string[];
  readonly kinds: readonly EntryKindLabel[];
  readonly n: number;
  /** Cell name + keys: the same table is reused when the same firmware comes back. */
  readonly signature: string;
  /** REQUESTs forwarded to the device. */
  readonly calls: Float64Array;
  /** Calls the device answered (RESPONSE, STREAM_END or ERROR): the histogram's count. */
  readonly answered: Float64Array;
  /** CANCELs forwarded (the caller gave up or went away). */
  readonly cancelled: Float64Array;
  /** EVENTs from the device. */
  readonly events: Float64Array;
  /** Latency histogram, NB slots per entry, not cumulative (the formatter sums them). */
  readonly buckets: Float64Array;
  readonly sumMs: Float64Array;
  /** Error codes per entry (-1 = free slot) and their counts; `otherErrors`: codes beyond the slots. */
  readonly codes: Int32Array;
  readonly codeCounts: Float64Array;
  readonly otherErrors: Float64Array;
  private readonly keyLo: Uint32Array;
  private readonly keyHi: Uint32Array;
  private readonly slots: Int32Array;
  private readonly mask: number;

  constructor(hello: HelloInfo) {
    const entries = hello.entries;
    const n = entries.length;
    this.cell = hello.cellName;
    this.n = n;
    this.names = [...entries.map((e) => e.name), OTHER_METHOD];
    this.kinds = [...entries.map((e) => e.kind), 'other'];
    this.signature = tableSignature(hello);
    this.keyLo = new Uint32Array(n);
    this.keyHi = new Uint32Array(n);
    let size = 8;
    while (size < 2 * n) size *= 2;
    this.mask = size - 1;
    this.slots = new Int32Array(size); // entry index + 1; 0 = empty
    for (let i = 0; i < n; i++) {
      const k = entries[i]!.key;
      const lo = Number(k & 0xffffffffn) >>> 0;
      const hi = Number((k >> 32n) & 0xffffffffn) >>> 0;
      this.keyLo[i] = lo;
      this.keyHi[i] = hi;
      let s = (lo ^ hi) & this.mask;
      while (this.slots[s] !== 0) s = (s + 1) & this.mask;
      this.slots[s] = i + 1;
    }
    const m = n + 1;
    this.calls = new Float64Array(m);
    this.answered = new Float64Array(m);
    this.cancelled = new Float64Array(m);
    this.events = new Float64Array(m);
    this.buckets = new Float64Array(m * NB);
    this.sumMs = new Float64Array(m);
    this.codes = new Int32Array(m * MAX_ERROR_CODES_PER_ENTRY).fill(-1);
    this.codeCounts = new Float64Array(m * MAX_ERROR_CODES_PER_ENTRY);
    this.otherErrors = new Float64Array(m);
  }

  /** Entry index of a key (n when the HELLO has no such key). Cost: one hash probe, usually. */
  index(lo: number, hi: number): number {
    const mask = this.mask;
    let s = (lo ^ hi) & mask;
    for (;;) {
      const v = this.slots[s]!;
      if (v === 0) return this.n;
      const i = v - 1;
      if (this.keyLo[i] === lo && this.keyHi[i] === hi) return i;
      s = (s + 1) & mask;
    }
  }

  /** @internal */
  error(i: number, code: number): void {
    const base = i * MAX_ERROR_CODES_PER_ENTRY;
    for (let s = 0; s < MAX_ERROR_CODES_PER_ENTRY; s++) {
      const c = this.codes[base + s]!;
      if (c === code) { this.codeCounts[base + s]!++; return; }
      if (c === -1) { this.codes[base + s] = code; this.codeCounts[base + s] = 1; return; }
    }
    this.otherErrors[i]!++;
  }
}

/** Link counters of a device, summed over every time its port was open. */
export interface DeviceLinkTotals {
  /** Frame bytes (header + payload, before COBS/CRC) received from / sent to the device. */
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  /** Frames whose CRC-32C did not match. */
  crcErrors: number;
  /** Frames the line layer threw away and resynchronised after (CRC, COBS, too short, oversize, bad header). */
  resyncs: number;
  /** I/O errors reported by the OS. */
  ioErrors: number;
  /** Frames not sent (link closed). */
  dropped: number;
}

function addLink(t: DeviceLinkTotals, s: LinkStats): void {
  t.bytesIn += s.bytesIn;
  t.bytesOut += s.bytesOut;
  t.framesIn += s.framesIn;
  t.framesOut += s.framesOut;
  t.crcErrors += s.errCrc;
  t.resyncs += s.errCrc + s.errCobs + s.errTooShort + s.errOversize + s.errMalformed;
  t.ioErrors += s.errIo;
  t.dropped += s.dropped;
}

const zeroLink = (): DeviceLinkTotals => ({ bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0, crcErrors: 0, resyncs: 0, ioErrors: 0, dropped: 0 });

export interface DeviceStatsOptions {
  /**
   * Calls tracked in flight per device (rounded up to a power of two). The proxy lets 256 through
   * at once (docs/mesh.md §4), so a call evicted from here is one that was never answered.
   * @default 1024
   */
  maxInFlightTracked?: number;
}

/**
 * Everything counted for one device (a port path, or a USB serial number), kept across unplug
 * and replug so counters do not restart.
 */
export class DeviceStats {
  readonly key: string;
  /** Cells seen on this device, newest last (at most 4). */
  readonly tables: MethodTable[] = [];
  /** Port opens after the first (the device came back, or was plugged in again). */
  reconnects = 0;
  private opened = false;
  /** Calls evicted from the in-flight table unanswered, and answers to calls it did not hold. */
  untracked = 0;
  /** The port open now (its stats are added live), or null. */
  private port: { readonly stats: LinkStats } | null = null;
  private readonly closedLink = zeroLink();
  private readonly ids: Uint32Array;
  private readonly ent: Int32Array;
  private readonly t0: Float64Array;
  private readonly mask: number;
  private active: TapLink | null = null;
  private table: MethodTable | null = null;

  constructor(key: string, opts: DeviceStatsOptions = {}) {
    this.key = key;
    let cap = 16;
    while (cap < (opts.maxInFlightTracked ?? 1024)) cap *= 2;
    this.mask = cap - 1;
    this.ids = new Uint32Array(cap); // 0 = free (the proxy never uses call id 0)
    this.ent = new Int32Array(cap);
    this.t0 = new Float64Array(cap);
  }

  /** The port opened: its LinkStats are read live until portClosed(). */
  portOpened(port: { readonly stats: LinkStats } | null): void {
    if (this.port !== null && this.port !== port) addLink(this.closedLink, this.port.stats);
    this.port = port;
    if (this.opened) this.reconnects++;
    this.opened = true;
  }

  /** The port is gone: its final counts join the totals. */
  portClosed(): void {
    if (this.port !== null) addLink(this.closedLink, this.port.stats);
    this.port = null;
  }

  link(): DeviceLinkTotals {
    const t = { ...this.closedLink };
    if (this.port !== null) addLink(t, this.port.stats);
    return t;
  }

  /** The table for a HELLO (the same one again when the same firmware comes back). */
  tableFor(hello: HelloInfo): MethodTable {
    const sig = tableSignature(hello);
    if (this.table !== null && this.table.signature === sig) return this.table;
    let t = this.tables.find((x) => x.signature === sig);
    if (t === undefined) {
      t = new MethodTable(hello);
      this.tables.push(t);
      if (this.tables.length > MAX_TABLES) this.tables.shift();
    } else {
      this.tables.splice(this.tables.indexOf(t), 1);
      this.tables.push(t);
    }
    this.table = t;
    return t;
  }

  /**
   * Wrap a session handed to the proxy: frames both ways are counted against the table of
   * `hello` (the device's HELLO from the probe that preceded this session).
   */
  tap(link: Link, hello: HelloInfo): Link {
    const t = new TapLink(link, this, this.tableFor(hello));
    this.endSession(this.active);
    this.active = t;
    return t;
  }

  /** @internal A REQUEST (or CANCEL) on its way to the device. */
  toDevice(tap: TapLink, buf: Uint8Array, off: number): void {
    if (tap !== this.active) return;
    const kind = buf[off + 1]! & 0x0f;
    if (kind === KIND_REQUEST) {
      const tab = tap.table;
      const i = buf[off + 3] === CHANNEL_CONTROL ? tab.n : tab.index(u32(buf, off + 8), u32(buf, off + 12));
      tab.calls[i]!++;
      const id = u32(buf, off + 4);
      const s = id & this.mask;
      if (this.ids[s] !== 0) this.untracked++;
      this.ids[s] = id;
      this.ent[s] = i;
      tickClock();
      this.t0[s] = CLOCK[0]!;
    } else if (kind === KIND_CANCEL) {
      const id = u32(buf, off + 4);
      const s = id & this.mask;
      if (this.ids[s] === id) { this.ids[s] = 0; tap.table.cancelled[this.ent[s]!]!++; }
    }
  }

  /** @internal A frame from the device. */
  fromDevice(tap: TapLink, buf: Uint8Array, off: number, len: number): void {
    if (tap !== this.active) return;
    const kind = buf[off + 1]! & 0x0f;
    if (kind === KIND_RESPONSE || kind === KIND_STREAM_END || kind === KIND_ERROR) {
      const id = u32(buf, off + 4);
      const s = id & this.mask;
      if (this.ids[s] !== id || id === 0) { this.untracked++; return; }
      this.ids[s] = 0;
      const i = this.ent[s]!;
      tickClock();
      const tab = tap.table;
      // MethodTable.observe, inline: a double passed to a call V8 does not inline is boxed.
      const ms = CLOCK[0]! - this.t0[s]!;
      tab.answered[i]!++;
      tab.sumMs[i]! += ms;
      let b = 0;
      while (b < NB - 1 && ms > BOUNDS[b]!) b++;
      tab.buckets[i * NB + b]!++;
      if (kind === KIND_ERROR) tap.table.error(i, len >= HEADER_BYTES + 2 ? buf[off + HEADER_BYTES]! | (buf[off + HEADER_BYTES + 1]! << 8) : 0);
    } else if (kind === KIND_EVENT) {
      const tab = tap.table;
      tab.events[tab.index(u32(buf, off + 8), u32(buf, off + 12))]!++;
    }
  }

  /**
   * @internal The session ended: the proxy answers every call still in flight Unavailable (401);
   * they are counted as such (not in the latency histogram: the device never answered).
   */
  endSession(tap: TapLink | null): void {
    if (tap === null || tap !== this.active) return;
    this.active = null;
    const ids = this.ids;
    for (let s = 0; s < ids.length; s++) {
      if (ids[s] !== 0) { ids[s] = 0; tap.table.error(this.ent[s]!, ERR_RPC_UNAVAILABLE); }
    }
  }
}

/**
 * The clock of the latency histogram: performance.now(), read once per tick and kept in a typed
 * array. Frames that arrive in one tick share the reading (a device's answer never arrives in its
 * request's tick). Node 20's performance.now() allocates a heap number per call (measured: 8
 * scavenges per 10^6 calls; none on Node 24), and a double stored in a `let` is one too.
 */
const CLOCK = new Float64Array(1);
let clockFresh = false;
const staleClock = (): void => { clockFresh = false; };
function tickClock(): void {
  if (clockFresh) return;
  clockFresh = true;
  queueMicrotask(staleClock);
  CLOCK[0] = performance.now();
}

function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/** A device session as the proxy sees it, with every frame counted on the way (see DeviceStats). */
export class TapLink implements Link {
  private handlers: LinkHandlers | null = null;

  /** @internal */
  constructor(private readonly inner: Link, private readonly dev: DeviceStats, readonly table: MethodTable) {}

  get caps(): LinkCapabilities { return this.inner.caps; }
  get stats(): LinkStats { return this.inner.stats; }
  get closed(): boolean { return this.inner.closed; }

  start(handlers: LinkHandlers): void {
    this.handlers = handlers;
    this.inner.start({
      onFrame: this.onFrame,
      onClose: (err) => { this.dev.endSession(this); handlers.onClose(err); },
      ...(handlers.onDrain !== undefined ? { onDrain: () => handlers.onDrain!() } : {}),
      ...(handlers.onBackpressure !== undefined ? { onBackpressure: () => handlers.onBackpressure!() } : {}),
    });
  }

  send(frame: Uint8Array, len: number = frame.length): boolean {
    if (len >= HEADER_BYTES) this.dev.toDevice(this, frame, 0);
    return this.inner.send(frame, len);
  }

  close(): void { this.inner.close(); }

  private readonly onFrame = (buf: Uint8Array, off: number, len: number, header?: Header): void => {
    this.dev.fromDevice(this, buf, off, len);
    this.handlers!.onFrame(buf, off, len, header);
  };
}

// ---------------------------------------------------------------------------------------------
// Snapshots (what /status.json serves and the Prometheus text is made from)

/** One HELLO entry of a device's cell. */
export interface GatewayMethodStatus {
  cell: string;
  /** The entry's name; "(other)" for keys not in the device's HELLO (control-channel calls such as describe()). */
  method: string;
  kind: EntryKindLabel;
  /** REQUESTs forwarded to the device. */
  calls: number;
  /** Calls that ended in an ERROR, by code (decimal string; "other" past 8 distinct codes). 401: cut off when the device's link went away. */
  errors: Record<string, number>;
  /** CANCELs forwarded (the caller gave up or went away). */
  cancelled: number;
  /** EVENTs the device emitted. */
  events: number;
  /** Time from REQUEST to the device's RESPONSE / STREAM_END / ERROR, as seen by the gateway. */
  latency: {
    /** Cumulative counts, one per GatewayStatus.latencyBucketsSeconds bound, then +Inf (= count). */
    buckets: number[];
    sumSeconds: number;
    count: number;
  };
}

export interface GatewayDeviceMetrics {
  /** The device's label: its port path, or "serial:<number>" for a device given by USB serial number. */
  device: string;
  /** How it was configured: the path, the glob it matched, or "serial <number>". */
  match: string;
  /** The port path now (or last) in use. */
  path: string;
  /** The cell last identified on it (its HELLO; null before the first probe). */
  cell: string | null;
  /** The name it is announced under in the mesh now (a configured name, else `cell`), or null. */
  announcedAs: string | null;
  /** The device is configured or plugged in (false: unplugged, kept for its counters). */
  present: boolean;
  /** The port is open. */
  up: boolean;
  /** Its cell is announced in the mesh. */
  announced: boolean;
  reconnects: number;
  probes: number;
  probeFailures: number;
  sessions: number;
  link: DeviceLinkTotals;
  /** Mesh streams (callers) on its proxy now, and calls in flight through it. */
  meshStreams: number;
  inFlight: number;
  /** Calls not matched to an answer (evicted from the bounded in-flight table, or answers to unknown ids). */
  untracked: number;
  methods: GatewayMethodStatus[];
}

/** The gateway's state and counters (/status.json; `cell status --gateway --json`). */
export interface GatewayStatus {
  /** Format version of this object. */
  version: 1;
  pid: number;
  /** The mesh node's PeerId (null while it starts). */
  peerId: string | null;
  uptimeSeconds: number;
  rssBytes: number;
  /** Connected mesh peers (null while the node starts, or when the node does not say). */
  meshPeers: number | null;
  /** Upper bounds of the latency buckets, in seconds (+Inf implied). */
  latencyBucketsSeconds: number[];
  devices: GatewayDeviceMetrics[];
  /** CAN buses behind the gateway (docs/gateway.md §9); absent or empty without CAN. */
  canBuses?: GatewayCanBusMetrics[];
}

/** Counters of one CAN bus behind the gateway (CanBus.stats and its driver's stats). */
export interface GatewayCanBusMetrics {
  /** The driver's name: the interface ("can0") or "slcan:/dev/ttyACM0". */
  bus: string;
  /** The gateway's node id on it. */
  node: number;
  fd: boolean;
  /** The controller's error state as the driver last saw it. */
  state: string;
  open: boolean;
  /** Device nodes known / up now; nodes whose HELLO was not taken in (learn off, over the bound). */
  nodes: number;
  nodesUp: number;
  ignoredNodes: number;
  stats: { framesIn: number; framesOut: number; transfersIn: number; transfersOut: number; foreign: number; errTransfer: number; errBadFrame: number; staleEntries: number; lateAnswers: number; heldDropped: number };
  driver: { framesIn: number; framesOut: number; errorFrames: number; txBackoffs: number; rxOverflows: number; errIo: number; dropped: number };
}

export const LATENCY_BUCKETS_SECONDS: readonly number[] = Object.freeze(LATENCY_BUCKETS_MS.map((ms) => ms / 1000));

/** Snapshot of a table's counters (allocates: for a scrape, not the frame path). */
export function methodStatus(t: MethodTable): GatewayMethodStatus[] {
  const out: GatewayMethodStatus[] = [];
  for (let i = 0; i <= t.n; i++) {
    const errors: Record<string, number> = {};
    for (let s = 0; s < MAX_ERROR_CODES_PER_ENTRY; s++) {
      const c = t.codes[i * MAX_ERROR_CODES_PER_ENTRY + s]!;
      if (c !== -1) errors[String(c)] = t.codeCounts[i * MAX_ERROR_CODES_PER_ENTRY + s]!;
    }
    if (t.otherErrors[i]! > 0) errors.other = t.otherErrors[i]!;
    const buckets: number[] = [];
    let acc = 0;
    for (let b = 0; b < NB; b++) { acc += t.buckets[i * NB + b]!; buckets.push(acc); }
    const row: GatewayMethodStatus = {
      cell: t.cell, method: t.names[i]!, kind: t.kinds[i]!, calls: t.calls[i]!, errors, cancelled: t.cancelled[i]!,
      events: t.events[i]!, latency: { buckets, sumSeconds: t.sumMs[i]! / 1000, count: t.answered[i]! },
    };
    // The (other) row only when something landed there.
    if (i === t.n && row.calls === 0 && row.events === 0 && acc === 0) continue;
    out.push(row);
  }
  return out;
}
