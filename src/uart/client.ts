// A typed client of a cell on a serial device that reconnects by itself (docs/uart.md §3): UART
// sessions (sessions.ts) as the connection source of one supervised client (rpc/supervised.ts).
// Calls fail Unavailable (401) at once while the device is away and are never sent twice: a
// device that reset may have carried out the call it never answered.
import { CellError } from '../wire/cell-error.ts';
import { ERR_LINK_IO } from '../wire/errors.ts';
import type { LinkStats } from '../transports/link.ts';
import { Connection, type ConnectionOptions } from '../rpc/connection.ts';
import type { CellDef } from '../rpc/define.ts';
import { RpcCode, rpcError } from '../rpc/errors.ts';
import { Supervisor, type ConnectionSource, type SourceHost, type SupervisedClient } from '../rpc/supervised.ts';
import { helloTimeMs, UartSessions, type UartSession, type UartSessionsOptions } from './sessions.ts';

export interface UartClientOptions extends Omit<UartSessionsOptions, 'role'>, Omit<ConnectionOptions, 'describe' | 'helloTimeoutMs'> {
  /**
   * How long a new session waits for the device's HELLO before it sends its own again (then
   * twice as long, up to 8×). A HELLO sent while the other end was not open is lost; this bounds
   * the wait. @default max(150, 8e6 / line rate) ms (150 ms at 115200 baud)
   */
  helloRetryMs?: number;
  /** connectUart waits this long for the first session (rejects Unavailable). 0 = wait forever. @default 10000 */
  openTimeoutMs?: number;
}

/** The controls a UART client adds to a supervised client. */
export interface UartClientExtras {
  /** Line counters (frames, CRC/COBS errors, …) of the port now open, or null. */
  readonly linkStats: LinkStats | null;
  /** The port supervisor (port state, the port link). */
  readonly sessions: UartSessions;
}

/** A typed client that outlives unplug/replug: `await dev.read(req)`; fails Unavailable while the device is away. */
export type UartClient<D extends CellDef> = SupervisedClient<D> & UartClientExtras;


/** UART sessions as a connection source: one Connection per session, reported once its HELLO is done. */
export class UartConnectionSource implements ConnectionSource {
  readonly sessions: UartSessions;
  private host: SourceHost | null = null;
  /** The connection of the current session (ready or still in its handshake). */
  private conn: Connection | null = null;
  private stopped = false;
  private readonly helloBaseMs: number;
  private helloMs: number;
  private readonly connOpts: ConnectionOptions;

  constructor(private readonly def: CellDef, opts: UartClientOptions) {
    this.helloBaseMs = opts.helloRetryMs ?? Math.max(150, helloTimeMs(opts));
    this.helloMs = this.helloBaseMs;
    const { deadlineMs, heartbeatMs, maxInFlight, maxServing, streamCredit, exposeErrors } = opts;
    const connOpts: ConnectionOptions = { deadlineMs, heartbeatMs, maxInFlight, maxServing, streamCredit, exposeErrors, helloTimeoutMs: 0 };
    for (const k of Object.keys(connOpts) as (keyof ConnectionOptions)[]) if (connOpts[k] === undefined) delete connOpts[k];
    this.connOpts = connOpts;
    this.sessions = new UartSessions({ ...opts, role: 'client' });
  }

  start(host: SourceHost): void {
    this.host = host;
    this.sessions.onLink = (link) => this.onSession(link as UartSession);
  }

  private onSession(link: UartSession): void {
    if (this.stopped) { link.close(); return; }
    const conn = new Connection(link, { call: this.def }, this.connOpts);
    this.conn = conn;
    let ready = false;
    // A HELLO sent while the device was not listening is lost: send ours again (by a new
    // session) when none came back in time, backing off up to 8× so a slow device is not flooded.
    const timer = setTimeout(() => {
      if (this.conn !== conn || ready) return;
      this.helloMs = Math.min(this.helloMs * 2, this.helloBaseMs * 8);
      link.abort(new CellError(ERR_LINK_IO, 'no HELLO from the device in time; sending ours again'));
    }, this.helloMs);
    conn.ready.then(() => {
      clearTimeout(timer);
      ready = true;
      if (this.conn !== conn) return;
      this.helloMs = this.helloBaseMs;
      this.host!.up(conn);
    }, () => clearTimeout(timer));
    conn.onClose(() => {
      clearTimeout(timer);
      if (this.conn === conn) this.conn = null;
    });
  }

  /** The sessions look for the device all the time: nothing to start. */
  demand(): void {}

  /** The session ends by itself when its connection closes; a new one starts on the port. */
  dropped(): void {}

  unavailable(waitedMs?: number): CellError {
    const where = this.sessions.address;
    if (waitedMs !== undefined) {
      return rpcError(RpcCode.Unavailable, `no session with the device on ${where} within ${waitedMs} ms`, { cause: this.sessions.lastError?.message });
    }
    return rpcError(RpcCode.Unavailable, `the device on ${where} is not connected`, { path: where });
  }

  async stop(graceful: boolean): Promise<void> {
    if (this.stopped) return this.sessions.closed;
    this.stopped = true;
    await this.sessions.close();
    const c = this.conn;
    if (c !== null) await (graceful ? c.goodbye() : c.close());
    await this.sessions.closed;
  }
}

/**
 * A typed client for a cell on a serial device that reconnects by itself: finds and opens the
 * port, exchanges HELLO, and does it all again after an unplug/replug or a device reset. Resolves
 * once the first session is up (rejects Unavailable after `openTimeoutMs`; 0 = return at once
 * and let calls fail Unavailable until the device shows up). Calls in flight when the device goes
 * away fail Unavailable at once; calls made while it is away fail Unavailable at once; calls work
 * again as soon as the device is back and HELLO is done (no user code).
 */
export async function connectUart<D extends CellDef>(def: D, opts: UartClientOptions): Promise<UartClient<D>> {
  const source = new UartConnectionSource(def, opts);
  const sup = new Supervisor(def, source, { whileDown: 'fail', retry: 'none', what: 'the UART client' });
  const client = sup.facade<UartClientExtras>({
    get linkStats() { return source.sessions.port?.stats ?? null; },
    sessions: source.sessions,
  });
  await sup.opened(opts.openTimeoutMs ?? 10_000);
  return client;
}
