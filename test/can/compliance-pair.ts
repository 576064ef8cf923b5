// The link compliance suite's pair (test/transports/compliance.ts) over CAN: node 1's and node 2's
// started CanBus on one bus, and a third driver on it that plays the intruder. Shared by the
// memory bus (test/can/bus.test.ts), slcan (slcan-compliance.test.ts) and SocketCAN in the
// micro-VM (test/can-vm/inner/compliance.ts), which differ only in their drivers.
import type { LinkPair } from '../transports/compliance.ts';
import type { CanBus } from '../../src/transports/can/bus.ts';
import { CAN_FLAG_EXTENDED, type CanDriver } from '../../src/transports/can/driver.ts';
import { canId } from '../../src/framing/can-header.ts';

/** `a` = node 1's link to node 2, `b` the reverse; `cleanup` closes both buses, the intruder, then runs `after`. */
export function canCompliancePair(node1: CanBus, node2: CanBus, intruder: CanDriver, after?: () => void | Promise<void>): LinkPair {
  intruder.start({ onFrame: () => {}, onClose: () => {} });
  return {
    a: node1.peer(2), b: node2.peer(1),
    killB: () => node2.close(),
    // Garbage frames that claim to come from node 2, cut into classic frames on a RESPONSE id.
    garbageToA: (bytes) => {
      for (let i = 0; i < bytes.length; i += 8) intruder.send(canId(4, 3, 0, 1, 2), CAN_FLAG_EXTENDED, bytes, i, Math.min(8, bytes.length - i));
    },
    cleanup: async () => { node1.close(); node2.close(); intruder.close(); await after?.(); },
  };
}
