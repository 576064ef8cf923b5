// A client that sends requests and never reads the answers (docs/rpc.md §2 "Backpressure: a
// paused reader"): the server stops reading from it once its answers stop draining, so what it
// holds for that connection stays bounded, and it keeps answering its other clients meanwhile.
// The hostile writer is a plain `node -e` child (its own writes back up in its process, not in
// ours); the server and a well-behaved client run here. Bounded: 10^5 requests or 5 s.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, serve } from '../../src/rpc/index.ts';
import { splitKey } from '../../src/rpc/tables.ts';
import { connectUnix, listenUnix } from '../../src/transports/unix.ts';
import type { Link } from '../../src/transports/link.ts';
import { CHANNEL_APP, Header, HEADER_BYTES, KIND_REQUEST, writeHeader } from '../../src/wire/header.ts';
import { Echo, Thermo } from './fixtures/thermo.ts';
import { thermoImpl } from './fixtures/impl.ts';

const REQUESTS = 100_000;
const TEXT_BYTES = 2000;
/** What the server may hold for the never-reading connection: the link's high-water mark (1 MiB) + answers to one read chunk (64 KiB) + slack. */
const QUEUED_BOUND = 4 << 20;
/** RSS growth allowed while 10^5 answers of 2 kB (200 MB) are refused a reader. */
const RSS_BOUND = 96 << 20;

/** Bytes the server holds in its write path for `link`: the socket's backlog + what is staged. */
function queuedOf(link: Link): number {
  const l = link as unknown as { queuedBytes?: number; socket: { writableLength: number } };
  return l.queuedBytes ?? l.socket.writableLength;
}

/** One REQUEST frame to `echo` with a TEXT_BYTES string, as hex for the child. */
function echoFrame(): string {
  const e = Thermo.entries.find((x) => x.name === 'echo')!;
  const [lo, hi] = splitKey(e.key);
  const buf = new Uint8Array(HEADER_BYTES + Echo.maxSize);
  const n = Echo.tryEncode({ text: 'x'.repeat(TEXT_BYTES) }, buf, HEADER_BYTES);
  const h = new Header();
  h.kind = KIND_REQUEST; h.flags = 0; h.channel = CHANNEL_APP; h.callId = 7; h.keyLo = lo; h.keyHi = hi; h.length = n;
  writeHeader(h, buf, 0);
  return Buffer.from(buf.subarray(0, HEADER_BYTES + n)).toString('hex');
}

// The writer: REQUESTS frames in batches of 1000, waiting for 'drain' (so its own memory stays
// small), never reading; exits when the server drops it or all are written.
const WRITER = `
const net = require('node:net');
const [path, hex, total] = process.argv.slice(1);
const one = Buffer.from(hex, 'hex');
const batch = Buffer.concat(Array(1000).fill(one));
const s = net.connect(path);
let sent = 0;
s.on('error', () => {});
s.on('close', () => process.exit(0));
s.on('connect', function pump() {
  while (sent < +total) { sent += 1000; if (!s.write(batch)) { s.once('drain', pump); return; } }
  s.end();
});
`;

test('a client that never reads: the server pauses it, holds a bounded backlog, serves others', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cell-bp-'));
  const path = join(dir, 's.sock');
  const listener = await listenUnix(path);
  // helloTimeoutMs: the writer sends no HELLO, and before one the silence limit is at least this.
  const server = serve(Thermo, thermoImpl(), listener, { heartbeatMs: 500, helloTimeoutMs: 1000 });
  const links: Link[] = [];
  const accept = listener.onLink!;
  listener.onLink = (l) => { links.push(l); accept(l); };

  const good = await connect(Thermo, await connectUnix(path), { heartbeatMs: 500 });
  while (links.length < 1) await new Promise((r) => setTimeout(r, 1));
  global.gc?.();
  const rss0 = process.memoryUsage().rss;

  const child = spawn(process.execPath, ['-e', WRITER, path, echoFrame(), String(REQUESTS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const t0 = performance.now();
  let maxQueued = 0, maxRss = rss0, answered = 0, worstMs = 0, done = false;
  void exited.then(() => { done = true; });
  while (!done && performance.now() - t0 < 5000) {
    const c0 = performance.now();
    await good.read({ channel: 1 });
    worstMs = Math.max(worstMs, performance.now() - c0);
    answered++;
    if (links.length > 1) maxQueued = Math.max(maxQueued, queuedOf(links[1]!));
    maxRss = Math.max(maxRss, process.memoryUsage().rss);
    await new Promise((r) => setTimeout(r, 5));
  }
  const killed = !done;
  if (killed) child.kill('SIGKILL');
  await exited;
  const read = links[1]?.stats.framesIn ?? 0;
  console.log(`    never-reading client: the server read ${read} of its ${REQUESTS} requests of ${TEXT_BYTES} B in ${Math.round(performance.now() - t0)} ms; server held at most ${(maxQueued / 1048576).toFixed(2)} MiB for it, RSS +${((maxRss - rss0) / 1048576).toFixed(1)} MiB; other client: ${answered} calls answered, slowest ${worstMs.toFixed(1)} ms`);
  await good.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
  assert.ok(!killed, 'the server dropped the writer (heartbeat: it reads nothing from a paused peer)');
  assert.ok(read < REQUESTS, `the server read all ${read} requests of a client that never reads`);
  assert.ok(answered >= 10, `the other client got ${answered} answers`);
  assert.ok(maxQueued <= QUEUED_BOUND, `server held ${maxQueued} bytes for a client that never reads (bound ${QUEUED_BOUND})`);
  assert.ok(maxRss - rss0 <= RSS_BOUND, `server RSS grew by ${maxRss - rss0} bytes (bound ${RSS_BOUND})`);
});

test.run();
