// Quick probe: calls/s with N callers in flight over UDS to bench/rpc/peer.ts (for profiling:
// node --cpu-prof --import tsx bench/rpc/pipeline-probe.ts [callers] [seconds]).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect } from '../../src/rpc/index.ts';
import { connectUnix } from '../../src/transports/unix.ts';
import { EchoCell, PAYLOAD_BYTES } from './echo-cell.ts';

const callers = Number(process.argv[2] ?? 1000), secs = Number(process.argv[3] ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'cell-probe-'));
// PROBE_SERVER_NODE_ARGS: extra node flags for the server process (e.g. "--print-opt-code --print-opt-code-filter=onRequest").
const childArgs = [...(process.env.PROBE_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []), ...(process.env.PROBE_IMPORT ? ['--import', process.env.PROBE_IMPORT] : []), ...(process.env.PROBE_SERVER_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.PROBE_SERVER_PROF] : []), '--import', 'tsx', fileURLToPath(new URL('./peer.ts', import.meta.url)), dir];
const child = spawn(process.execPath, childArgs, { stdio: ['pipe', 'pipe', 'inherit'], env: { PEER_SERVERS: 'raw,cell', ...process.env } });
await new Promise((res) => createInterface({ input: child.stdout! }).once('line', res));
/** The server process's user + system CPU in µs (/proc/<pid>/stat fields 14-15, in clock ticks of 10 ms). */
const childCpuUs = (): number => { const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) * 10_000; };
const cell = await connect(EchoCell, await connectUnix(join(dir, 'cell.sock')), { heartbeatMs: 0 });
const msg = { payload: new Uint8Array(PAYLOAD_BYTES).fill(0x5a) };
let count = 0, stop = false;
const conn = cell.connection as any, entry = conn.callEntry('ping');
let ws: Promise<void>[] = [];
if (process.env.PROBE_MODE === 'send') {
  const done = (err: unknown): void => { if (err) { if (!stop) throw err; return; } count++; if (!stop) conn.callBack(entry, msg, done); };
  for (let i = 0; i < callers; i++) conn.callBack(entry, msg, done);
} else {
  const worker = async () => { while (!stop) { await cell.ping(msg); count++; } };
  ws = Array.from({ length: callers }, worker);
}
await new Promise((r) => setTimeout(r, 500));
const ctxt = (pid: number | string): number => { const t = readFileSync(`/proc/${pid}/status`, 'utf8'); return Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(t)![1]) + Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(t)![1]); };
const c0 = count, t0 = performance.now(), cpu0 = process.cpuUsage(), srv0 = childCpuUs(), cs0 = ctxt('self'), ss0 = ctxt(child.pid!);
await new Promise((r) => setTimeout(r, secs * 1000));
const n = count - c0, rate = n / ((performance.now() - t0) / 1000);
const cpu = process.cpuUsage(cpu0), srvUs = childCpuUs() - srv0, csN = ctxt('self') - cs0, ssN = ctxt(child.pid!) - ss0;
stop = true; await Promise.all(ws);
// CPU per call (user + system, µs → ns) is what bounds calls/s: 1/max of the two when the
// processes run on separate cores, 1/sum when they share one; less noisy than calls/s on a busy machine.
console.log(`${callers} callers: ${(rate / 1e3).toFixed(0)}k calls/s; CPU/call client ${((cpu.user + cpu.system) * 1000 / n).toFixed(0)} ns (sys ${(cpu.system * 1000 / n).toFixed(0)}), server ${(srvUs * 1000 / n).toFixed(0)} ns; calls per context switch: client ${(n / csN).toFixed(0)}, server ${(n / ssN).toFixed(0)}; load ${loadavg()[0]!.toFixed(2)}`);
await cell.close();
child.stdin!.end();
await new Promise((r) => child.once('exit', r));
rmSync(dir, { recursive: true, force: true });
