// Everything Cell relies on inside serialport that is not its public API, in one file, with a
// feature check (docs/uart.md §6 "Findings"; uart-io.ts "Direct I/O"). The UART link reads and
// writes an open port's fd itself on the main thread, woken by the binding's Poller, instead of
// through serialport's stream (fs.read/fs.write on the libuv threadpool: a thread hand-off per
// chunk, the bulk of a UART link's CPU time). That needs, of serialport 13 with
// @serialport/bindings-cpp 13 (LinuxPortBinding, DarwinPortBinding):
//   1. `SerialPort#port`: the open binding port (typed only as BindingPortInterface);
//   2. on it, `fd` (a number: the O_NONBLOCK fd the binding opened), `isOpen` (false once its
//      close() has begun) and `poller`;
//   3. the Poller (bindings-cpp dist/poller.js, not exported): an EventEmitter whose
//      `once('readable' | 'writable', cb)` arms uv_poll for that event and calls back with null
//      or an error (`canceled: true` when the port closes), and `poll(flags)` with
//      UV_READABLE = 1, UV_WRITABLE = 2 (its EVENTS), which hands `flags` to the native poller.
// And it works around a bug of that Poller: see patchPoller and kickWritable.
//
// directPort() checks 1–3 on each port it is given. When they are not there it returns null and
// the UART link uses serialport's public stream API (port.on('data'), port.write): correct, ~3×
// the CPU per byte. For a binding that should have them (a unix bindings-cpp port) it says so
// once per process (a 'CellSerialportInternals' process warning). Windows and the mock binding
// have no fd and fall back silently, as they always did.
// test/transports/serialport-internals.test.ts loads the installed serialport and fails when a
// release changes any of this.
// Only types are imported from serialport: the module itself is loaded by uart.ts, lazily.
import type { SerialPort } from 'serialport';

/** uv_poll event bits of the bindings' Poller (bindings-cpp dist/poller.js EVENTS). */
export const UV_READABLE = 0b0001;
export const UV_WRITABLE = 0b0010;

type PollCallback = (err: (Error & { canceled?: boolean }) | null) => void;

/** The part of bindings-cpp's Poller used here. */
interface BindingPoller {
  poll(ev: number): void;
  once(ev: 'readable' | 'writable', fn: PollCallback): unknown;
  listenerCount(ev: string): number;
  removeListener(ev: string, fn: (...a: never[]) => void): unknown;
  cellPatched?: boolean;
}

/** The part of a unix binding port (bindings-cpp LinuxPortBinding / DarwinPortBinding) used here. */
interface UnixBinding { fd: number | null; readonly isOpen: boolean; poller?: BindingPoller }

/** The binding port behind an open SerialPort (serialport 13: `port.port`), or undefined. */
function bindingOf(port: SerialPort): UnixBinding | undefined {
  const b = (port as unknown as { port?: unknown }).port;
  return typeof b === 'object' && b !== null ? (b as UnixBinding) : undefined;
}

/**
 * What direct I/O needs of `port`'s binding that is not there (empty: all of it is). The
 * test checks a real open port with it; directPort() decides with it.
 */
export function missingInternals(port: SerialPort): string[] {
  const b = bindingOf(port);
  if (b === undefined) return ['SerialPort#port (the open binding port)'];
  const out: string[] = [];
  if (typeof b.fd !== 'number') out.push('binding.fd (a number)');
  if (typeof b.isOpen !== 'boolean') out.push('binding.isOpen (a boolean)');
  const p = b.poller;
  if (typeof p !== 'object' || p === null) out.push('binding.poller');
  else {
    for (const m of ['once', 'poll', 'listenerCount', 'removeListener'] as const) {
      if (typeof p[m] !== 'function') out.push(`binding.poller.${m}()`);
    }
  }
  return out;
}

/** A binding that should offer direct I/O: a native (bindings-cpp) port on a unix system. */
function expectsDirect(port: SerialPort): boolean {
  if (process.platform === 'win32') return false;
  const name = (bindingOf(port) as { constructor?: { name?: string } } | undefined)?.constructor?.name ?? '';
  return name === 'LinuxPortBinding' || name === 'DarwinPortBinding';
}

