// The tables a connection looks frames up in, and the pools it reuses objects from
// (docs/rpc.md §3 "Frames per interaction": keys; §7 "Allocation": why pools).
// A connection builds them once from its cell definitions (buildServeTables, buildCallTables);
// after that the per-call path only reads them. Nothing here knows about links or frames.
import type { AnyCodec, AppErrorDef, CellDef, EntryInfo, ErrorsDecl, MethodDef, StreamDef } from './define.ts';
import type { CallContext, ServeSpec } from './server-calls.ts';

/**
 * A free list on a plain array with its own count: take/put never change the array's length, so
 * V8 never trims and regrows its backing store (Array#pop/push on a pool that empties each call
 * can reallocate per call in unoptimised code).
 */
export class Pool<T> {
  private readonly items: (T | null)[] = [];
  private n = 0;
  constructor(private readonly max: number) {}
  take(): T | null {
    const n = this.n;
    if (n === 0) return null;
    const x = this.items[n - 1]!;
    this.items[n - 1] = null;
    this.n = n - 1;
    return x;
  }
  put(x: T): void {
    const n = this.n;
    if (n >= this.max) return;
    this.items[n] = x; // n ≤ items.length: a store, or an append at the end (the array stays packed)
    this.n = n + 1;
  }
}

/**
 * A u64 method key as its two u32 halves, as the header carries it (bytes 8-11, 12-15). Never a
 * bigint on the per-call path: a BigInt compare allocates, two Smi/double compares do not.
 */
export interface KeyHalves { keyLo: number; keyHi: number }
export interface Keyed extends KeyHalves { next: Keyed | null }

/** Small open hash on the key's low 32 bits; collisions chained and checked against the high half. */
export class KeyTable<T extends Keyed> {
  private readonly map = new Map<number, T>();
  add(e: T): void {
    const head = this.map.get(e.keyLo);
    e.next = head ?? null;
    this.map.set(e.keyLo, e);
  }
  get(lo: number, hi: number): T | undefined {
    let e: Keyed | null | undefined = this.map.get(lo);
    while (e !== undefined && e !== null) {
      if (e.keyHi === hi) return e as T;
      e = e.next;
    }
    return undefined;
  }
}

export function splitKey(key: bigint): [number, number] {
  return [Number(key & 0xffffffffn), Number((key >> 32n) & 0xffffffffn)];
}

/** A key or fingerprint as the 16 hex digits the messages and describe() print. */
export function fpHex(v: bigint): string { return v.toString(16).padStart(16, '0'); }

/** The errors a method declares, by wire code (to decode an ERROR) and by name (for `ctx.fail`). */
export class ErrorTable {
  readonly byCode = new Map<number, { name: string; def: AppErrorDef }>();
  readonly byName = new Map<string, AppErrorDef>();
  constructor(errors: ErrorsDecl) {
    for (const [name, def] of Object.entries(errors)) {
      this.byCode.set(def.code, { name, def });
      this.byName.set(name, def);
    }
  }
}

/** A method or stream this side can call. */
export class CallEntry implements Keyed {
  keyLo: number; keyHi: number; next: Keyed | null = null;
  /** 0 = the peer has it; else SchemaMismatch/UnknownMethod, known after HELLO. */
  peerStatus = 0;
  peerDetail: Record<string, unknown> | undefined;
  readonly errors: ErrorTable;
  /** The response object `send` decodes into when the caller gives no `into` (reused: valid during the callback). */
  sendOut: unknown = undefined;
  constructor(
    readonly info: EntryInfo,
    readonly request: AnyCodec,
    readonly response: AnyCodec, // item codec for streams
    errors: ErrorsDecl,
    readonly deadlineMs: number | undefined,
  ) {
    [this.keyLo, this.keyHi] = splitKey(info.key);
    this.errors = new ErrorTable(errors);
  }
}

