// A typed client of a cell on a CAN device node that reconnects by itself (docs/can.md
// §"Devices"): the node's sessions (sessions.ts) as the connection source of one supervised
// client (rpc/supervised.ts, docs/rpc.md §9) — the CAN counterpart of src/uart/client.ts. Calls
// fail Unavailable (401) at once while the node is lost, are never sent twice (a device that
// restarted may have run the call), and work again once the node answers a probe or broadcasts.
import type { CellError } from '../wire/cell-error.ts';
import { Connection, type ConnectionOptions } from '../rpc/connection.ts';
import type { CellDef } from '../rpc/define.ts';
import { RpcCode, rpcError } from '../rpc/errors.ts';
import { Supervisor, type ConnectionSource, type SourceHost, type SupervisedClient } from '../rpc/supervised.ts';
import type { CanBus } from '../transports/can/bus.ts';
import { CanDevices, type CanDevice, type CanDevicesOptions } from './sessions.ts';

export interface CanClientOptions extends Omit<ConnectionOptions, 'describe' | 'helloTimeoutMs'>,
  Pick<CanDevicesOptions, 'probeIntervalMs' | 'probeTimeoutMs' | 'helloTimeoutMs' | 'describe'> {
  /** The device's node id. */
  node: number;
  /** connectCan waits this long for the first session (rejects Unavailable). 0 = return at once. @default 10000 */
  openTimeoutMs?: number;
}

/** The controls a CAN client adds to a supervised client. */
export interface CanClientExtras {
  /** The device node (identity, status, probes, sessions). */
  readonly device: CanDevice;
  /** The sessions of the bus this client made (null when it was given a CanDevices or CanDevice). */
  readonly devices: CanDevices | null;
}

export type CanClient<D extends CellDef> = SupervisedClient<D> & CanClientExtras;

/** A device node's sessions as a connection source: one Connection per session, reported once its HELLO is done. */
export class CanConnectionSource implements ConnectionSource {
  private host: SourceHost | null = null;
  private conn: Connection | null = null;
  private stopped = false;
  private readonly connOpts: ConnectionOptions;

  /** `owned`: the CanDevices this source made for itself (closed with it). */
  constructor(private readonly def: CellDef, readonly device: CanDevice, opts: Omit<ConnectionOptions, 'describe' | 'helloTimeoutMs'> = {}, private readonly owned: CanDevices | null = null) {
    const { deadlineMs, heartbeatMs, maxInFlight, maxServing, streamCredit, exposeErrors } = opts;
    const connOpts: ConnectionOptions = { deadlineMs, heartbeatMs, maxInFlight, maxServing, streamCredit, exposeErrors, helloTimeoutMs: 0 };
    for (const k of Object.keys(connOpts) as (keyof ConnectionOptions)[]) if (connOpts[k] === undefined) delete connOpts[k];
    this.connOpts = connOpts;
  }

  start(host: SourceHost): void {
    this.host = host;
    this.device.onLink = (link) => {
      if (this.stopped) { link.close(); return; }
      const conn = new Connection(link, { call: this.def }, this.connOpts);
      this.conn = conn;
      conn.ready.then(() => { if (this.conn === conn && !this.stopped) this.host!.up(conn); }, () => {});
      conn.onClose(() => { if (this.conn === conn) this.conn = null; });
    };
  }

  /** The node is probed all the time while it is away: nothing to start. */
  demand(): void {}

  /** The session ends by itself when its connection closes; the device layer decides what follows. */
  dropped(): void {}

  unavailable(waitedMs?: number): CellError {
    const where = this.device.address;
    if (waitedMs !== undefined) return rpcError(RpcCode.Unavailable, `no session with CAN node ${where} within ${waitedMs} ms`, { node: this.device.node });
    return rpcError(RpcCode.Unavailable, `CAN node ${where} is not connected (${this.device.status})`, { node: this.device.node, path: where });
  }

  async stop(graceful: boolean): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.device.onLink = null;
    const c = this.conn;
    if (c !== null) await (graceful ? c.goodbye() : c.close());
    await this.device.close();
    if (this.owned !== null) await this.owned.close();
  }
}

/**
 * A typed client for the cell on CAN node `opts.node`, reached through `target`: a CanBus (this
 * client then takes the bus's onPeer/onHello: one client per bus; for several devices on one
 * bus, make one CanDevices and pass its devices), a CanDevices, or one of its CanDevice. Resolves
 * once the first session is up (rejects Unavailable after `openTimeoutMs`; 0 = at once).
 */
export async function connectCan<D extends CellDef>(def: D, target: CanBus | CanDevices | CanDevice, opts: CanClientOptions): Promise<CanClient<D>> {
  let devices: CanDevices | null = null;
  let device: CanDevice;
  if (target instanceof CanDevices) device = target.device(opts.node);
  else if ((target as CanDevice).isListener === true) device = target as CanDevice;
  else {
    const { probeIntervalMs, probeTimeoutMs, helloTimeoutMs, describe } = opts;
    devices = new CanDevices(target as CanBus, { probeIntervalMs, probeTimeoutMs, helloTimeoutMs, describe: describe ?? false, learn: false });
    device = devices.device(opts.node);
  }
  const source = new CanConnectionSource(def, device, opts, devices);
  const sup = new Supervisor(def, source, { whileDown: 'fail', retry: 'none', what: 'the CAN client' });
  const client = sup.facade<CanClientExtras>({ device, devices });
  await sup.opened(opts.openTimeoutMs ?? 10_000);
  return client;
}
