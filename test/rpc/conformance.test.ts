// RPC conformance vectors (test/vectors/rpc-conformance.json, written by
// test/vectors/generators/rpc-conformance.mts) run both ways:
//   host   — a Node server (serve() over a memory link), the test on the link's other end;
//   device — the firmware's RPC core (firmware/shared/rpc-core.ts) in the wasm build
//            (build/wasm/core.wasm, entry firmware/core/rpc-vectors.ts), the test playing the app.
// Each vector gets a fresh server; its first frame must be `announce`; `in` frames are sent in
// order, each `out` must be the next frame the server sends, and nothing may follow the last step.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { memoryPair } from '../../src/transports/memory.ts';
import { serve } from '../../src/rpc/index.ts';
import { HEADER_BYTES } from '../../src/wire/header.ts';
import { ERR_CODEC_TRUNCATED } from '../../src/wire/errors.ts';
import { ERROR_HEAD_BYTES } from '../../src/wire/layouts.ts';
import { readU32LE, writeU32LE } from '../../src/wire/bytes.ts';
import { deviceHello } from '../../firmware/shared/gen-cell.ts';
import { fromHex, toHex } from '../helpers/hex.ts';
import { ensureWasm, loadCore, type CoreWasm } from '../portable/wasm.ts';
import { ConformDef, CONFORM_MAX_FRAME_BYTES, OVERFLOW_CODE } from '../vectors/rpc-conformance-cell.ts';

type Side = 'host' | 'device';
interface Step { in?: string; out?: string; side?: Side }
interface Vector { name: string; sides: Side[]; steps: Step[] }
interface VectorFile { cell: string; maxFrameBytes: number; keys: Record<string, string>; announce: string; vectors: Vector[] }

const file = JSON.parse(readFileSync(new URL('../vectors/rpc-conformance.json', import.meta.url), 'utf8')) as VectorFile;
const OUT_WAIT_MS = 2000;
const SETTLE_MS = 30;
const LIMIT = 0xffffffff;

const meta = suite('rpc-conformance.json: the file');
meta('names the cell of test/vectors/rpc-conformance-cell.ts, with its keys', () => {
  assert.is(file.cell, ConformDef.name);
  assert.is(file.maxFrameBytes, CONFORM_MAX_FRAME_BYTES);
  for (const e of ConformDef.entries) assert.is(file.keys[e.name], e.key.toString(16).padStart(16, '0'), e.name);
  assert.ok(file.vectors.length >= 10);
  const kinds = new Set<number>();
  for (const v of file.vectors) for (const s of v.steps) for (const h of [s.in, s.out]) if (h) kinds.add(fromHex(h)[1]! & 0x0f);
  // HELLO, REQUEST, RESPONSE, ERROR, STREAM_ITEM, STREAM_END, CANCEL, PING, PONG, CREDIT, GOODBYE
  for (const k of [1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12]) assert.ok(kinds.has(k), `kind ${k} in some vector`);
});
meta('announce is the HELLO payload the firmware build embeds (firmware/shared/gen-cell.ts deviceHello)', () => {
  assert.is(file.announce.slice(HEADER_BYTES * 2), toHex(deviceHello(ConformDef, CONFORM_MAX_FRAME_BYTES)));
});
meta.run();

/** Steps of a vector for one side. */
const stepsFor = (v: Vector, side: Side): Step[] => v.steps.filter((s) => s.side === undefined || s.side === side);

// ---- host ----------------------------------------------------------------------------------

/** The frames a server sends, in order, with a wait for the next one. */
class Inbox {
  private readonly frames: string[] = [];
  private waiter: (() => void) | null = null;
  push(hex: string): void {
    this.frames.push(hex);
    this.waiter?.();
  }
  async next(what: string): Promise<string> {
    const deadline = Date.now() + OUT_WAIT_MS;
    while (this.frames.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new assert.Assertion({ message: `no frame within ${OUT_WAIT_MS} ms (expected ${what})`, operator: 'next', expects: what, actual: '' });
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => { clearTimeout(t); resolve(); };
      });
      this.waiter = null;
    }
    return this.frames.shift()!;
  }
  rest(): string[] {
    return this.frames.splice(0);
  }
}

async function runHost(v: Vector): Promise<void> {
  const [server, peer] = memoryPair({ mtu: CONFORM_MAX_FRAME_BYTES });
  const inbox = new Inbox();
  peer.start({
    onFrame(buf, off, len) { inbox.push(toHex(buf.subarray(off, off + len))); },
    onClose() {},
    onDrain() {},
  });
  const s = serve(ConformDef, {
    add(req, ctx) {
      const sum = req.a + req.b;
      if (sum > LIMIT) ctx.fail('overflow', { limit: LIMIT });
      return { sum };
    },
    *count(req) {
      for (let i = 0; i < req.n; i++) yield { i };
    },
  }, server, { heartbeatMs: 0, helloTimeoutMs: 0 });
  try {
    assert.is(await inbox.next('announce'), file.announce, 'the server announces itself first');
    let i = 0;
    for (const step of stepsFor(v, 'host')) {
      i++;
      if (step.in !== undefined) peer.send(fromHex(step.in));
      if (step.out !== undefined) assert.is(await inbox.next(step.out), step.out, `step ${i}`);
    }
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    assert.equal(inbox.rest(), [], 'nothing after the last step');
  } finally {
    await s.close();
    peer.close();
  }
}

