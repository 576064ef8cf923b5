// StreamLink with and without the wasm framing accelerator (src/framing/wasm-accel.ts): the same
// bytes on the wire for the same sends, each side deframes the other's, and the JS path still
// passes the compliance suite (stream.test.ts runs it with the accelerator, the default).
import { PassThrough, Writable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { StreamLink } from '../../src/transports/stream.ts';
import { wasmFramingAvailable } from '../../src/framing/wasm-accel.ts';
import { ensureWasm } from '../portable/wasm.ts';
import { prng } from '../helpers/prng.ts';
import { rawSocketPair } from './helpers.ts';
import { complianceSuite, makeFrame, type LinkPair } from './compliance.ts';

ensureWasm();

async function jsStreamPair(): Promise<LinkPair> {
  const [sa, sb, close] = await rawSocketPair();
  const a = new StreamLink(sa, { reliable: true, mtu: 65536, wasmFraming: false });
  const b = new StreamLink(sb, { reliable: true, mtu: 65536, wasmFraming: false });
  return { a, b, killB: () => { sb.destroy(); }, garbageToA: (bytes) => b.writeRaw(bytes), cleanup: close };
}
complianceSuite('stream, JS framing (wasmFraming: false)', { pair: jsStreamPair });

const MTU = 5000;

/** A link whose writes are collected; `input` feeds its reader. */
function link(wasmFraming: boolean) {
  const input = new PassThrough();
  const written: Buffer[] = [];
  // Kept as written, not copied: the link must not reuse a buffer it has handed to the writable.
  const output = new Writable({ write(chunk: Buffer, _enc, cb) { written.push(chunk); cb(); } });
  const l = new StreamLink({ readable: input, writable: output }, { mtu: MTU, wasmFraming, batchBytes: 3000 });
  const frames: Uint8Array[] = [];
  l.start({ onFrame: (buf, off, len) => frames.push(buf.slice(off, off + len)), onClose: () => {} });
  return { l, input, written, frames };
}

const wire = suite('StreamLink: accelerator on and off');
wire('same wire bytes for the same sends, and each deframes the other\'s', async () => {
  assert.ok(wasmFramingAvailable(), 'build/wasm/framing-accel.wasm was built');
  const rnd = prng(0x5eed);
  const w = link(true);
  const j = link(false);
  const big = new Uint8Array(2 * MTU);
  const sent: Uint8Array[] = [];
  for (let k = 0; k < 400; k++) {
    const len = k < 20 ? k : Math.floor(rnd() * (MTU - 20));
    const f = makeFrame(k, len);
    sent.push(f);
    if (k % 3 === 0) {
      // from a larger buffer (the connection's send buffer): only [0, len) is the frame
      big.set(f);
      big.fill(0xaa, f.length);
      w.l.send(big, f.length);
      j.l.send(big, f.length);
    } else {
      w.l.send(f);
      j.l.send(f);
    }
    if (k % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setImmediate(r));
  const bw = Buffer.concat(w.written);
  const bj = Buffer.concat(j.written);
  assert.ok(bw.length > 100_000);
  assert.ok(bw.equals(bj), 'the accelerated link wrote other bytes than the JS one');
  // Cross: the wasm link reads the JS link's bytes and vice versa, in odd-sized chunks.
  for (const [from, to] of [[bj, w], [bw, j]] as const) {
    for (let at = 0; at < from.length;) {
      const n = 1 + Math.floor(rnd() * 9000);
      to.input.write(from.subarray(at, at + n));
      at += n;
    }
    await new Promise((r) => setTimeout(r, 20));
    assert.is(to.frames.length, sent.length);
    to.frames.forEach((f, i) => assert.equal(f, sent[i], `frame ${i}`));
  }
  w.l.close();
  j.l.close();
});

wire('a PassThrough between two links (it keeps the chunks it passed on): nothing is overwritten', async () => {
  for (const wasmFraming of [false, true]) {
    const pipe = new PassThrough();
    const tx = new StreamLink({ readable: new PassThrough(), writable: pipe }, { mtu: MTU, wasmFraming, batchBytes: 3000 });
    const rx = new StreamLink({ readable: pipe, writable: new PassThrough() }, { mtu: MTU, wasmFraming });
    tx.start({ onFrame: () => {}, onClose: () => {} });
    const sent: Uint8Array[] = [];
    for (let k = 0; k < 200; k++) {
      const f = makeFrame(k, (k * 37) % 2000);
      sent.push(f);
      tx.send(f);
      if (k % 10 === 0) await new Promise((r) => setImmediate(r)); // flushes while nothing reads
    }
    await new Promise((r) => setImmediate(r));
    const got: Uint8Array[] = [];
    rx.start({ onFrame: (buf, off, len) => got.push(buf.slice(off, off + len)), onClose: () => {} }); // reads only now
    await new Promise((r) => setTimeout(r, 20));
    assert.is(got.length, sent.length, `wasmFraming ${wasmFraming}: ${rx.stats.errMalformed ?? 0} malformed`);
    got.forEach((f, i) => assert.equal(f, sent[i], `wasmFraming ${wasmFraming}: frame ${i}`));
    tx.close();
    rx.close();
  }
});
wire.run();
