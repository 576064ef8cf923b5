// Declaring a cell: its methods, events and server streams, once (docs/rpc.md §1 "Defining a cell").
//
//   const Thermo = defineCell({
//     name: 'thermo',
//     methods: { read: method(ReadReq, Reading, { errors: { sensorFault: appError(1001, SensorFault) } }) },
//     events: { alarm: Alarm },
//     streams: { samples: stream(SampleReq, Sample) },
//   });
//
// Keys (u64, carried in every frame header): methods use the codec's `methodKey`
// (`method <cell>.<name>(<req>)-><res>`); streams hash `stream <cell>.<name>(<req>)-><item>`;
// events hash `event <cell>.<name>(<payload>)` — all with hash64 of src/codec/canonical.ts.
import type { Codec } from '../codec/codec-api.ts';
import { canonicalText, hash64, methodKey } from '../codec/canonical.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCodec = Codec<any>;

/** A declared application error: a code >= 1000 and an optional payload schema. */
export interface AppErrorDef<C extends number = number, P extends AnyCodec | undefined = AnyCodec | undefined> {
  readonly code: C;
  readonly payload: P;
}
export type ErrorsDecl = { readonly [name: string]: AppErrorDef };

/** Declare an application error with its code (1000..65535) and, optionally, a payload schema. */
export function appError<const C extends number>(code: C): AppErrorDef<C, undefined>;
export function appError<const C extends number, P extends AnyCodec>(code: C, payload: P): AppErrorDef<C, P>;
export function appError(code: number, payload?: AnyCodec): AppErrorDef {
  if (!Number.isInteger(code) || code < 1000 || code > 65535) throw new RangeError(`application error codes are 1000..65535, got ${code}`);
  return Object.freeze({ code, payload });
}

export interface MethodOptions<E extends ErrorsDecl> {
  /** Errors this method may end with, by name. @default {} */
  errors?: E;
  /** Default deadline of a call of this method. @default the connection's deadlineMs (5000) */
  deadlineMs?: number;
}

export interface MethodDef<Req extends AnyCodec = AnyCodec, Res extends AnyCodec = AnyCodec, E extends ErrorsDecl = ErrorsDecl> {
  readonly type: 'method';
  readonly request: Req;
  readonly response: Res;
  readonly errors: E;
  readonly deadlineMs: number | undefined;
}

export interface StreamDef<Req extends AnyCodec = AnyCodec, Item extends AnyCodec = AnyCodec, E extends ErrorsDecl = ErrorsDecl> {
  readonly type: 'stream';
  readonly request: Req;
  readonly item: Item;
  readonly errors: E;
}

/** A request/response method. */
export function method<Req extends AnyCodec, Res extends AnyCodec, const E extends ErrorsDecl = {}>(
  request: Req, response: Res, opts: MethodOptions<E> = {},
): MethodDef<Req, Res, E> {
  checkErrors(opts.errors);
  return Object.freeze({ type: 'method', request, response, errors: (opts.errors ?? {}) as E, deadlineMs: opts.deadlineMs });
}

/** A server stream: one request, then items until the server ends it (with credit-based backpressure). */
export function stream<Req extends AnyCodec, Item extends AnyCodec, const E extends ErrorsDecl = {}>(
  request: Req, item: Item, opts: { errors?: E } = {},
): StreamDef<Req, Item, E> {
  checkErrors(opts.errors);
  return Object.freeze({ type: 'stream', request, item, errors: (opts.errors ?? {}) as E });
}

function checkErrors(errors: ErrorsDecl | undefined): void {
  if (errors === undefined) return;
  const seen = new Set<number>();
  for (const [name, e] of Object.entries(errors)) {
    if (seen.has(e.code)) throw new RangeError(`error code ${e.code} is declared twice (at ${name})`);
    seen.add(e.code);
  }
}

export interface CellSpec {
  /** Cell name: letters, digits, `_` and `-`; part of every key. */
  readonly name: string;
  /** Free-form version string, shown in HELLO and describe(). @default '0.0.0' */
  readonly version?: string;
  readonly methods?: { readonly [name: string]: MethodDef };
  readonly events?: { readonly [name: string]: AnyCodec };
  readonly streams?: { readonly [name: string]: StreamDef };
}

