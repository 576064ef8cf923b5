// Errors of the `cell` CLI and how they are printed (docs/cli.md "Errors and exit codes").
// Every error is shown with its stable name, its code when it has one, the hint from
// src/wire/error-names.ts and a suggested fix; `--json` prints the same fields as one object.
import { errorInfo } from '../wire/error-names.ts';
import { RpcCode } from '../rpc/errors.ts';

export const EXIT_OK = 0;
/** A call failed, a cell could not be reached or started, a file is invalid. */
export const EXIT_ERROR = 1;
/** Bad command line: unknown option, missing argument, invalid JSON argument. */
export const EXIT_USAGE = 2;
/** `cell check`: a cached schema no longer matches the running cell. */
export const EXIT_BREAKING = 3;

export interface CliErrorOptions {
  /** @default EXIT_ERROR */
  exit?: number;
  /** Cell error code (wire/codec/rpc 1xx-5xx, or an app code >= 1000). */
  code?: number;
  /** Stable name; @default the name of `code`, else "CliError" (or "UsageError" for exit 2) */
  name?: string;
  /** What probably happened; @default the hint of `code` */
  hint?: string;
  /** What to do now. */
  fix?: string;
  /** Structured extras (field path, payload of an app error, ...). */
  detail?: Record<string, unknown>;
}

export class CliError extends Error {
  readonly exit: number;
  readonly code: number | undefined;
  readonly hint: string | undefined;
  readonly fix: string | undefined;
  readonly detail: Record<string, unknown> | undefined;
  constructor(message: string, o: CliErrorOptions = {}) {
    super(message);
    this.exit = o.exit ?? EXIT_ERROR;
    this.code = o.code;
    const info = o.code !== undefined ? errorInfo(o.code) : undefined;
    this.name = o.name ?? info?.name ?? (this.exit === EXIT_USAGE ? 'UsageError' : 'CliError');
    this.hint = o.hint ?? info?.hint;
    this.fix = o.fix;
    this.detail = o.detail;
  }
}

/** Suggested fixes for SDK codes, by code; `{target}` is replaced by the target as typed. */
const FIXES: Record<number, string> = {
  [RpcCode.Timeout]: 'raise --deadline, or look at the cell\'s log: `cell logs <dir>`',
  [RpcCode.Unavailable]: 'start the cell (`cell run <dir>`) or check the target: `cell status <dir>`; a cell at its connection limit closes new connections (its log says "refused": `cell logs <dir>`)',
  [RpcCode.SchemaMismatch]: 'the schemas differ: run `cell gen {target}` and rebuild the caller, or `cell check` to see what changed',
  [RpcCode.UnknownMethod]: 'list what the cell offers: `cell call {target}`',
  [RpcCode.Cancelled]: 'nothing to fix: the call was cancelled on purpose',
  [RpcCode.Closed]: 'the cell stopped or said GOODBYE: start it again (`cell run <dir>`) and retry',
  [RpcCode.Malformed]: 'the bytes did not decode: make sure both sides run the same schema (`cell check`)',
  [RpcCode.Unauthorized]: 'the cell refused this caller: check its allowed keys',
  [RpcCode.Overloaded]: 'the cell is busy: retry later or with fewer calls in flight',
  [RpcCode.Internal]: 'the handler failed: see the cell\'s log (`cell logs <dir>`)',
};

/** Fixes by the cause of a lost link (detail.cause), where it says more than the code. */
const CAUSE_FIXES: Record<number, string> = {
  804: 'the device is secured: pass its device key file or the fleet key it was provisioned from (`--key FILE`, docs/security.md)',
};

/** Turn anything thrown into a CliError (CellErrors keep their code, name and hint). */
export function toCliError(e: unknown, target?: string): CliError {
  if (e instanceof CliError) return e;
  if (typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'number') {
    const ce = e as { code: number; name?: string; message?: string; hint?: string; payload?: unknown; detail?: Record<string, unknown> };
    const app = ce.code >= 1000;
    // A link that ended because of link security says why in detail.cause: its fix wins.
    const cause = typeof ce.detail?.cause === 'number' ? ce.detail.cause : undefined;
    const fix = app
      ? `the cell refused the call with its declared error "${ce.name}": check the argument (\`cell call ${target ?? '<target>'}\` shows the schema)`
      : cause !== undefined && CAUSE_FIXES[cause] !== undefined ? CAUSE_FIXES[cause]
      : FIXES[ce.code]?.replaceAll('{target}', target ?? '<target>');
    const detail: Record<string, unknown> = { ...(ce.detail ?? {}) };
    if (ce.payload !== undefined) detail.payload = ce.payload;
    return new CliError(ce.message ?? String(e), {
      code: ce.code, name: ce.name, hint: app ? errorInfo(ce.code).hint : ce.hint, fix, detail: Object.keys(detail).length > 0 ? detail : undefined,
    });
  }
  if (typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string') {
    // Node system errors (ENOENT, EACCES, ...)
    const se = e as NodeJS.ErrnoException;
    return new CliError(se.message, { name: se.code, fix: 'check the path and permissions' });
  }
  return new CliError(e instanceof Error ? e.message : String(e), { name: 'InternalError', fix: 'this is a bug in the cell CLI: please report it with the command line' });
}

/** The error as a plain object (what `--json` prints). */
export function errorJson(e: CliError): Record<string, unknown> {
  const o: Record<string, unknown> = { name: e.name };
  if (e.code !== undefined) o.code = e.code;
  o.message = e.message;
  if (e.hint !== undefined) o.hint = e.hint;
  if (e.fix !== undefined) o.fix = e.fix;
  if (e.detail !== undefined) o.detail = e.detail;
  o.exit = e.exit;
  return o;
}

/** Human form: `error: Name (code N): message`, then hint, fix and detail lines. */
export function formatError(e: CliError, command: string, jsonify: (v: unknown) => string = JSON.stringify): string {
  const head = `cell${command ? ` ${command}` : ''}: ${e.name}${e.code !== undefined ? ` (code ${e.code})` : ''}${e.message && e.message !== e.name ? `: ${e.message}` : ''}`;
  const lines = [head];
  if (e.detail !== undefined) {
    for (const [k, v] of Object.entries(e.detail)) lines.push(`  ${k}: ${typeof v === 'string' ? v : jsonify(v)}`);
  }
  if (e.hint !== undefined) lines.push(`  hint: ${e.hint}`);
  if (e.fix !== undefined) lines.push(`  fix:  ${e.fix}`);
  return lines.join('\n');
}
