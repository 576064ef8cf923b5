// Fair serving (docs/rpc.md §3.5 "Fair serving"): a client with many streams, unlimited credit
// and a fast reader must not starve the other connections of the same server. The greedy reader
// is a plain `node -e` child that opens the streams with raw frames and discards what it reads
// (a reader faster than any decoder); the server and a one-shot caller run here. The bound is generous (tests never assert tight wall-clock figures): before the stream
// pumps yielded to the event loop, the one-shot call took 0.2–7 s.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { connect, serve, type Impl } from '../../src/rpc/index.ts';
import { connectUnix, listenUnix } from '../../src/transports/unix.ts';
import { splitKey } from '../../src/rpc/tables.ts';
import { CHANNEL_APP, Header, HEADER_BYTES, KIND_CREDIT, KIND_REQUEST, writeHeader } from '../../src/wire/header.ts';
import { SampleReq } from './fixtures/thermo.ts';
import { Thermo } from './fixtures/thermo.ts';
import { thermoImpl } from './fixtures/impl.ts';

const STREAMS = 1000;
const CALLS = 20;
const BOUND_MS = 500;

/** REQUEST + CREDIT (2^31 items) of STREAMS endless `samples` streams, as raw frames. */
function streamFrames(): Uint8Array {
  const e = Thermo.entries.find((x) => x.name === 'samples')!;
  const [lo, hi] = splitKey(e.key);
  const out = new Uint8Array(STREAMS * (2 * HEADER_BYTES + SampleReq.maxSize + 4));
  const h = new Header();
  let p = 0;
  for (let id = 1; id <= STREAMS; id++) {
    const n = SampleReq.tryEncode({ count: 0xffffffff, failAt: 0 }, out, p + HEADER_BYTES);
    h.kind = KIND_REQUEST; h.flags = 0; h.channel = CHANNEL_APP; h.callId = id; h.keyLo = lo; h.keyHi = hi; h.length = n;
    writeHeader(h, out, p); p += HEADER_BYTES + n;
    h.kind = KIND_CREDIT; h.length = 4;
    writeHeader(h, out, p); new DataView(out.buffer).setUint32(p + HEADER_BYTES, 0x7fffffff, true); p += HEADER_BYTES + 4;
  }
  return out.subarray(0, p);
}

// The greedy reader: sends the frames, then reads and discards as fast as the socket delivers.
const GREEDY = `
const net = require('node:net');
const [path, frames] = process.argv.slice(1);
const s = net.connect(path);
s.on('error', () => {});
s.on('data', () => {});
s.on('connect', () => { s.write(require('node:fs').readFileSync(frames)); console.log('ready'); });
`;

test('a greedy stream reader does not starve a one-shot caller on another connection', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cell-fair-'));
  const path = join(dir, 's.sock');
  // A synchronous generator: each item is ready at once, so nothing but the pump's budget yields.
  const impl: Impl<typeof Thermo> = { ...thermoImpl(), *samples(req) { for (let i = 0; i < req.count; i++) yield { i, v: 0.5 }; } };
  const server = serve(Thermo, impl, await listenUnix(path), { heartbeatMs: 0 });
  const frames = join(dir, 'frames.bin');
  writeFileSync(frames, streamFrames());
  const child = spawn(process.execPath, ['-e', GREEDY, path, frames], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    await new Promise<void>((res, rej) => {
      child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) res(); });
      child.once('exit', () => rej(new Error('greedy client exited')));
    });
    await new Promise((r) => setTimeout(r, 300)); // the streams are running
    const times: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < CALLS && performance.now() - t0 < 15000; i++) {
      // A new connection per call, as a separate one-shot process would: connect + HELLO + call.
      const c0 = performance.now();
      const t = await connect(Thermo, await connectUnix(path), { heartbeatMs: 0, deadlineMs: 20000 });
      await t.read({ channel: 1 });
      times.push(performance.now() - c0);
      await t.close();
    }
    times.sort((a, b) => a - b);
    const med = times[times.length >> 1]!, worst = times[times.length - 1]!;
    console.log(`    one-shot connect+call next to ${STREAMS} greedy streams: ${times.length} calls, median ${med.toFixed(1)} ms, worst ${worst.toFixed(1)} ms (bound ${BOUND_MS} ms)`);
    assert.is(times.length, CALLS);
    assert.ok(worst < BOUND_MS, `a one-shot call took ${worst.toFixed(0)} ms next to a greedy streamer`);
  } finally {
    child.kill('SIGKILL');
    await exited;
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