let warned = false;

/** @internal Tests: forget that the fallback was reported. */
export function resetInternalsWarning(): void {
  warned = false;
}

/**
 * Direct access to an open port's fd and Poller, or null when the binding does not have the
 * shape this file relies on (the caller then uses serialport's public stream API). Said once per
 * process when a unix bindings-cpp port lacks it (a serialport release changed its internals).
 * Applies the Poller fix (patchPoller) whenever the binding has a Poller.
 */
export function directPort(port: SerialPort): DirectPort | null {
  const p = bindingOf(port)?.poller;
  // Also on the fallback path: the binding's own reads and writes wait on the same Poller.
  if (typeof p === 'object' && p !== null && typeof p.poll === 'function' && typeof p.listenerCount === 'function') patchPoller(p);
  const missing = missingInternals(port);
  if (missing.length === 0) {
    const b = bindingOf(port)!;
    return new DirectPort(port, b, b.poller!);
  }
  if (!warned && expectsDirect(port)) {
    warned = true;
    process.emitWarning(
      `serialport's binding does not have what Cell's direct fd I/O relies on (missing: ${missing.join(', ')}): ` +
        'UART links fall back to serialport\'s stream API (correct, but more CPU per byte). See src/transports/serialport-internals.ts.',
      { type: 'CellSerialportInternals', code: 'CELL_SERIALPORT_INTERNALS' },
    );
  }
  return null;
}

/** An open port's fd and Poller (unix bindings-cpp), checked by directPort(). */
export class DirectPort {
  constructor(private readonly port: SerialPort, private readonly binding: UnixBinding, private readonly poller: BindingPoller) {}

  /** The fd while both the port and its binding are open, else -1. */
  fd(): number {
    const b = this.binding;
    if (!b.isOpen || !this.port.isOpen) return -1;
    return typeof b.fd === 'number' ? b.fd : -1;
  }

  /** Call `fn` once the fd is readable / writable (uv_poll through the Poller). May throw when the port is closing. */
  once(ev: 'readable' | 'writable', fn: PollCallback): void {
    this.poller.once(ev, fn);
  }
}

/**
 * The lost wake-up of @serialport/bindings-cpp 13 (src/poller.cpp `Poller::poll`): it calls
 * uv_poll_start with only the events just asked for, not the union it records. A write that hit
 * EAGAIN waits for 'writable'; when the port then reads to EAGAIN too, its once('readable')
 * replaces the writable interest, and if no byte ever arrives (the peer waits for this very
 * write: a CREDIT, an answer) both sides wait forever (bulk streams over a pty stalled after a
 * few hundred 4 KB items). The fix: every poll request also asks for the events that still have
 * a waiter ('readable' / 'writable' listeners), so re-arming one no longer drops the other.
 * Idempotent. uart-io.ts keeps a stall timer as the safety net (kickWritable).
 */
function patchPoller(poller: BindingPoller): void {
  if (poller.cellPatched === true) return;
  const poll = poller.poll;
  poller.poll = function (this: BindingPoller, ev: number): void {
    const want = ev | (this.listenerCount('readable') > 0 ? UV_READABLE : 0) | (this.listenerCount('writable') > 0 ? UV_WRITABLE : 0);
    poll.call(this, want);
  };
  poller.cellPatched = true;
}

/**
 * Ask the port's Poller for 'writable' again: the safety net for the lost wake-up above (a
 * write pending with no progress). Harmless when it fires: the binding re-arms the recorded
 * events. Only while the binding's fd is open: its close() destroys the native poller first, and
 * a poll() on a destroyed poller is a segfault (napi_unwrap), not an exception (seen when the
 * pty vanished with a write pending; the 'close' event reaches us only later). Returns whether
 * it asked. Feature-checked on its own: also used when direct I/O is off.
 */
export function kickWritable(port: SerialPort): boolean {
  const b = bindingOf(port);
  const p = b?.poller;
  if (b?.isOpen !== true || !port.isOpen || typeof p?.poll !== 'function') return false;
  try { p.poll(UV_WRITABLE); } catch { /* a closing fd: the close path reports it */ }
  return true;
}
