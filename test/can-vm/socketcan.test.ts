// The SocketCAN driver (src/transports/can/socketcan.ts + native/can/cell_can.c) on real kernel
// SocketCAN: Debian's kernel in a qemu micro-VM (test/helpers/can-vm.ts) with vcan0 (classic),
// vcan1 (FD, mtu 72) and vcan2 (classic, paced by tbf at 500 kbit/s with a 200-byte queue, so the
// kernel refuses frames with ENOBUFS). One VM boot for the file: the cases run in one node
// process inside it (test/can-vm/inner/socketcan-cases.ts), each test here checks one case.
// Skipped with the reason when the VM cannot run here (no qemu, kernel, busybox; CELL_CAN_VM=0)
// or the addon is not built.
import { test } from 'uvu';
import { fileURLToPath } from 'node:url';
import { canVmAvailable, canVmCaseTests } from '../helpers/can-vm.ts';
import { canAddonStatus } from '../../src/transports/can/native.ts';

const inner = fileURLToPath(new URL('./inner/socketcan-cases.ts', import.meta.url));
const vm = canVmAvailable();
const addon = canAddonStatus();
const skipReason = !vm.ok ? vm.reason : !addon.available ? addon.reason : '';

const CASES: [string, string][] = [
  ['classic', 'classic frames both ways between two sockets on vcan0, kernel timestamps monotonic, open errors typed'],
  ['fd', 'CAN FD frames (up to 64 bytes, BRS) on an FD vcan, and a classic frame through an FD socket'],
  ['filters', 'a socket with kernel filters sees only matching ids; setFilters changes them'],
  ['errors', 'error frames are counted and reported (bus state derived) only when error reporting is on'],
  ['rxOverflow', 'frames wait in the kernel until start(); a full receive queue drops and counts them (SO_RXQ_OVFL)'],
  ['enobufs', 'a burst of 10 000 frames into a tiny paced queue: ENOBUFS backs off, every frame arrives in order'],
  ['closeMidBurst', 'closing mid-burst is clean (sent + dropped = queued); the interface going down closes with CanNoInterface'],
];

canVmCaseTests(test, {
  label: 'SocketCAN in the VM',
  cases: CASES,
  skipReason,
  run: {
    interfaces: [
      { name: 'vcan0' },
      { name: 'vcan1', fd: true },
      { name: 'vcan2', txqueuelen: 4, qdisc: 'root tbf rate 500kbit burst 1000 limit 200' },
    ],
    commands: [{ script: inner, timeoutMs: 60_000 }],
    timeoutMs: 90_000,
  },
});

test.run();
