// The CAN profile and link, measured (issue 15 §Benchmarks; method of docs/rpc.md §8: floors in
// the same run, ratios). `npm run bench:can [-- --json FILE] [--rounds N] [--no-vm]`:
//   1. frames and bytes per transfer next to Cyphal/CAN and ISO-TP (bench/can/profile.ts), and
//      the bus time of a thermo read at 500 kbit/s;
//   2. bus utilisation: thermo reads back to back on the memory bus paced at 500 kbit/s
//      (src/transports/can/memory-bus.ts models each frame's bits, stuffing included);
//   3. allocation of the link's frame path after warm-up (bench/can/alloc.ts);
//   4. in the CAN micro-VM (real kernel vcan, our SocketCAN addon): call RTT ÷ a raw ping-pong of
//      the same frames (target ≤ 1.2×) and link frames/s ÷ raw frames/s (target ≥ 0.8×),
//      bench/can/link-vm.ts.
import { writeFileSync } from 'node:fs';
import { profileTable, readCallBusTime } from './profile.ts';
import { formatCanAlloc, measureCanAlloc } from './alloc.ts';
import { MemoryCanBus } from '../../src/transports/can/memory-bus.ts';
import { CanBus } from '../../src/transports/can/bus.ts';
import { connect, serve } from '../../src/rpc/index.ts';
import { ThermoDef } from '../../firmware/thermo/schema.ts';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const result: Record<string, unknown> = { bench: 'can', node: process.version, date: new Date().toISOString() };

console.log('## Frames and bytes per transfer (Cell from the code; Cyphal/CAN, ISO-TP from their rules)\n');
console.log(profileTable());
const busTime = readCallBusTime(500_000);
result.profile = profileTable();
result.readCallBusTime = busTime;
console.log(`\nA thermo read (1 + 2 classic frames, worst-case stuffing) takes ${busTime.bitsPerCall} bits: ${busTime.usPerCall} us of a 500 kbit/s bus, at most ${Math.floor(busTime.callsPerSecond)} reads/s.`);

// 2. Utilisation on the paced memory bus.
{
  const wire = new MemoryCanBus({ bitrate: 500_000 });
  const gw = new CanBus(wire.attach('gw'), { node: 1 });
  const dev = new CanBus(wire.attach('dev'), { node: 10 });
  gw.start(); dev.start();
  dev.onPeer = (_n, link) => serve(ThermoDef, {
    read: (req) => ({ channel: req.channel, celsius: 21.25, seq: 1 }),
    setLed: (req) => ({ on: req.on }), configure: () => ({ ok: true }),
    info: () => ({ name: 'thermo', fwVersion: '0', schema: 0n }), async *samples() { /* unused */ },
  }, link, { heartbeatMs: 0 });
  const client = await connect(ThermoDef, gw.peer(10), { heartbeatMs: 0 });
  const WINDOW = 8, CALLS = 400;
  const bits0 = wire.stats.bits;
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: WINDOW }, async () => { while (next++ < CALLS) await client.read({ channel: 1 }); }));
  const ms = performance.now() - t0;
  const bits = wire.stats.bits - bits0;
  const util = { calls: CALLS, ms: Math.round(ms), callsPerSecond: Math.round(CALLS / (ms / 1000)), utilisation: bits / 500_000 / (ms / 1000) };
  result.pacedUtilisation = util;
  console.log(`\nPaced memory bus at 500 kbit/s, ${WINDOW} reads in flight: ${util.callsPerSecond} reads/s, bus ${(util.utilisation * 100).toFixed(0)} % busy (model: ${Math.floor(busTime.callsPerSecond)} reads/s at 100 %).`);
  await client.close(); gw.close(); dev.close();
}

// 3. Allocation.
{
  const r = await measureCanAlloc(1_000_000);
  result.alloc = { classic: { scavenges: r.classic.minor, nsPerCall: r.classic.nsPerIteration }, fd: { scavenges: r.fd.minor, nsPerCall: r.fd.nsPerIteration } };
  console.log(`\nAllocation (10^6 calls each):\n${formatCanAlloc(r)}`);
}

// 4. The micro-VM.
if (!args.includes('--no-vm')) {
  const helper = new URL('../../test/helpers/can-vm.ts', import.meta.url).href;
  const { canVmAvailable, runInCanVm } = await import(helper) as typeof import('../../test/helpers/can-vm.ts');
  const avail = canVmAvailable();
  if (!avail.ok) {
    console.log(`\nMicro-VM part skipped: ${avail.reason}`);
    result.vm = { skipped: avail.reason };
  } else {
    console.log('\nBooting the CAN micro-VM (qemu TCG, Debian kernel vcan) for the SocketCAN ratios…');
    const r = await runInCanVm({
      interfaces: [{ name: 'vcan0' }, { name: 'vcan1', fd: true }, { name: 'vcan2', qdisc: 'root tbf rate 500kbit burst 64 latency 200ms' }],
      commands: [{ script: new URL('./link-vm.ts', import.meta.url).pathname, argv: ['--rounds', opt('--rounds') ?? '5'] }],
      timeoutMs: 600_000,
    });
    const out = r.outputs[0];
    const line = out?.stdout.trim().split('\n').pop() ?? '';
    if (!r.ok || !line.startsWith('{')) {
      console.error(`the VM run failed: ${r.reason}\n${out?.stderr ?? ''}\n${r.console.slice(-1500)}`);
      process.exitCode = 1;
    } else {
      const vm = JSON.parse(line) as Record<string, { rttRatio: number; rttRatioAwait: number; fpsRatio: number; rawRttUs: number; cellRttUs: number; rawFps: number; cellFps: number }>;
      result.vm = vm;
      for (const [name, m] of Object.entries(vm)) {
        console.log(`${name}: RTT ${m.cellRttUs} us vs raw ${m.rawRttUs} us = ${m.rttRatio.toFixed(2)}x (target <= 1.2) ${m.rttRatio <= 1.2 ? 'PASS' : 'MISS'} (await form ${m.rttRatioAwait.toFixed(2)}x); ` +
          `frames/s ${m.cellFps} vs raw ${m.rawFps} = ${m.fpsRatio.toFixed(2)}x (target >= 0.8) ${m.fpsRatio >= 0.8 ? 'PASS' : 'MISS'}`);
      }
    }
  }
}

const json = opt('--json');
if (json !== undefined) writeFileSync(json, JSON.stringify(result, null, 2));
process.exit(process.exitCode ?? 0);
