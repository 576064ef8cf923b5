// The raw SocketCAN floors (issue 15 §Benchmarks): what two sockets on a vcan do through our
// addon and driver (src/transports/can/socketcan.ts) with no Cell on top. The CAN link benchmark
// divides by these: call RTT ÷ raw ping-pong RTT of the same frame count, link frames/s ÷ raw
// frames/s.
//
//   node --import tsx bench/can/raw.ts [--frames N] [--pings N]
//
// On the host it boots the CAN micro-VM (test/helpers/can-vm.ts: Debian's kernel, qemu TCG) and
// runs itself there (CELL_IN_CAN_VM=1); prints one JSON object. Both sockets live in one process
// (as the link benchmark's two ends do), so a round trip is two kernel hops and two loop turns.
// Figures are TCG-emulated: compare ratios measured in the same VM, not absolute numbers.
import { CAN_FLAG_EXTENDED, CAN_FLAG_FD, CAN_FLAG_BRS } from '../../src/transports/can/driver.ts';
import { openSocketCan, type SocketCanDriver } from '../../src/transports/can/socketcan.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};

interface Floor { frameBytes: number; rttMedianUs: number; rttP99Us: number; pings: number; framesPerSec: number; frames: number; txBackoffs: number; rxOverflows: number }

async function measure(ifname: string, fd: boolean, frameBytes: number, pings: number, frames: number): Promise<Floor> {
  const flags = CAN_FLAG_EXTENDED | (fd ? CAN_FLAG_FD | CAN_FLAG_BRS : 0);
  const a = openSocketCan(ifname, { fd, highWaterFrames: 256 });
  const b = openSocketCan(ifname, { fd, highWaterFrames: 256 });
  const payload = new Uint8Array(frameBytes).fill(0xa5);
  // A lost frame would stall a phase: say where instead of hanging.
  let seen = -1;
  const watchdog = setInterval(() => {
    const now = rtts.length + received;
    if (now === seen) {
      console.log(JSON.stringify({ stalled: ifname, mode, pings: rtts.length, received, a: a.stats, b: b.stats, queuedA: a.queued, queuedB: b.queued }));
      process.exit(1);
    }
    seen = now;
  }, 5000);

  // Ping-pong: a sends, b echoes from its onFrame, a sends the next from its onFrame.
  const rtts: number[] = [];
  let mode: 'ping' | 'flood' = 'ping';
  let sentAt = 0;
  let received = 0;
  let floodDone: () => void = () => {};
  let pingDone: () => void = () => {};
  let pump: () => void = () => {};
  b.start({
    onFrame(id, fl, data, off, len) {
      if (mode === 'ping') b.send(id, fl, data, off, len);
      else if (++received === frames) floodDone();
      else if ((received & 31) === 0) pump();
    },
    onClose() {},
  });
  a.start({
    onFrame() {
      rtts.push(performance.now() - sentAt);
      if (rtts.length === pings) { pingDone(); return; }
      sentAt = performance.now();
      a.send(0x100, flags, payload, 0, frameBytes);
    },
    onDrain() { pump(); },
    onClose() {},
  });
  for (let warm = 0; warm < 2; warm++) {
    rtts.length = 0;
    await new Promise<void>((res) => { pingDone = res; sentAt = performance.now(); a.send(0x100, flags, payload, 0, frameBytes); });
  }
  process.stderr.write(`raw: ${ifname} ping-pong done\n`);
  rtts.sort((x, y) => x - y);
  const rttMedianUs = Math.round(rtts[rtts.length >> 1]! * 1000);
  const rttP99Us = Math.round(rtts[Math.floor(rtts.length * 0.99)]! * 1000);

  // One way, as fast as the receiver keeps up: a vcan has no flow control (a full receive queue
  // drops frames, SO_RXQ_OVFL), so at most WINDOW frames are in flight; the sender also stops at
  // `send` → false until onDrain.
  mode = 'flood';
  const WINDOW = 128;
  const t0 = performance.now();
  await new Promise<void>((res) => {
    floodDone = res;
    let i = 0;
    pump = () => {
      while (i < frames && i - received < WINDOW) {
        i++;
        if (!a.send(0x200, flags, payload, 0, frameBytes)) return;
      }
    };
    pump();
  });
  const secs = (performance.now() - t0) / 1000;
  const txBackoffs = a.stats.txBackoffs;
  const rxOverflows = b.stats.rxOverflows;
  clearInterval(watchdog);
  close(a, b);
  return { frameBytes, rttMedianUs, rttP99Us, pings, framesPerSec: Math.round(frames / secs), frames, txBackoffs, rxOverflows };
}

function close(...ds: SocketCanDriver[]): void {
  for (const d of ds) d.close();
}

async function inVm(): Promise<void> {
  process.stderr.write('raw: started in the VM\n');
  const frames = arg('--frames', 50_000);
  const pings = arg('--pings', 2000);
  const classic = await measure('vcan0', false, 8, pings, frames);
  const fd = await measure('vcan1', true, 64, pings, frames);
  console.log(JSON.stringify({ classic, fd }));
}

async function onHost(): Promise<void> {
  // A computed specifier: esbuild leaves it out of the bundle that runs in the VM.
  const helper = new URL('../../test/helpers/can-vm.ts', import.meta.url).href;
  const { canVmAvailable, runInCanVm } = await import(helper) as typeof import('../../test/helpers/can-vm.ts');
  const avail = canVmAvailable();
  if (!avail.ok) {
    console.log(JSON.stringify({ skipped: avail.reason }));
    return;
  }
  const r = await runInCanVm({
    interfaces: [{ name: 'vcan0' }, { name: 'vcan1', fd: true }],
    commands: [{ script: new URL(import.meta.url).pathname, argv: process.argv.slice(2) }],
    timeoutMs: arg('--timeout-ms', 180_000),
  });
  const out = r.outputs[0];
  const line = out?.stdout.trim().split('\n').pop() ?? '';
  if (!r.ok || !line.startsWith('{')) {
    console.error(`bench/can/raw: the VM run failed: ${r.reason}\n${out?.stderr ?? ''}\n${r.console.slice(-2000)}`);
    process.exitCode = 1;
    return;
  }
  const inner = JSON.parse(line) as Record<string, unknown>;
  console.log(JSON.stringify({ bench: 'can-raw', where: 'qemu microvm (TCG), Debian kernel vcan', node: process.version, bootMs: Math.round(r.bootMs), ...inner }, null, 2));
}

if (process.env['CELL_IN_CAN_VM'] === '1') await inVm();
else await onHost();
