// Test helpers for the CAN device sessions (src/can): "devices" on an in-process bus — Node-served
// thermo cells that behave like the firmware (serveCan: a HELLO broadcast at boot, every HELLO
// answered with a flagged one) — which can be restarted (a new bus node with the same id: a boot
// HELLO) or silenced (detached from the bus) and brought back.
import { CanBus } from '../../src/transports/can/bus.ts';
import type { CanDriver } from '../../src/transports/can/driver.ts';
import { serveCan, type CanServer } from '../../src/can/serve.ts';
import { Thermo } from '../rpc/fixtures/thermo.ts';
import { thermoImpl } from '../rpc/fixtures/impl.ts';
import { makeWire } from './bus-helpers.ts';

export type Wire = Awaited<ReturnType<typeof makeWire>>;

/** A thermo cell on node `node`: start(), restart() (boot HELLO), silence(), back(broadcast?). */
export class SimCanDevice {
  served: CanServer<typeof Thermo> | null = null;
  bus: CanBus | null = null;
  boots = 0;
  constructor(readonly wire: Wire, readonly node: number, readonly opts: { fd?: boolean; maxFrameBytes?: number; heartbeatMs?: number } = {}) {}

  /** Boot: a new bus node (fresh state), a HELLO broadcast unless `announce` is false. */
  start(announce = true): this {
    const driver: CanDriver = this.wire.attach(`dev${this.node}.${this.boots}`);
    this.bus = new CanBus(driver, { node: this.node, fd: this.opts.fd ?? false, maxFrameBytes: this.opts.maxFrameBytes ?? 1024 });
    this.served = serveCan(Thermo, thermoImpl(), this.bus, { heartbeatMs: this.opts.heartbeatMs ?? 0, announce });
    this.boots++;
    return this;
  }

  /** Off the bus at once, as a power loss: nothing heard from this node any more (no GOODBYE). */
  async silence(): Promise<void> {
    const s = this.served, b = this.bus;
    this.served = null; this.bus = null;
    b?.close();
    await s?.close();
  }

  /** A reset: off, and booted again at once (its boot HELLO goes out). */
  async restart(): Promise<void> {
    await this.silence();
    this.start(true);
  }

  emitAlarm(level: number, msg: string): number {
    return this.served?.emit('alarm', { level, msg }) ?? 0;
  }
}

export async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
