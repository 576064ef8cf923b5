// Typed RPC errors (docs/rpc.md §5 "Errors").
// Every failed call rejects with a CellError whose `code` is either one of the SDK codes below
// (400-409) or a code the cell declared for that method (>= 1000). `callError(method, err)` gives
// it the discriminated-union type so a `switch (err.code)` is checked for exhaustiveness.
import { CellError } from '../wire/cell-error.ts';
import * as W from '../wire/errors.ts';
import type { Infer } from '../codec/schema.ts';
import type { AnyCodec, AppErrorDef, ErrorsDecl } from './define.ts';

/**
 * SDK error codes a call can end with: the 4xx of src/wire/errors.ts (the one table of codes,
 * shared with the firmware), under the names errorInfo() gives them.
 */
export const RpcCode = {
  Timeout: W.ERR_RPC_TIMEOUT,
  Unavailable: W.ERR_RPC_UNAVAILABLE,
  SchemaMismatch: W.ERR_RPC_SCHEMA_MISMATCH,
  UnknownMethod: W.ERR_RPC_UNKNOWN_METHOD,
  Cancelled: W.ERR_RPC_CANCELLED,
  Closed: W.ERR_RPC_CLOSED,
  Malformed: W.ERR_RPC_MALFORMED,
  Unauthorized: W.ERR_RPC_UNAUTHORIZED,
  Overloaded: W.ERR_RPC_OVERLOADED,
  Internal: W.ERR_RPC_INTERNAL,
} as const;
export type SdkErrorCode = (typeof RpcCode)[keyof typeof RpcCode];

/** An SDK error: no payload. `detail` may carry e.g. `{ method }`. */
export interface SdkCallError extends CellError {
  readonly code: SdkErrorCode;
  readonly payload: undefined;
}

/** A declared application error: `name` is the key it was declared under, `payload` its value. */
export interface AppCallError<N extends string, C extends number, P> extends CellError {
  readonly code: C;
  readonly name: N;
  readonly payload: P;
}

type PayloadOf<D> = D extends AppErrorDef<number, infer P> ? (P extends AnyCodec ? Infer<P> : undefined) : never;
type AppErrorsOf<E> = E extends ErrorsDecl
  ? { [K in keyof E & string]: AppCallError<K, E[K]['code'], PayloadOf<E[K]>> }[keyof E & string]
  : never;

/** Everything a call of `M` (a method or stream definition) can reject with. */
export type CallError<M extends { readonly errors: ErrorsDecl }> = SdkCallError | AppErrorsOf<M['errors']>;

/** @internal The error object a call rejects with. */
export class RpcError extends CellError {
  readonly payload: unknown;
  constructor(code: number, message?: string, detail?: Record<string, unknown>, payload?: unknown, name?: string) {
    super(code, message, detail);
    this.payload = payload;
    if (name !== undefined) this.name = name;
  }
}

/**
 * Type `err` (caught from a call of method `m`) as that method's error union. A value that is
 * not a CellError (a bug in a handler, say) becomes Internal, so the switch stays exhaustive.
 *
 *   try { await thermo.read({ channel: 2 }) } catch (e) {
 *     const err = callError(Thermo.methods.read, e);
 *     switch (err.code) { case RpcCode.Timeout: ...; case 1001: err.payload.sensor; ... }
 *   }
 */
export function callError<M extends { readonly errors: ErrorsDecl }>(m: M, err: unknown): CallError<M> {
  void m;
  if (typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'number' && err instanceof Error) {
    const e = err as CellError & { payload?: unknown };
    if (!('payload' in e)) (e as { payload?: unknown }).payload = undefined;
    return e as unknown as CallError<M>;
  }
  return new RpcError(RpcCode.Internal, `not a Cell error: ${String(err)}`, { cause: err }) as unknown as CallError<M>;
}

/** Make an SDK error (also usable by handlers: `throw rpcError(RpcCode.Overloaded)`). */
export function rpcError(code: SdkErrorCode, message?: string, detail?: Record<string, unknown>): SdkCallError {
  return new RpcError(code, message, detail) as unknown as SdkCallError;
}
