// Test helper: CanBus nodes on one in-process bus. Uses the memory bus (src/transports/can/
// memory-bus.ts) when it exists, else a minimal stand-in with the same delivery rules.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CanBus, type CanBusOptions } from '../../src/transports/can/bus.ts';
import { CanDriverStats, type CanDriver, type CanDriverHandlers } from '../../src/transports/can/driver.ts';

interface Wire { attach(name?: string): CanDriver }

/** A bus every attached driver hears (not its own frames), delivered in a microtask batch. */
class StandInBus implements Wire {
  private readonly drivers: StandIn[] = [];
  constructor(readonly fd: boolean) {}
  attach(name = `standin:${this.drivers.length}`): CanDriver {
    const d = new StandIn(name, this.fd, this);
    this.drivers.push(d);
    return d;
  }
  deliver(from: StandIn, id: number, flags: number, data: Uint8Array): void {
    for (const d of this.drivers) if (d !== from) d.rx(id, flags, data);
  }
}
class StandIn implements CanDriver {
  readonly stats = new CanDriverStats();
  readonly state = 'error-active' as const;
  closed = false;
  private h: CanDriverHandlers | null = null;
  private q: Array<[number, number, Uint8Array]> = [];
  private scheduled = false;
  constructor(readonly name: string, readonly fd: boolean, private readonly bus: StandInBus) {}
  start(h: CanDriverHandlers): void { this.h = h; }
  send(id: number, flags: number, data: Uint8Array, off: number, len: number): boolean {
    if (this.closed) { this.stats.dropped++; return false; }
    this.stats.framesOut++;
    this.bus.deliver(this, id, flags, data.slice(off, off + len));
    return true;
  }
  rx(id: number, flags: number, data: Uint8Array): void {
    if (this.closed) return;
    this.q.push([id, flags, data]);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        const q = this.q; this.q = [];
        for (const [i, f, d] of q) { this.stats.framesIn++; this.h?.onFrame(i, f, d, 0, d.length, 0); }
      });
    }
  }
  close(): void { if (!this.closed) { this.closed = true; this.h?.onClose(null); } }
}

const memoryBusPath = fileURLToPath(new URL('../../src/transports/can/memory-bus.ts', import.meta.url));

export async function makeWire(fd = false): Promise<Wire> {
  if (existsSync(memoryBusPath)) {
    const m = await import('../../src/transports/can/memory-bus.ts' as string) as { MemoryCanBus: new (o: { fd: boolean }) => Wire };
    return new m.MemoryCanBus({ fd });
  }
  return new StandInBus(fd);
}

/** Two or more started CanBus nodes on one wire. */
export async function nodes(ids: number[], opts: Partial<CanBusOptions> = {}): Promise<{ wire: Wire; buses: CanBus[] }> {
  const wire = await makeWire(opts.fd ?? false);
  const buses = ids.map((node) => new CanBus(wire.attach(`node${node}`), { ...opts, node }));
  for (const b of buses) b.start();
  return { wire, buses };
}
