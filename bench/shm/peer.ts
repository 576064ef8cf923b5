// The server process of bench/shm/shm.bench.ts. Listens in the directory argv[2]:
//   raw.sock         raw echo over `net` (the Unix-socket ping-pong floor)
//   park.sock        Thermo through acceptShm, default wake ('park', spinUs 50)
//   park0.sock       Thermo through acceptShm, spinUs 0 (every message wakes a parked peer)
//   poll.sock        Thermo through acceptShm, wake 'poll'
//   thermo-unix.sock Thermo over the plain Unix socket link (for information)
//   bench-shm.sock   the bench cell (bench-cell.ts) through acceptShm, default wake
//   bench-unix.sock  the bench cell over the plain Unix socket link
// Prints one JSON line {ready} when listening. Commands come as JSON lines on stdin:
//   {"cmd":"spin","name","ringBytes","epoch"}: map that segment (openProcessSegment) and answer
//   a busy-spin ping-pong on it (spin.ts spinAnswer) until the parent writes STOP; the event loop
//   is blocked meanwhile, as in a tight C loop. Replies {"spun": n} when done.
//   {"cmd":"cpu"}: replies {"cpuUs"}: this process's CPU time so far (user + system, µs).
// Exits when stdin ends (the parent died or is done).
import net from 'node:net';
import { createInterface } from 'node:readline';
import { serve } from '../../src/rpc/index.ts';
import { listenUnix } from '../../src/transports/unix.ts';
import { acceptShm } from '../../src/shm/index.ts';
import { openProcessSegment } from '../../src/transports/shm/index.ts';
import { Thermo } from '../../test/rpc/fixtures/thermo.ts';
import { thermoImpl } from '../../test/rpc/fixtures/impl.ts';
import { ShmBenchCell, shmBenchImpl } from './bench-cell.ts';
import { spinAnswer } from './spin.ts';

const dir = process.argv[2]!;
const p = (f: string) => `${dir}/${f}`;
const noHeartbeat = { heartbeatMs: 0 };

const raw = net.createServer((s) => { s.setNoDelay?.(true); s.on('data', (d) => s.write(d)); s.on('error', () => {}); });
await new Promise<void>((r) => raw.listen(p('raw.sock'), r));

serve(Thermo, thermoImpl(), acceptShm(await listenUnix(p('park.sock'))), noHeartbeat);
serve(Thermo, thermoImpl(), acceptShm(await listenUnix(p('park0.sock')), { spinUs: 0 }), noHeartbeat);
serve(Thermo, thermoImpl(), acceptShm(await listenUnix(p('poll.sock')), { wake: 'poll' }), noHeartbeat);
serve(Thermo, thermoImpl(), await listenUnix(p('thermo-unix.sock')), noHeartbeat);
serve(ShmBenchCell, shmBenchImpl(), acceptShm(await listenUnix(p('bench-shm.sock'))), noHeartbeat);
serve(ShmBenchCell, shmBenchImpl(), await listenUnix(p('bench-unix.sock')), noHeartbeat);

createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line) as { cmd: string; name: string; ringBytes: number; epoch: number };
  if (m.cmd === 'cpu') { const u = process.cpuUsage(); process.stdout.write(JSON.stringify({ cpuUs: u.user + u.system }) + '\n'); return; }
  if (m.cmd !== 'spin') return;
  const seg = openProcessSegment(m.name, m.ringBytes, m.epoch);
  const n = spinAnswer(new Int32Array(seg.buffer));
  seg.release();
  process.stdout.write(JSON.stringify({ spun: n }) + '\n');
});
process.stdin.on('end', () => process.exit(0));
process.stdout.write(JSON.stringify({ ready: true }) + '\n');
