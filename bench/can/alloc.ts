// Allocation of the CAN link's frame path after warm-up (method of bench/lib/alloc.ts: GC counts
// and heap growth over many iterations, never time). Two CanBus nodes joined by a synchronous
// driver pair (a frame sent by one is handed to the other's onFrame at once), so what is measured
// is the profile's code alone — compact header, call table, segmentation, reassembly, expansion —
// not a bus simulation. One iteration is a call: a compact REQUEST node 1 → node 10 (call table
// opens a transfer id, key check, one frame or several), the RESPONSE back (compact port from
// the call id, reassembly, the call table maps it back and frees the transfer id).
// Shared by test/bench/can-alloc.test.ts and bench/can/can.bench.ts.
import { measureGc, type GcReport } from '../lib/alloc.ts';
import { CanBus } from '../../src/transports/can/bus.ts';
import { CanDriverStats, type CanDriver, type CanDriverHandlers } from '../../src/transports/can/driver.ts';
import { encodeHello } from '../../src/rpc/payloads.ts';
import { HEADER_BYTES, Header, KIND_HELLO, KIND_REQUEST, writeHeader } from '../../src/wire/header.ts';
import { HELLO_FLAG_SERVING } from '../../src/wire/layouts.ts';
import { ThermoDef } from '../../firmware/thermo/schema.ts';

/** A driver whose frames go straight to its twin's onFrame, synchronously. */
class SyncDriver implements CanDriver {
  readonly name: string;
  readonly fd: boolean;
  readonly stats = new CanDriverStats();
  readonly state = 'error-active' as const;
  readonly closed = false;
  twin: SyncDriver | null = null;
  private h: CanDriverHandlers | null = null;
  constructor(name: string, fd: boolean) { this.name = name; this.fd = fd; }
  start(h: CanDriverHandlers): void { this.h = h; }
  send(id: number, flags: number, data: Uint8Array, off: number, len: number): boolean {
    this.stats.framesOut++;
    this.twin!.h!.onFrame(id, flags, data, off, len, 0);
    return true;
  }
  close(): void {}
}

export interface CanAllocReport { classic: GcReport; fd: GcReport; framesPerCallClassic: number; framesPerCallFd: number }

function pairOf(fd: boolean, payloadBytes: number) {
  const da = new SyncDriver('a', fd), db = new SyncDriver('b', fd);
  da.twin = db; db.twin = da;
  const a = new CanBus(da, { node: 1, fd }), b = new CanBus(db, { node: 10, fd });
  a.start(); b.start();
  const la = a.peer(10), lb = b.peer(1);
  const entry = ThermoDef.entries[0]!;
  const h = new Header();
  // The device's HELLO, so both ends know its table (ports).
  const hello = encodeHello({ version: 1, flags: HELLO_FLAG_SERVING, heartbeatMs: 0, maxFrameBytes: 512, cellName: ThermoDef.name, entries: ThermoDef.entries });
  const helloFrame = new Uint8Array(HEADER_BYTES + hello.length);
  h.kind = KIND_HELLO; h.length = hello.length;
  writeHeader(h, helloFrame, 0);
  helloFrame.set(hello, HEADER_BYTES);
  const req = new Uint8Array(HEADER_BYTES + payloadBytes);
  const res = new Uint8Array(HEADER_BYTES + payloadBytes);
  let answered = 0;
  let bad = 0;
  // The device answers each request at once, echoing its call id (compact: bit 31, port, tid).
  lb.start({
    onFrame(buf, off) {
      if (buf[off + 1]! !== 0x12) return; // a REQUEST: answer it with the same header, kind RESPONSE
      for (let i = 0; i < HEADER_BYTES; i++) res[i] = buf[off + i]!;
      res[1] = 0x13;
      lb.send(res);
    },
    onClose() {},
  });
  la.start({
    onFrame(buf, off) { const vk = buf[off + 1]!; if (vk === 0x13) answered++; else if (vk !== 0x11) bad++; },
    onClose() {},
  });
  lb.send(helloFrame);
  h.kind = KIND_REQUEST;
  h.keyLo = Number(entry.key & 0xffffffffn); h.keyHi = Number(entry.key >> 32n);
  h.length = payloadBytes;
  let callId = 1;
  const call = (): void => {
    h.callId = callId;
    callId = callId >= 0x3fffffff ? 1 : callId + 1;
    writeHeader(h, req, 0);
    la.send(req);
  };
  return { call, answered: () => answered, bad: () => bad, framesOut: () => a.stats.framesOut + b.stats.framesOut };
}

/** `calls` measured calls per mode (after warm-up). Payload 9 bytes: a thermo read's answer. */
export async function measureCanAlloc(calls = 1_000_000): Promise<CanAllocReport> {
  const out: Partial<CanAllocReport> = {};
  for (const fd of [false, true]) {
    const p = pairOf(fd, 9);
    const f0 = p.framesOut();
    p.call();
    const perCall = p.framesOut() - f0;
    const loop = (n: number): number => { for (let i = 0; i < n; i++) p.call(); return p.answered(); };
    const r = await measureGc(`CAN link call (${fd ? 'FD' : 'classic'})`, loop, calls);
    if (p.bad() !== 0 || p.answered() < calls) throw new Error(`CAN alloc: ${p.bad()} wrong frames, ${p.answered()} answers`);
    if (fd) { out.fd = r; out.framesPerCallFd = perCall; } else { out.classic = r; out.framesPerCallClassic = perCall; }
  }
  return out as CanAllocReport;
}

export function formatCanAlloc(r: CanAllocReport): string {
  const one = (g: GcReport, frames: number) => `${g.label}: ${g.iterations} calls (${frames} frames each), ${g.minor} scavenges, ${g.major} mark-compacts, heap ${g.heapGrowth >= 0 ? '+' : ''}${g.heapGrowth} B, ${g.nsPerIteration.toFixed(0)} ns/call`;
  return `${one(r.classic, r.framesPerCallClassic)}\n${one(r.fd, r.framesPerCallFd)}`;
}

// Run as a script (`node --import tsx bench/can/alloc.ts [calls]`): the report as one JSON line.
// test/bench/can-alloc.test.ts runs it in a fresh process, away from other suites' type feedback.
if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  const r = await measureCanAlloc(Number(process.argv[2] ?? 300_000));
  console.log(JSON.stringify({ ...r, text: formatCanAlloc(r) }));
}
