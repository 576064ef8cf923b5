// UART line behaviour over real socat ptys: garbage and damaged frames are counted in the link's
// stats and skipped (the session survives, no reconnect); pacing holds writes to the line rate;
// and, for information only, the RTT of a 32-byte call next to a raw serialport ping-pong.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startPtyPair, ptyUnavailable, type PtyPair } from '../../hw-tests/lib/pty.ts';
import { connectUart, openUart, serveUart, type UartClient, type UartLink, type UartServer } from '../../src/uart/index.ts';
import { connect, serve } from '../../src/rpc/index.ts';
import { frameEncode, frameMaxEncodedBytes } from '../../src/framing/frame.ts';
import { Thermo } from '../rpc/fixtures/thermo.ts';
import { thermoImpl } from '../rpc/fixtures/impl.ts';
import { makeFrame } from '../transports/compliance.ts';

function withTimeout<T>(p: Promise<T>, what: string, ms = 15_000): Promise<T> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`${what}: nothing within ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(t); res(v); }, (e) => { clearTimeout(t); rej(e); });
  });
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** 0x00 ‖ COBS(frame ‖ CRC) ‖ 0x00: the leading delimiter ends whatever noise came before. */
function encoded(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(frameMaxEncodedBytes(frame.length) + 1);
  return out.slice(0, 1 + frameEncode(frame, 0, frame.length, out, 1));
}

/** Index of a COBS data byte (not a code byte) at or after `from`, whose flip keeps it non-zero. */
function dataByteAt(enc: Uint8Array, from: number): number {
  for (let i = 1; i < enc.length && enc[i] !== 0; i += enc[i]!) {
    for (let j = i + 1; j < i + enc[i]!; j++) if (j >= from && (enc[j]! ^ 0x01) !== 0) return j;
  }
  throw new Error('no data byte');
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))]!;
}

const test = suite('uart line: garbage, pacing, RTT');
const missing = ptyUnavailable() ?? (await import('serialport').then(() => null, (e: Error) => `serialport not installed: ${e.message}`));

const pairs: PtyPair[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
test.after.each(async () => {
  for (const c of cleanups.splice(0).reverse()) await withTimeout(Promise.resolve(c()), 'cleanup').catch(() => {});
  for (const p of pairs.splice(0)) await p.close();
});

async function closeLinks(...links: UartLink[]): Promise<void> {
  for (const l of links) l.close();
  await until(() => links.every((l) => l.io.dead), 'ports closed', 3000).catch(() => {});
}

if (missing !== null) {
  console.log(`\n  uart line: SKIPPED — ${missing}\n`);
  test.skip('garbage, pacing, RTT over ptys', () => {});
} else {
  test('garbage and damaged frames are counted in the link stats; calls keep working, no reconnect', async () => {
    const pty = await startPtyPair();
    pairs.push(pty);
    const srv: UartServer<typeof Thermo> = serveUart(Thermo, thermoImpl(), { path: pty.pathB });
    cleanups.push(() => srv.close());
    const client: UartClient<typeof Thermo> = await withTimeout(connectUart(Thermo, { path: pty.pathA }), 'session');
    cleanups.push(() => client.close());
    const states: string[] = [];
    client.onState((s) => states.push(s));
    assert.is((await client.read({ channel: 1 })).channel, 1);
    const port = srv.sessions.port!;
    const stats = client.linkStats!;
    assert.is(stats, client.sessions.port!.stats); // one stats object: the port link's
    const calls = Array.from({ length: 50 }, (_, i) => client.read({ channel: i % 8 }));
    // Line noise with a delimiter in the middle.
    port.writeRaw(Uint8Array.from({ length: 64 }, (_, i) => (i === 10 ? 0 : (i * 37 + 11) & 0xff)));
    // A frame with one byte flipped: CRC mismatch.
    const bad = encoded(makeFrame(7, 40));
    bad[dataByteAt(bad, 20)] ^= 0x01;
    assert.is(bad[0], 0);
    port.writeRaw(bad);
    // A frame with a good CRC but no Cell header: malformed.
    port.writeRaw(encoded(new Uint8Array(24).fill(0x55)));
    // Longer than the client's 4096-byte maximum: oversize.
    port.writeRaw(encoded(makeFrame(8, 5000)));
    // Shorter than its CRC, and a COBS code that runs into the delimiter.
    port.writeRaw(Uint8Array.of(0x03, 0x11, 0x22, 0x00, 0x05, 0x11, 0x00));
    const results = await withTimeout(Promise.all(calls), 'calls during the noise');
    results.forEach((r, i) => assert.is(r.channel, i % 8));
    await until(() => stats.errCrc > 0 && stats.errMalformed > 0 && stats.errOversize > 0 && stats.errTooShort > 0 && stats.errCobs > 0, `every fault counted: ${JSON.stringify(stats)}`);
    for (let i = 0; i < 20; i++) assert.is((await client.read({ channel: i % 8 })).channel, i % 8);
    console.log(`    uart noise: errCrc ${stats.errCrc}, errCobs ${stats.errCobs}, errMalformed ${stats.errMalformed}, errOversize ${stats.errOversize}, errTooShort ${stats.errTooShort}; framesIn ${stats.framesIn}`);
    assert.equal(states, []);
    assert.is(client.sessionCount, 1);
    assert.not.ok(client.sessions.port!.closed);
  });

  test('paceBaud: writes leave no faster than the line rate (a pty would move them at once)', async () => {
    const pty = await startPtyPair();
    pairs.push(pty);
    const baud = 19200;
    const a = await openUart({ path: pty.pathA, paceBaud: baud });
    const b = await openUart({ path: pty.pathB });
    cleanups.push(() => closeLinks(a, b));
    let got = 0;
    b.start({ onFrame: () => { got++; }, onClose: () => {} });
    a.start({ onFrame: () => {}, onClose: () => {} });
    const frames = Array.from({ length: 10 }, (_, i) => makeFrame(i, 40));
    const t0 = performance.now();
    for (const f of frames) a.send(f);
    await until(() => got === frames.length, 'paced frames');
    const ms = performance.now() - t0;
    const bytes = a.stats.bytesOut + frames.length * 7; // + CRC, COBS and delimiters, roughly
    const lineMs = (bytes * 10 * 1000) / baud;
    console.log(`    uart pacing: ${frames.length} frames (~${bytes} B on the line) at ${baud} baud took ${ms.toFixed(0)} ms (line time ${lineMs.toFixed(0)} ms)`);
    // Pacing only ever slows writes down, so a lower bound cannot flake on a loaded machine.
    assert.ok(ms >= lineMs * 0.8, `paced writes took ${ms} ms, the line needs ${lineMs} ms`);
  });

  test('RTT of a 32-byte call vs a raw serialport ping-pong (informational)', async () => {
    const N = 400;
    const W = 50;
    // Raw: 32 bytes out, 32 bytes echoed back.
    const { SerialPort } = await import('serialport');
    const pty = await startPtyPair();
    pairs.push(pty);
    const open = (path: string) => new Promise<InstanceType<typeof SerialPort>>((res, rej) => {
      const p = new SerialPort({ path, baudRate: 115200, autoOpen: false });
      p.open((e) => (e ? rej(e) : res(p)));
    });
    const pa = await open(pty.pathA);
    const pb = await open(pty.pathB);
    cleanups.push(() => Promise.all([pa, pb].map((p) => new Promise<void>((r) => (p.isOpen ? p.close(() => r()) : r())))).then(() => {}));
    pb.on('data', (d: Buffer) => pb.write(d));
    const msg = Buffer.alloc(32, 0x5a);
    const raw: number[] = [];
    for (let i = 0; i < N + W; i++) {
      const t0 = performance.now();
      await new Promise<void>((res) => {
        let n = 0;
        const on = (d: Buffer) => { n += d.length; if (n >= 32) { pa.off('data', on); res(); } };
        pa.on('data', on);
        pa.write(msg);
      });
      if (i >= W) raw.push(performance.now() - t0);
    }
    // A call whose request payload is 32 bytes (echo: u32 length + 28 chars), over a plain UartLink pair.
    const text = 'x'.repeat(32 - Thermo.methods.echo.request.encodedSize({ text: '' }));
    assert.is(Thermo.methods.echo.request.encodedSize({ text }), 32);
    const pty2 = await startPtyPair();
    pairs.push(pty2);
    const la = await openUart({ path: pty2.pathA });
    const lb = await openUart({ path: pty2.pathB });
    const server = serve(Thermo, thermoImpl(), lb, { heartbeatMs: 0 });
    const c = await connect(Thermo, la, { heartbeatMs: 0 });
    cleanups.push(async () => { await c.close(); await server.close(); await closeLinks(la, lb); });
    const rpc: number[] = [];
    for (let i = 0; i < N + W; i++) {
      const t0 = performance.now();
      await c.echo({ text });
      if (i >= W) rpc.push(performance.now() - t0);
    }
    // The same through the reconnecting client (sessions + stable client object).
    const pty3 = await startPtyPair();
    pairs.push(pty3);
    const srv = serveUart(Thermo, thermoImpl(), { path: pty3.pathB, heartbeatMs: 0 });
    cleanups.push(() => srv.close());
    const dev = await withTimeout(connectUart(Thermo, { path: pty3.pathA, heartbeatMs: 0 }), 'session');
    cleanups.push(() => dev.close());
    const ses: number[] = [];
    for (let i = 0; i < N + W; i++) {
      const t0 = performance.now();
      await dev.echo({ text });
      if (i >= W) ses.push(performance.now() - t0);
    }
    const fmt = (xs: number[]) => `median ${pct(xs, 50).toFixed(3)} ms, p99 ${pct(xs, 99).toFixed(3)} ms`;
    console.log(`    uart RTT over a pty (${N} round trips):\n      raw serialport 32 B ping-pong: ${fmt(raw)}\n      32 B call, UartLink + connect/serve: ${fmt(rpc)}\n      32 B call, connectUart/serveUart:    ${fmt(ses)}`);
  });
}

test.run();
