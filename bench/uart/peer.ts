// The far end of the UART benchmarks, in its own process (as a device or a gateway would be):
//   node --import tsx bench/uart/peer.ts echo   <tty>            raw serialport echo
//   node --import tsx bench/uart/peer.ts echofd <tty>            raw echo on the port's fd (readSync/writeSync
//                                                                on the Poller's 'readable': the I/O UartIo does)
//   node --import tsx bench/uart/peer.ts source <tty>            raw: on stdin "send N", write N bytes
//   node --import tsx bench/uart/peer.ts cell   <tty> [paceBaud] serveUart(UartBenchCell)
//   node --import tsx bench/uart/peer.ts cellsec <tty>           the same, as a secured device (docs/security.md)
// Prints one line "ready" on stdout once the port is open; exits when stdin closes.
import { createInterface } from 'node:readline';
import { readSync, writeSync } from 'node:fs';
import { SerialPort } from 'serialport';
import { serveUart } from '../../src/uart/index.ts';
import { writeProvision } from '../../src/secure/provision.ts';
import { deviceKeyFromFleet } from '../../src/transports/secure-keys.ts';
import type { Impl } from '../../src/rpc/index.ts';
import { UartBenchCell, CHUNK_BYTES, BLOCK_BYTES, fillByte, BENCH_FLEET_KEY, BENCH_DEVICE_ID } from './uart-cell.ts';

const [mode, path, pace] = process.argv.slice(2);
if (!mode || !path) { process.stderr.write('usage: peer.ts echo|source|cell <tty> [paceBaud]\n'); process.exit(2); }

function openRaw(p: string): Promise<SerialPort> {
  return new Promise((res, rej) => {
    const port = new SerialPort({ path: p, baudRate: 115200, autoOpen: false });
    port.open((e) => (e ? rej(e) : res(port)));
  });
}

const cleanup: (() => Promise<void> | void)[] = [];
createInterface({ input: process.stdin }).on('close', async () => {
  for (const c of cleanup) await c();
  process.exit(0);
});

if (mode === 'echo') {
  const port = await openRaw(path);
  port.on('data', (d: Buffer) => port.write(d));
  cleanup.push(() => new Promise<void>((r) => port.close(() => r())));
} else if (mode === 'echofd') {
  const port = await openRaw(path);
  const b = (port as unknown as { port: { fd: number; poller: { once(ev: 'readable', fn: (err: Error | null) => void): void } } }).port;
  const buf = Buffer.allocUnsafe(65536);
  const onReadable = (err: Error | null): void => {
    if (err !== null || !port.isOpen) return;
    // one read per wake-up, as UartIo does when a read comes back short (no EAGAIN thrown)
    let n = 0;
    const lim = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try { n = readSync(b.fd, buf, 0, buf.length, null); } catch { /* EAGAIN: a spurious wake-up */ } finally { Error.stackTraceLimit = lim; }
    // a few dozen bytes: the pty takes them at once (echo tests only)
    let off = 0;
    while (off < n) { try { off += writeSync(b.fd, buf, off, n - off); } catch { /* EAGAIN: retry */ } }
    b.poller.once('readable', onReadable);
  };
  b.poller.once('readable', onReadable);
  cleanup.push(() => new Promise<void>((r) => port.close(() => r())));
} else if (mode === 'source') {
  const port = await openRaw(path);
  const block = Buffer.alloc(65536, 0x5a);
  createInterface({ input: process.stdin }).on('line', (l) => {
    const m = /^send (\d+)$/.exec(l.trim());
    if (!m) return;
    let left = Number(m[1]);
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, block.length);
        left -= n;
        if (!port.write(block.subarray(0, n))) { port.once('drain', pump); return; }
      }
    };
    pump();
  });
  cleanup.push(() => new Promise<void>((r) => port.close(() => r())));
} else if (mode === 'cell' || mode === 'cellsec') {
  const chunk = { data: Uint8Array.from({ length: CHUNK_BYTES }, (_, i) => fillByte(i)) };
  const block = { data: Uint8Array.from({ length: BLOCK_BYTES }, (_, i) => fillByte(i)) };
  const tick = { i: 0, v: 0 };
  const impl: Impl<typeof UartBenchCell> = {
    ping(req) { return req; },
    // The same object every item: the server encodes an item when it is yielded.
    *bulk(req) { for (let i = 0; i < req.count; i++) yield chunk; },
    *blocks(req) { for (let i = 0; i < req.count; i++) yield block; },
    *ticks(req) { for (let i = 0; i < req.count; i++) { tick.i = i; tick.v = i / 4; yield tick; } },
  };
  // cellsec: the same cell as a provisioned device (sealed frames; a new boot counter per start).
  let security: { record: Uint8Array; bootCounter: number } | undefined;
  if (mode === 'cellsec') {
    const record = new Uint8Array(64);
    writeProvision(BENCH_DEVICE_ID, deviceKeyFromFleet(BENCH_FLEET_KEY, BENCH_DEVICE_ID), record, 0);
    security = { record, bootCounter: Date.now() >>> 0 };
  }
  const srv = serveUart(UartBenchCell, impl, { path, heartbeatMs: 0, paceBaud: Number(pace ?? 0), ...(security !== undefined ? { security } : {}) });
  cleanup.push(() => srv.close());
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
process.stdout.write('ready\n');
