// CPU time per call of one side of the pipelined path, in one process, with no socket and no
// peer: the server fed chunks of 200 REQUEST frames through a fake socket (as bench/rpc/instr.ts
// does under callgrind), or the client's `send` loop against a fake socket that reflects each
// REQUEST as its RESPONSE. Reports the best of R rounds of N calls (process CPU time, so a busy
// host's stolen time is not counted): a quicker A/B than callgrind for changes of a few %.
//   taskset -c 1 node --import tsx bench/rpc/dispatch-time.ts server|client [N=400000] [R=7]
import { connect, serve } from '../../src/rpc/index.ts';
import type { Infer } from '../../src/codec/index.ts';
import { EchoCell, Msg, PAYLOAD_BYTES } from './echo-cell.ts';
import { ECHO_FRAME_BYTES, FakeSocket, fillRequests, reflectingSocket } from './fake-socket.ts';

const side = process.argv[2] ?? 'server';
const N = Number(process.argv[3] ?? 400_000), R = Number(process.argv[4] ?? 7);
const FRAME = ECHO_FRAME_BYTES;
const cpuNs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) * 1000; };
const best: number[] = [];

if (side === 'server') {
  let framesOut = 0;
  const sock = new FakeSocket((chunk) => { framesOut += chunk.length / FRAME; });
  serve(EchoCell, { ping: (m: Infer<typeof Msg>) => m }, sock.link(), { heartbeatMs: 0, helloTimeoutMs: 0 });
  const PER_CHUNK = 200;
  // Chunks made up front (a socket hands a new Buffer per read on the 'data' path): not timed.
  const chunks = Array.from({ length: 16 }, () => Buffer.alloc(PER_CHUNK * FRAME, 0x5a));
  let id = 1;
  const round = async (calls: number): Promise<number> => {
    const t0 = cpuNs();
    for (let sent = 0, k = 0; sent < calls; sent += PER_CHUNK, k++) {
      const chunk = chunks[k & 15]!;
      id = fillRequests(chunk, PER_CHUNK, id);
      sock.emit('data', chunk);
      if ((k & 15) === 15) await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setImmediate(r));
    return (cpuNs() - t0) / calls;
  };
  await round(200_000);
  for (let i = 0; i < R; i++) best.push(await round(N));
  if (framesOut < N * R) throw new Error(`server answered ${framesOut}`);
} else {
  const cell = await connect(EchoCell, reflectingSocket().link(), { heartbeatMs: 0, deadlineMs: 3_600_000 });
  const msg = { payload: new Uint8Array(PAYLOAD_BYTES).fill(0x5a) };
  const round = (calls: number): Promise<number> => new Promise((resolve) => {
    let count = 0, inFlight = 0;
    const t0 = cpuNs();
    const done = (err: unknown): void => {
      if (err !== null) throw err;
      inFlight--;
      if (++count < calls) { inFlight++; cell.ping.send(msg, done); } else if (inFlight === 0) resolve((cpuNs() - t0) / calls);
    };
    for (let i = 0; i < 1000; i++) { inFlight++; cell.ping.send(msg, done); }
  });
  await round(200_000);
  for (let i = 0; i < R; i++) best.push(await round(N));
}
best.sort((a, b) => a - b);
console.log(`${side}: best ${best[0]!.toFixed(0)} ns/call CPU, median ${best[R >> 1]!.toFixed(0)} (${R} rounds of ${N}; fake socket, no syscalls)`);
process.exit(0);
