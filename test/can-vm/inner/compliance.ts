// Runs inside the CAN micro-VM (test/helpers/can-vm.ts): the link compliance suite
// (test/transports/compliance.ts) between two CanBus nodes, each on its own SocketCAN socket of
// vcan0 (classic) or vcan1 (FD) through our addon — the real kernel path. uvu prints its summary
// (Total / Passed); test/can-vm/compliance.test.ts reads it.
import { complianceSuite } from '../../transports/compliance.ts';
import { CanBus } from '../../../src/transports/can/bus.ts';
import { openSocketCan } from '../../../src/transports/can/socketcan.ts';
import { canCompliancePair } from '../../can/compliance-pair.ts';

for (const [ifname, fd] of [['vcan0', false], ['vcan1', true]] as const) {
  complianceSuite(`CAN peer link on SocketCAN ${ifname} (${fd ? 'FD' : 'classic'})`, {
    maxFrameBytes: 1024,
    heartbeatMs: 250,
    async pair() {
      // 8 MiB receive buffers: the suite's first test bursts 600 frames of up to 300 bytes (~10 000
      // classic CAN frames) with no pause; a vcan has no flow control, and under TCG the reader
      // lags (a real 500 kbit/s bus carries ~4 000 frames/s, far below what fills a socket).
      const a = new CanBus(openSocketCan(ifname, { fd, receiveBufferBytes: 1 << 23 }), { node: 1, fd, maxFrameBytes: 1024 });
      const b = new CanBus(openSocketCan(ifname, { fd, receiveBufferBytes: 1 << 23 }), { node: 2, fd, maxFrameBytes: 1024 });
      a.start(); b.start();
      return canCompliancePair(a, b, openSocketCan(ifname, { fd }));
    },
  });
}

// uvu runs the suites on its own once this module has loaded and prints its summary last; exit
// then, since sockets left open by a failed test would keep the process (and the VM) alive.
const write = process.stdout.write.bind(process.stdout) as (chunk: unknown, ...rest: unknown[]) => boolean;
(process.stdout as { write: (chunk: unknown, ...rest: unknown[]) => boolean }).write = (chunk, ...rest) => {
  const r = write(chunk, ...rest);
  if (String(chunk).includes('Duration:')) setTimeout(() => process.exit(process.exitCode ?? 0), 50);
  return r;
};