/** A method or stream this side serves. */
export class ServeEntry implements Keyed {
  keyLo: number; keyHi: number; next: Keyed | null = null;
  readonly errors: ErrorTable;
  /** info.kind === 'stream', as a boolean: the dispatch path tests it per request ('method' and 'stream' have the same length, so the string compare reads both). */
  readonly isStream: boolean;
  /** Pooled request objects (methods only). */
  readonly reqPool = new Pool<object>(64);
  constructor(
    readonly info: EntryInfo,
    readonly request: AnyCodec,
    readonly response: AnyCodec, // item codec for streams
    errors: ErrorsDecl,
    // The impl's own function and object, not a per-connection bound copy: every connection of a
    // server calls the same function, so optimised code does not embed one connection's closure
    // (which would deoptimise the dispatch path when that connection is collected).
    readonly handler: (this: unknown, req: unknown, ctx: CallContext) => unknown,
    readonly impl: unknown,
  ) {
    [this.keyLo, this.keyHi] = splitKey(info.key);
    this.isStream = info.kind === 'stream';
    this.errors = new ErrorTable(errors);
  }
}

/** An event: on the calling side with its listeners, on the serving side for `emit`. */
export class EventEntry implements Keyed {
  keyLo: number; keyHi: number; next: Keyed | null = null;
  readonly handlers: ((v: unknown) => void)[] = [];
  /** The decoded value, reused from one event to the next (listeners copy what they keep). */
  out: unknown = undefined;
  constructor(readonly info: EntryInfo, readonly codec: AnyCodec) {
    [this.keyLo, this.keyHi] = splitKey(info.key);
  }
}

/** What the serving side looks up: REQUESTs by key (and by name, to tell SchemaMismatch from UnknownMethod), events to emit by name. */
export interface ServeTables {
  readonly byKey: KeyTable<ServeEntry>;
  readonly byName: Map<string, ServeEntry>;
  readonly emitByName: Map<string, EventEntry>;
}

/** What the calling side looks up: its methods and streams (the HELLO check walks them in order), events by key and by name. */
export interface CallTables {
  readonly entries: CallEntry[];
  readonly byName: Map<string, CallEntry>;
  readonly eventsByKey: KeyTable<EventEntry>;
  readonly eventsByName: Map<string, EventEntry>;
}

/** The serving side's tables (empty when the connection only calls); throws TypeError when `impl` lacks a handler (at serve(), not at the first call). */
export function buildServeTables(spec: ServeSpec | null): ServeTables {
  const t: ServeTables = { byKey: new KeyTable(), byName: new Map(), emitByName: new Map() };
  if (spec === null) return t;
  const { def, impl } = spec;
  for (const info of def.entries) {
    if (info.kind === 'event') {
      t.emitByName.set(info.name, new EventEntry(info, (def.events as Record<string, AnyCodec>)[info.name]!));
      continue;
    }
    const handler = impl[info.name];
    if (typeof handler !== 'function') throw new TypeError(`cell ${def.name}: no handler for ${info.kind} "${info.name}"`);
    const m = info.kind === 'method'
      ? (def.methods as Record<string, MethodDef>)[info.name]!
      : (def.streams as Record<string, StreamDef>)[info.name]!;
    const res = m.type === 'method' ? m.response : m.item;
    const e = new ServeEntry(info, m.request, res, m.errors, handler as (r: unknown, c: CallContext) => unknown, impl);
    t.byKey.add(e);
    t.byName.set(info.name, e);
  }
  return t;
}

/** The calling side's tables (empty when the connection only serves). */
export function buildCallTables(def: CellDef | null): CallTables {
  const t: CallTables = { entries: [], byName: new Map(), eventsByKey: new KeyTable(), eventsByName: new Map() };
  if (def === null) return t;
  for (const info of def.entries) {
    if (info.kind === 'event') {
      const e = new EventEntry(info, (def.events as Record<string, AnyCodec>)[info.name]!);
      t.eventsByKey.add(e);
      t.eventsByName.set(info.name, e);
      continue;
    }
    let e: CallEntry;
    if (info.kind === 'method') {
      const m = (def.methods as Record<string, MethodDef>)[info.name]!;
      e = new CallEntry(info, m.request, m.response, m.errors, m.deadlineMs);
    } else {
      const s = (def.streams as Record<string, StreamDef>)[info.name]!;
      e = new CallEntry(info, s.request, s.item, s.errors, undefined);
    }
    t.entries.push(e);
    t.byName.set(info.name, e);
  }
  return t;
}
