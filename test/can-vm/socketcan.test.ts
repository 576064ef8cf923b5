// The SocketCAN driver (src/transports/can/socketcan.ts + native/can/cell_can.c) on real kernel
// SocketCAN: Debian's kernel in a qemu micro-VM (test/helpers/can-vm.ts) with vcan0 (classic),
// vcan1 (FD, mtu 72) and vcan2 (classic, paced by tbf at 500 kbit/s with a 200-byte queue, so the
// kernel refuses frames with ENOBUFS). One VM boot for the file: the cases run in one node
// process inside it (test/can-vm/inner/socketcan-cases.ts), each test here checks one case.
// Skipped with the reason when the VM cannot run here (no qemu, kernel, busybox; CELL_CAN_VM=0)
// or the addon is not built.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { canVmAvailable, runInCanVm, type CanVmResult } from '../helpers/can-vm.ts';
import { skipDeclared } from '../helpers/skip.ts';
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

interface CaseResult { name: string; ok: boolean; error?: string; ms: number; [k: string]: unknown }

let run: CanVmResult | undefined;
const results = new Map<string, CaseResult>();

if (skipReason !== '') {
  for (const [, title] of CASES) skipDeclared(test, `SocketCAN in the VM: ${title}`, skipReason);
} else {
  test.before(async () => {
    run = await runInCanVm({
      interfaces: [
        { name: 'vcan0' },
        { name: 'vcan1', fd: true },
        { name: 'vcan2', txqueuelen: 4, qdisc: 'root tbf rate 500kbit burst 1000 limit 200' },
      ],
      commands: [{ script: inner, timeoutMs: 60_000 }],
      timeoutMs: 90_000,
    });
    for (const line of run.outputs[0]?.stdout.split('\n') ?? []) {
      if (!line.startsWith('CASE ')) continue;
      const r = JSON.parse(line.slice(5)) as CaseResult;
      results.set(r.name, r);
    }
    const figures = [...results.values()].map((r) => {
      const { name, ok, error, ...rest } = r;
      void ok; void error;
      return `${name} ${JSON.stringify(rest)}`;
    });
    console.log(`\n  CAN VM: boot ${Math.round(run.bootMs)} ms, total ${Math.round(run.totalMs)} ms, cases ${run.outputs[0]?.ms ?? -1} ms in the guest\n  ${figures.join('\n  ')}`);
  });

  for (const [name, title] of CASES) {
    test(`SocketCAN in the VM: ${title}`, () => {
      const r = results.get(name);
      if (r === undefined) {
        const out = run?.outputs[0];
        assert.unreachable(`case ${name} did not report: ${run?.reason}\nstdout: ${out?.stdout.slice(-2000)}\nstderr: ${out?.stderr.slice(-3000)}\nconsole: ${run?.console.slice(-1500)}`);
        return;
      }
      assert.ok(r.ok, `${name}: ${r.error}`);
    });
  }
}

test.run();