const host = suite('rpc-conformance.json: a Node server (serve over a memory link)');
for (const v of file.vectors) {
  if (!v.sides.includes('host')) continue;
  host(v.name, () => runHost(v));
}
host.run();

// ---- device (the firmware core in the wasm build) ------------------------------------------

ensureWasm();
const wasm: CoreWasm = await loadCore();
const X = wasm.x;
const ENTRY_ADD = ConformDef.entries.findIndex((e) => e.name === 'add');
const ENTRY_COUNT = ConformDef.entries.findIndex((e) => e.name === 'count');

/** The app around the core, as firmware/thermo/app.ts is around RpcDevice: decode, serve, stream on credit. */
class DeviceApp {
  private next = 0;
  private count = 0;

  constructor() {
    const hello = deviceHello(ConformDef, CONFORM_MAX_FRAME_BYTES);
    wasm.input(hello);
    X.rpcInit!(hello.length, CONFORM_MAX_FRAME_BYTES);
  }

  /** Frames the core sent since the last call. */
  sent(): string[] {
    const n = X.rpcTxBytes!();
    const log = wasm.output(n);
    X.rpcTxClear!();
    const frames: string[] = [];
    for (let p = 0; p < n;) {
      const len = readU32LE(log, p);
      frames.push(toHex(log.subarray(p + 4, p + 4 + len)));
      p += 4 + len;
    }
    return frames;
  }

  ingest(frame: Uint8Array): void {
    wasm.memory8().set(frame, X.rpcReqPtr!());
    const e = X.rpcIngest!(frame.length);
    if (e >= 0) this.serve(e);
    this.tick();
  }

  private serve(e: number): void {
    const mem = wasm.memory8();
    const req = X.rpcReqPtr!();
    const out = X.rpcOutPtr!();
    const payload = mem.slice(req + HEADER_BYTES, req + X.rpcReqEnd!());
    const want = e === ENTRY_ADD ? 8 : 1;
    // The generated decoders' results: -300 when short, the bytes read when bytes are left over.
    if (payload.length !== want) { X.rpcMalformed!(payload.length < want ? -ERR_CODEC_TRUNCATED : want); return; }
    if (e === ENTRY_ADD) {
      const sum = readU32LE(payload, 0) + readU32LE(payload, 4);
      const res = new Uint8Array(4);
      if (sum > LIMIT) {
        writeU32LE(res, 0, LIMIT);
        wasm.memory8().set(res, out + HEADER_BYTES + ERROR_HEAD_BYTES);
        X.rpcFailApp!(OVERFLOW_CODE, 4);
      } else {
        writeU32LE(res, 0, sum);
        wasm.memory8().set(res, out + HEADER_BYTES);
        X.rpcRespond!(4);
      }
    } else if (e === ENTRY_COUNT) {
      X.rpcStreamStart!();
      this.next = 0;
      this.count = payload[0]!;
    }
  }

  /** The stream: one item per credit, STREAM_END after the last (thermo's tickSamples). */
  private tick(): void {
    while (X.rpcStreamActive!()) {
      if (this.next >= this.count) { X.rpcStreamEnd!(); return; }
      if (!X.rpcStreamReady!()) return;
      wasm.memory8()[X.rpcOutPtr!() + HEADER_BYTES] = this.next++;
      X.rpcStreamItem!(1);
    }
  }
}

const device = suite('rpc-conformance.json: the firmware RPC core (wasm build)');
device('entry indices: the app sees add and count in HELLO order, count is a stream', () => {
  new DeviceApp();
  assert.is(X.rpcIsStream!(ENTRY_ADD), 0);
  assert.is(X.rpcIsStream!(ENTRY_COUNT), 1);
});
for (const v of file.vectors) {
  if (!v.sides.includes('device')) continue;
  device(v.name, () => {
    const app = new DeviceApp();
    X.rpcAnnounce!();
    const pending = app.sent();
    assert.is(pending.shift(), file.announce, 'the device announces itself first');
    let i = 0;
    for (const step of stepsFor(v, 'device')) {
      i++;
      if (step.in !== undefined) { app.ingest(fromHex(step.in)); pending.push(...app.sent()); }
      if (step.out !== undefined) assert.is(pending.shift(), step.out, `step ${i}`);
    }
    assert.equal(pending, [], 'nothing after the last step');
  });
}
device.run();
