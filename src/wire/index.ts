// cell/wire — the 20-byte frame header, error codes, RPC payload layouts and CellError
// (docs/wire-format.md §2, §6; docs/rpc.md §4).
export * from './header.ts';
export * from './errors.ts';
export * from './layouts.ts';
export { readU16LE, readU32LE, writeU16LE, writeU32LE } from './bytes.ts';
export { CellError, hasCode } from './cell-error.ts';
export { errorInfo, errorTable, type ErrorInfo } from './error-names.ts';
