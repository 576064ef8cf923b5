// The one exception type Cell throws for protocol faults (docs/wire-format.md §6).
// Match on `err.code` (a stable number) or `err.name` (a stable string) — never on instanceof or
// on the message text, which may be reworded.
import { errorInfo } from './error-names.ts';

export class CellError extends Error {
  /** Stable numeric code from src/wire/errors.ts. */
  readonly code: number;
  /** What to do about it. */
  readonly hint: string;
  /** Optional structured detail (field name, offset, method name, ...). */
  readonly detail: Readonly<Record<string, unknown>> | undefined;

  constructor(code: number, message?: string, detail?: Record<string, unknown>) {
    const info = errorInfo(code);
    super(message ?? `${info.name}: ${info.hint}`);
    this.code = code;
    this.name = info.name;
    this.hint = info.hint;
    this.detail = detail;
  }
}

/** Is `err` a CellError-shaped value with this code? Works across package copies and realms. */
export function hasCode(err: unknown, code: number): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
