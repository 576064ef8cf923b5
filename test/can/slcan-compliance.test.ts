// The link compliance suite (test/transports/compliance.ts) over slcan: node 1's CanBus on the
// slcan driver (src/transports/can/slcan.ts) through a simulated adapter on a real pty (socat,
// test/helpers/slcan-adapter.ts) onto the memory bus, where node 2's CanBus sits. Every frame of
// the compact profile crosses the serial line as Lawicel ASCII. Classic and FD (the CANable FD
// letters). Skipped with the reason where socat or serialport is missing.
import { suite } from 'uvu';
import { complianceSuite } from '../transports/compliance.ts';
import { ptyUnavailable } from '../../hw-tests/lib/pty.ts';
import { skipDeclared } from '../helpers/skip.ts';
import { startSlcanAdapter, type SlcanAdapter } from '../helpers/slcan-adapter.ts';
import { CanBus } from '../../src/transports/can/bus.ts';
import { MemoryCanBus } from '../../src/transports/can/memory-bus.ts';
import { openSlcan } from '../../src/transports/can/slcan.ts';
import { canCompliancePair } from './compliance-pair.ts';

const missing = ptyUnavailable() ?? (await import('serialport').then(() => null, (e: Error) => `serialport not installed: ${e.message}`));

if (missing !== null) {
  skipDeclared(suite('Link compliance: CAN peer link over slcan'), 'the compliance suite over an slcan adapter on a pty', missing);
} else {
  for (const fd of [false, true]) {
    complianceSuite(`CAN peer link over slcan (${fd ? 'FD' : 'classic'})`, {
      maxFrameBytes: 1024,
      heartbeatMs: 200,
      async pair() {
        const wire = new MemoryCanBus({ fd });
        const adapter: SlcanAdapter = await startSlcanAdapter(wire, { fd });
        const drv = await openSlcan({ path: adapter.path, bitrate: 500_000, fd, dataBitrate: fd ? 2_000_000 : undefined });
        const a = new CanBus(drv, { node: 1, fd, maxFrameBytes: 1024 });
        const b = new CanBus(wire.attach('node2'), { node: 2, fd, maxFrameBytes: 1024 });
        a.start(); b.start();
        return canCompliancePair(a, b, wire.attach('garbage'), () => adapter.close());
      },
    });
  }
}
