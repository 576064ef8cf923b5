// cell/rpc — typed calls, events and streams over any Link (docs/rpc.md).
export { defineCell, method, stream, appError, streamKey, eventKey, RESERVED_NAMES } from './define.ts';
export type { CellDef, CellSpec, MethodDef, StreamDef, AppErrorDef, ErrorsDecl, EntryInfo, MethodOptions, AnyCodec } from './define.ts';
export { connect, serve, Server, makeClient } from './api.ts';
export type { Client, ClientControls, Impl, CallStream, ServeOptions, MaybePromise, UnaryMethod, SendDone } from './api.ts';
export { Connection, RpcStats, CONTROL_DESCRIBE_KEY } from './connection.ts';
export type { CallContext, CallOptions, StreamOptions, ConnectionOptions } from './connection.ts';
export { RpcCode, callError, rpcError } from './errors.ts';
export type { CallError, SdkCallError, AppCallError, SdkErrorCode } from './errors.ts';
export type { HelloInfo } from './payloads.ts';
export { PROTOCOL_VERSION } from './payloads.ts';
export { supervisedClient } from './supervised.ts';
export type { ConnectionSource, SourceHost, SupervisedClient, SupervisedControls, SupervisedOptions, SupervisedState, SupervisedStateListener } from './supervised.ts';
export { checkDescription, defFromDescription } from './described.ts';