// Note: a spec without `events` gives `S['events']` = unknown (the key is absent from the
// inferred const type); EventsOf/StreamsOf treat that as none. Normalising it here would make
// CellDef invariant in S (a conditional on `unknown`), so CellDef<{...}> would no longer be a
// CellDef; consumers that read the tables (describeCell) accept `unknown` instead.
type Or<T, D> = [T] extends [undefined] ? D : Exclude<T, undefined>;

/** One entry of a cell's table (what HELLO carries). */
export interface EntryInfo {
  readonly kind: 'method' | 'event' | 'stream';
  readonly name: string;
  readonly key: bigint;
  /** Request (method, stream) or payload (event) fingerprint. */
  readonly requestFp: bigint;
  /** Response (method) or item (stream) fingerprint; 0 for events. */
  readonly responseFp: bigint;
}

export interface CellDef<S extends CellSpec = CellSpec> {
  readonly name: string;
  readonly version: string;
  readonly methods: Or<S['methods'], {}>;
  readonly events: Or<S['events'], {}>;
  readonly streams: Or<S['streams'], {}>;
  /** Every entry with its key, in declaration order: methods, then streams, then events. */
  readonly entries: readonly EntryInfo[];
}

/** Names a client object reserves for itself (a method may not use them). */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['on', 'off', 'close', 'goodbye', 'describe', 'peer', 'stats', 'ready', 'then', 'constructor']);

/** Key of a server stream. */
export function streamKey(cell: string, name: string, request: AnyCodec, item: AnyCodec): bigint {
  return hash64(`stream ${cell}.${name}(${canonicalText(request)})->${canonicalText(item)}`);
}
/** Key of an event. */
export function eventKey(cell: string, name: string, payload: AnyCodec): bigint {
  return hash64(`event ${cell}.${name}(${canonicalText(payload)})`);
}

/** Define a cell. Checks names (identifiers, unique across methods/events/streams, not reserved). */
export function defineCell<const S extends CellSpec>(spec: S): CellDef<S> {
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(spec.name) || spec.name.length > 255) {
    throw new TypeError(`cell name "${spec.name}" must be an identifier (letters, digits, _ and -), at most 255 bytes`);
  }
  const entries: EntryInfo[] = [];
  const seen = new Set<string>();
  const check = (name: string): void => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || name.length > 255) throw new TypeError(`"${name}" must be an identifier of at most 255 bytes`);
    if (RESERVED_NAMES.has(name)) throw new TypeError(`"${name}" is reserved by the client object; pick another name`);
    if (seen.has(name)) throw new TypeError(`"${name}" is declared twice in cell ${spec.name}`);
    seen.add(name);
  };
  for (const [name, m] of Object.entries(spec.methods ?? {})) {
    check(name);
    entries.push({ kind: 'method', name, key: methodKey(spec.name, name, m.request, m.response), requestFp: m.request.fingerprint, responseFp: m.response.fingerprint });
  }
  for (const [name, s] of Object.entries(spec.streams ?? {})) {
    check(name);
    entries.push({ kind: 'stream', name, key: streamKey(spec.name, name, s.request, s.item), requestFp: s.request.fingerprint, responseFp: s.item.fingerprint });
  }
  for (const [name, e] of Object.entries(spec.events ?? {})) {
    check(name);
    entries.push({ kind: 'event', name, key: eventKey(spec.name, name, e), requestFp: e.fingerprint, responseFp: 0n });
  }
  const keys = new Set<bigint>();
  for (const e of entries) {
    if (keys.has(e.key)) throw new Error(`key collision in cell ${spec.name} at ${e.name}`);
    keys.add(e.key);
  }
  return Object.freeze({
    name: spec.name,
    version: spec.version ?? '0.0.0',
    methods: (spec.methods ?? {}) as CellDef<S>['methods'],
    events: (spec.events ?? {}) as CellDef<S>['events'],
    streams: (spec.streams ?? {}) as CellDef<S>['streams'],
    entries: Object.freeze(entries),
  });
}
