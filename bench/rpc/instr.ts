// Instructions per call of the pipelined path (docs/rpc.md §8), for A/B comparisons that a busy
// 2-core machine cannot spoil: wall-clock and even CPU time move by ±30 % with the load, the
// instruction count valgrind reports does not.
//   node --import tsx bench/rpc/instr.ts [client|server] [callers]
// runs `valgrind --tool=callgrind node --import tsx bench/rpc/instr.ts --run <side> <calls>` for
// two call counts and prints (instructions(N2) − instructions(N1)) / (N2 − N1): start-up, module
// loading and warm-up cancel out; JIT compiles, GC and every layer from the socket's 'data'
// event to the caller's `await` are in.
//   client: a Connection calling the echo cell over a real SocketLink whose socket is a fake:
//           each write comes back (next macrotask, as one chunk, like a socket read) with every
//           REQUEST turned into its RESPONSE. 1000 callers, each `await cell.ping(msg)` in a loop
//           (INSTR_SEND=1: 1000 in flight through `cell.ping.send`, each answer sending the next).
//   server: a Connection serving the echo cell over a SocketLink on a fake socket that is fed
//           chunks of 200 REQUEST frames (one per macrotask) and discards what is written.
// Not included: the kernel (syscalls are ~1 per 200 calls here) and libuv.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect, serve } from '../../src/rpc/index.ts';
import type { Infer } from '../../src/codec/index.ts';
import { EchoCell, Msg, PAYLOAD_BYTES } from './echo-cell.ts';
import { ECHO_FRAME_BYTES, FakeSocket, fillRequests, reflectingSocket } from './fake-socket.ts';

async function runClient(calls: number, callers: number): Promise<void> {
  const sock = reflectingSocket();
  // A deadline that cannot fire under valgrind (≈ 50× slower) but is still armed per call.
  const cell = await connect(EchoCell, sock.link(), { heartbeatMs: 0, deadlineMs: 3_600_000 });
  const msg = { payload: new Uint8Array(PAYLOAD_BYTES).fill(0x5a) };
  let count = 0;
  const total = calls + 100_000; // fixed warm-up, the same in every run
  if (process.env.INSTR_SEND === '1') {
    // the callback form (`send`): each answer sends the next call
    await new Promise<void>((resolve) => {
      let inFlight = 0;
      const done = (err: unknown): void => {
        if (err !== null) throw err;
        inFlight--;
        if (++count < total) { inFlight++; cell.ping.send(msg, done); } else if (inFlight === 0) resolve();
      };
      for (let i = 0; i < callers; i++) { inFlight++; cell.ping.send(msg, done); }
    });
    return;
  }
  const worker = async (): Promise<void> => { while (count < total) { await cell.ping(msg); count++; } };
  await Promise.all(Array.from({ length: callers }, worker));
}

async function runServer(calls: number): Promise<void> {
  let framesOut = 0;
  const sock = new FakeSocket((chunk) => { framesOut += chunk.length / ECHO_FRAME_BYTES; });
  serve(EchoCell, { ping: (m: Infer<typeof Msg>) => m }, sock.link(), { heartbeatMs: 0, helloTimeoutMs: 0 });
  const PER_CHUNK = 200;
  const total = calls + 100_000;
  let id = 1;
  for (let sent = 0; sent < total; sent += PER_CHUNK) {
    const chunk = Buffer.alloc(PER_CHUNK * ECHO_FRAME_BYTES, 0x5a); // a new chunk per read, as from a socket
    id = fillRequests(chunk, PER_CHUNK, id);
    sock.emit('data', chunk);
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setImmediate(r));
  if (framesOut < total) throw new Error(`server answered ${framesOut} of ${total}`);
}

const argv = process.argv.slice(2);
if (argv[0] === '--run') {
  const side = argv[1], calls = Number(argv[2]), callers = Number(argv[3] ?? 1000);
  if (side === 'client') await runClient(calls, callers); else await runServer(calls);
  process.exit(0);
} else {
  const side = argv[0] ?? 'client', callers = argv[1] ?? '1000';
  const self = fileURLToPath(import.meta.url);
  const instr = (calls: number): number => {
    // --single-threaded: compiles and GC on the main thread, in the same place every run;
    // --predictable-gc-schedule, --no-memory-reducer: heap limits and GCs that do not depend on
    // elapsed time (valgrind makes time 50× longer, and the client allocates ~0.5 kB per call).
    const r = spawnSync('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--single-threaded', '--predictable-gc-schedule', '--no-memory-reducer', '--import', 'tsx', self, '--run', side, String(calls), callers], { encoding: 'utf8' });
    const m = /Collected : (\d+)/.exec(r.stderr);
    if (r.status !== 0 || m === null) throw new Error(`valgrind failed (${r.status}): ${r.stderr.slice(-2000)}`);
    return Number(m[1]);
  };
  const n1 = Number(process.env.INSTR_N1 ?? 40_000), n2 = Number(process.env.INSTR_N2 ?? 120_000);
  const a = instr(n1), b = instr(n2);
  console.log(`${side}: ${((b - a) / (n2 - n1)).toFixed(0)} instructions/call (${side === 'client' ? `${callers} callers, ` : ''}${n1} vs ${n2} calls)`);
}
