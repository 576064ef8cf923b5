// Quick probe: unary RTT and CPU per call (client, server) for Cell vs a raw UDS ping-pong of the
// same frame size, against bench/rpc/peer.ts. Pin with taskset to choose the placement:
//   taskset -c 0 node --import tsx bench/rpc/unary-probe.ts [calls] [rounds]
import net from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect } from '../../src/rpc/index.ts';
import { connectUnix } from '../../src/transports/unix.ts';
import { EchoCell, Msg, PAYLOAD_BYTES } from './echo-cell.ts';
import { Header, HEADER_BYTES, KIND_REQUEST, writeHeader } from '../../src/wire/header.ts';

const calls = Number(process.argv[2] ?? 20000), rounds = Number(process.argv[3] ?? 3);
const ONLY = process.argv[4] ?? '';
const FRAME = 20 + Msg.maxSize;
const dir = mkdtempSync(join(tmpdir(), 'cell-uprobe-'));
const child = spawn(process.execPath, [...(process.env.PROBE_SERVER_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.PROBE_SERVER_PROF] : []), '--import', 'tsx', fileURLToPath(new URL('./peer.ts', import.meta.url)), dir], { stdio: ['pipe', 'pipe', 'inherit'], env: { PEER_SERVERS: 'raw,cell', ...process.env } });
await new Promise((res) => createInterface({ input: child.stdout! }).once('line', res));
const childCpuUs = (): number => { const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) * 10_000; };
const hr = process.hrtime.bigint;

async function measure(name: string, one: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 3000; i++) await one();
  const lat = new Float64Array(calls);
  const cpu0 = process.cpuUsage(), srv0 = childCpuUs();
  for (let i = 0; i < calls; i++) { const t0 = hr(); await one(); lat[i] = Number(hr() - t0); }
  const cpu = process.cpuUsage(cpu0), srv = childCpuUs() - srv0;
  lat.sort();
  console.log(`${name.padEnd(6)} median ${(lat[calls >> 1]! / 1e3).toFixed(1)} µs  p99 ${(lat[Math.floor(calls * 0.99)]! / 1e3).toFixed(1)} µs  CPU/call client ${((cpu.user + cpu.system) * 1000 / calls).toFixed(0)} ns (sys ${(cpu.system * 1000 / calls).toFixed(0)}) server ${(srv * 1000 / calls).toFixed(0)} ns`);
}

const raw = await new Promise<net.Socket>((res) => { const s = net.connect(join(dir, 'raw.sock'), () => res(s)); });
raw.setNoDelay(true);
const payload = Buffer.alloc(FRAME, 0x5a);
let got = 0, wake: (() => void) | null = null;
raw.on('data', (d: Buffer) => { got += d.length; if (got >= FRAME) { got -= FRAME; const w = wake!; wake = null; w(); } });
const rawOne = () => new Promise<void>((r) => { wake = r; raw.write(payload); });
// A raw client speaking to the Cell server: one REQUEST frame out, one RESPONSE frame back (the
// server's own cost without the Cell client's).
const rc = await new Promise<net.Socket>((res) => { const s = net.connect(join(dir, 'cell.sock'), () => res(s)); });
const reqFrame = Buffer.alloc(FRAME, 0x5a);
{
  const h = new Header(); const k = EchoCell.entries[0]!.key;
  h.kind = KIND_REQUEST; h.callId = 1; h.keyLo = Number(k & 0xffffffffn); h.keyHi = Number(k >> 32n); h.length = Msg.maxSize;
  writeHeader(h, reqFrame, 0);
}
let rcGot = 0, rcWake: (() => void) | null = null, helloLeft = -1;
rc.on('data', (d: Buffer) => {
  let n = d.length;
  if (helloLeft < 0) { helloLeft = HEADER_BYTES + d.readUInt32LE(16); }
  if (helloLeft > 0) { const t = Math.min(helloLeft, n); helloLeft -= t; n -= t; }
  rcGot += n;
  if (rcGot >= FRAME) { rcGot -= FRAME; const w = rcWake!; rcWake = null; w(); }
});
const rawCellOne = () => new Promise<void>((r) => { rcWake = r; rc.write(reqFrame); });
const cell = await connect(EchoCell, await connectUnix(join(dir, 'cell.sock')), { heartbeatMs: 0 });
const msg = { payload: new Uint8Array(PAYLOAD_BYTES).fill(0x5a) };
const into = { into: Msg.create() };
for (let r = 0; r < rounds; r++) {
  if (ONLY !== 'cell') await measure('raw', rawOne);
  if (ONLY !== 'raw') await measure('cell', () => cell.ping(msg, into));
  if (ONLY === '' || ONLY === 'rawcell') await measure('raw→cell', rawCellOne);
}
console.log(`load ${loadavg()[0]!.toFixed(2)}`);
raw.destroy();
rc.destroy();
await cell.close();
child.stdin!.end();
await new Promise((r) => child.once('exit', r));
rmSync(dir, { recursive: true, force: true });
