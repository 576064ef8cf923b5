// A supervised client for a cell on this host (docs/shm.md §6, docs/rpc.md §9): a connection
// source that dials the cell's Unix socket, offers shared memory, and dials again after the
// cell restarts. One typed client for the life of the program, whatever the cell does.
import { connectUnix } from '../transports/unix.ts';
import { Connection, type ConnectionOptions } from '../rpc/connection.ts';
import type { CellDef } from '../rpc/define.ts';
import { RpcCode, rpcError } from '../rpc/errors.ts';
import { Supervisor, type ConnectionSource, type SourceHost, type SupervisedClient, type SupervisedOptions } from '../rpc/supervised.ts';
import type { CellError } from '../wire/cell-error.ts';
import { ShmUpgradeLink, type ShmUpgradeOptions } from './upgrade.ts';

export interface LocalClientOptions extends ConnectionOptions, SupervisedOptions {
  /** Offer shared memory. @default true */
  shm?: boolean;
  /** Options of the shared-memory link (ring size, wake mode). */
  shmOptions?: ShmUpgradeOptions;
  /** First wait before dialing again after a failure; doubles up to 2000 ms. @default 50 */
  retryMs?: number;
  /** `connectLocalClient` resolves once connected, or rejects Unavailable after this long (0: at once). @default 5000 */
  openTimeoutMs?: number;
}

const MAX_RETRY_MS = 2000;

/** Dials `socketPath` whenever the client has no connection, backing off while the cell is down. */
export class LocalConnectionSource implements ConnectionSource {
  private host: SourceHost | null = null;
  private conn: Connection | null = null;
  private dialing = false;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private retryMs: number;
  private lastError: unknown = null;
  private readonly connOpts: ConnectionOptions;

  constructor(private readonly def: CellDef, readonly socketPath: string, private readonly opts: LocalClientOptions = {}) {
    this.retryMs = opts.retryMs ?? 50;
    const { deadlineMs, heartbeatMs, helloTimeoutMs, maxInFlight, maxServing, streamCredit, exposeErrors } = opts;
    const c: ConnectionOptions = { deadlineMs, heartbeatMs, helloTimeoutMs, maxInFlight, maxServing, streamCredit, exposeErrors };
    for (const k of Object.keys(c) as (keyof ConnectionOptions)[]) if (c[k] === undefined) delete c[k];
    this.connOpts = c;
  }

  /** The link of the current connection (its `state` says 'shm' once upgraded). */
  link: ShmUpgradeLink | null = null;

  start(host: SourceHost): void {
    this.host = host;
    this.dial();
  }

  demand(): void {
    if (this.conn !== null || this.dialing || this.stopped) return;
    if (this.timer !== null) { clearTimeout(this.timer); this.timer = null; }
    this.dial();
  }

  dropped(conn: Connection): void {
    if (this.conn === conn) this.conn = null;
    void conn.close();
    this.later();
  }

  unavailable(waitedMs?: number): CellError {
    const cause = (this.lastError as Error | null)?.message;
    return waitedMs !== undefined
      ? rpcError(RpcCode.Unavailable, `no connection to the cell at ${this.socketPath} within ${waitedMs} ms`, { path: this.socketPath, cause })
      : rpcError(RpcCode.Unavailable, `the cell at ${this.socketPath} is not connected`, { path: this.socketPath, cause });
  }

  async stop(graceful: boolean): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) { clearTimeout(this.timer); this.timer = null; }
    const c = this.conn;
    this.conn = null;
    if (c !== null) await (graceful ? c.goodbye() : c.close());
  }

  private dial(): void {
    if (this.stopped || this.dialing || this.conn !== null) return;
    this.dialing = true;
    connectUnix(this.socketPath).then((socket) => {
      this.dialing = false;
      const link = this.opts.shm === false ? socket : ShmUpgradeLink.offer(socket, this.opts.shmOptions);
      if (this.stopped) { link.close(); return; }
      const conn = new Connection(link, { call: this.def }, this.connOpts);
      this.conn = conn;
      this.link = link instanceof ShmUpgradeLink ? link : null;
      conn.ready.then(() => {
        if (this.conn !== conn) return;
        this.retryMs = this.opts.retryMs ?? 50;
        this.host!.up(conn);
      }, (e: unknown) => { this.lastError = e; });
      conn.onClose(() => {
        if (this.conn !== conn) return;
        this.conn = null;
        this.later();
      });
    }, (e: unknown) => {
      this.dialing = false;
      this.lastError = e;
      this.host!.searchFailed(e);
      this.later();
    });
  }

  /** Dial again after the back-off. */
  private later(): void {
    if (this.stopped || this.timer !== null || this.dialing || this.conn !== null) return;
    const ms = this.retryMs;
    this.retryMs = Math.min(ms * 2, MAX_RETRY_MS);
    this.timer = setTimeout(() => { this.timer = null; this.dial(); }, ms);
    this.timer.unref?.();
  }
}

/**
 * A typed client for the cell serving `socketPath` (e.g. `<dir>/.cell/run/cell.sock`) that
 * moves to shared memory when it can and reconnects when the cell restarts. By default a call
 * made while the cell is down waits for it up to the call's deadline (`whileDown: 'wait'`).
 */
export async function connectLocalClient<D extends CellDef>(def: D, socketPath: string, opts: LocalClientOptions = {}): Promise<SupervisedClient<D> & { readonly source: LocalConnectionSource }> {
  const source = new LocalConnectionSource(def, socketPath, opts);
  const sup = new Supervisor(def, source, { whileDown: opts.whileDown ?? 'wait', retry: opts.retry ?? 'none', ...(opts.waitMs !== undefined ? { waitMs: opts.waitMs } : {}), ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}), what: `the client of ${socketPath}` });
  const client = sup.facade({ source });
  await sup.opened(opts.openTimeoutMs ?? 5000);
  return client;
}
