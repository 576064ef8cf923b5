// Quick probe: calls/s with N callers in flight over UDS to bench/rpc/peer.ts (for profiling:
// node --cpu-prof --import tsx bench/rpc/pipeline-probe.ts [callers] [seconds]).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect } from '../../src/rpc/index.ts';
import { connectUnix } from '../../src/transports/unix.ts';
import { EchoCell, PAYLOAD_BYTES } from './echo-cell.ts';

const callers = Number(process.argv[2] ?? 1000), secs = Number(process.argv[3] ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'cell-probe-'));
const childArgs = [...(process.env.PROBE_SERVER_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.PROBE_SERVER_PROF] : []), '--import', 'tsx', fileURLToPath(new URL('./peer.ts', import.meta.url)), dir];
const child = spawn(process.execPath, childArgs, { stdio: ['pipe', 'pipe', 'inherit'] });
await new Promise((res) => createInterface({ input: child.stdout! }).once('line', res));
const cell = await connect(EchoCell, await connectUnix(join(dir, 'cell.sock')), { heartbeatMs: 0 });
const msg = { payload: new Uint8Array(PAYLOAD_BYTES).fill(0x5a) };
let count = 0, stop = false;
const worker = async () => { while (!stop) { await cell.ping(msg); count++; } };
const ws = Array.from({ length: callers }, worker);
await new Promise((r) => setTimeout(r, 500));
const c0 = count, t0 = performance.now();
await new Promise((r) => setTimeout(r, secs * 1000));
const rate = (count - c0) / ((performance.now() - t0) / 1000);
stop = true; await Promise.all(ws);
console.log(`${callers} callers: ${(rate / 1e3).toFixed(0)}k calls/s`);
await cell.close();
child.stdin!.end();
await new Promise((r) => child.once('exit', r));
rmSync(dir, { recursive: true, force: true });
