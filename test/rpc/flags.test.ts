// Frames flagged AUTH, ENCRYPTED or MORE (docs/wire-format.md §2.2): no link implements them
// yet, so a connection drops them unread, counts them (stats.unsupportedFlags, error 107) and
// never answers them; the unflagged last fragment of a refused MORE message is dropped too.
// The reasons are in Connection.refuseFlagged (src/rpc/connection.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createConnection } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryPair, type MemoryLink } from '../../src/transports/memory.ts';
import { listenUnix } from '../../src/transports/unix.ts';
import { connect, serve, RpcCode, type Connection, type Impl } from '../../src/rpc/index.ts';
import { encodeHello, PROTOCOL_VERSION } from '../../src/rpc/payloads.ts';
import {
  FLAG_AUTH, FLAG_ENCRYPTED, FLAG_MORE, CHANNEL_CONTROL, Header, HEADER_BYTES, KIND_CANCEL, KIND_EVENT, KIND_GOODBYE, KIND_HELLO,
  KIND_PING, KIND_REQUEST, KIND_RESPONSE, readHeader, writeHeader,
} from '../../src/wire/header.ts';
import { ERR_WIRE_FLAGS_UNSUPPORTED } from '../../src/wire/errors.ts';
import { Thermo, ReadReq, Reading, Alarm, SleepReq } from './fixtures/thermo.ts';
import { thermoImpl, type ImplLog } from './fixtures/impl.ts';

const tick = (ms = 2) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2500 && !cond(); i++) await tick();
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}
const code = (e: unknown): number => (e as { code: number }).code;
const entry = (name: string) => Thermo.entries.find((e) => e.name === name)!;
const enc = (codec: { maxSize: number; tryEncode(v: never, b: Uint8Array, o: number): number }, v: unknown): Uint8Array => {
  const b = new Uint8Array(codec.maxSize);
  return b.subarray(0, codec.tryEncode(v as never, b, 0));
};

function frame(kind: number, id: number, key: bigint, payload: Uint8Array, flags = 0, channel = 0): Uint8Array {
  const f = new Uint8Array(HEADER_BYTES + payload.length);
  const h = new Header();
  h.kind = kind; h.flags = flags; h.channel = channel; h.callId = id;
  h.keyLo = Number(key & 0xffffffffn); h.keyHi = Number(key >> 32n); h.length = payload.length;
  writeHeader(h, f, 0); f.set(payload, HEADER_BYTES);
  return f;
}

/** A peer that sends frames by hand and records what comes back. */
function rawPeer(link: MemoryLink) {
  const got: Header[] = [];
  link.start({
    onFrame: (buf, off, len) => { const h = new Header(); readHeader(buf, off, len, 1 << 20, h); got.push(h); },
    onClose: () => {},
  });
  const send = (kind: number, id: number, key: bigint, payload: Uint8Array, flags = 0, channel = 0): void => {
    link.send(frame(kind, id, key, payload, flags, channel));
  };
  const hello = (): void => send(KIND_HELLO, 0, 0n, encodeHello({ version: PROTOCOL_VERSION, flags: 3, heartbeatMs: 0, maxFrameBytes: 65536, cellName: 'thermo', entries: Thermo.entries }));
  return { got, send, hello };
}

/** A Thermo server whose `read` calls are counted, fed by a raw peer. */
function server() {
  const [a, b] = memoryPair();
  const reads: number[] = [];
  const log: ImplLog = { cancelled: 0, streamReturned: 0, maxBuffered: 0 };
  const base = thermoImpl(log);
  const impl: Impl<typeof Thermo> = { ...base, read: (req, ctx) => { reads.push(req.channel); return base.read(req, ctx); } };
  const srv = serve(Thermo, impl, b, { heartbeatMs: 0 });
  const conn = [...srv.connections][0]!;
  const raw = rawPeer(a);
  raw.hello();
  return { raw, conn, reads, log };
}

const REQ = enc(ReadReq, { channel: 3 });
const answers = (got: Header[]) => got.filter((h) => h.kind !== KIND_HELLO);

// ---------------------------------------------------------------------------------------------
const serving = suite('flags AUTH, ENCRYPTED, MORE: serving side');

for (const [name, flag] of [['AUTH', FLAG_AUTH], ['ENCRYPTED', FLAG_ENCRYPTED], ['MORE', FLAG_MORE]] as const) {
  serving(`a REQUEST flagged ${name} is not served, not answered, and counted; the next plain one is served`, async () => {
    const { raw, conn, reads } = server();
    raw.send(KIND_REQUEST, 5, entry('read').key, REQ, flag);
    if (flag === FLAG_MORE) raw.send(KIND_REQUEST, 5, entry('read').key, new Uint8Array(0)); // its (empty) last fragment
    raw.send(KIND_REQUEST, 6, entry('read').key, REQ);
    await until(() => answers(raw.got).length === 1, 'the answer to the plain request');
    await tick(5);
    assert.equal(reads, [3], 'only the plain request reached the handler');
    assert.equal(answers(raw.got).map((h) => [h.kind, h.callId]), [[KIND_RESPONSE, 6]], 'nothing answers the flagged request');
    assert.is(conn.stats.unsupportedFlags, flag === FLAG_MORE ? 2 : 1);
    assert.is(conn.stats.callsIn, 1);
    assert.is(conn.stats.errorsOut, 0);
    assert.ok(conn.isOpen, 'the connection stays open');
  });
}

serving('flags on the control channel: a flagged describe REQUEST is not answered', async () => {
  const { raw, conn } = server();
  raw.send(KIND_REQUEST, 9, 1n, new Uint8Array(0), FLAG_ENCRYPTED, CHANNEL_CONTROL);
  raw.send(KIND_REQUEST, 10, 1n, new Uint8Array(0), 0, CHANNEL_CONTROL);
  await until(() => answers(raw.got).length === 1, 'the describe answer');
  await tick(5);
  assert.equal(answers(raw.got).map((h) => h.callId), [10]);
  assert.is(conn.stats.unsupportedFlags, 1);
});

serving('a fragmented REQUEST is dropped whole: every MORE fragment and the unflagged last one, which is never read as a request', async () => {
  const { raw, conn, reads } = server();
  const key = entry('read').key;
  raw.send(KIND_REQUEST, 7, key, new Uint8Array([1]), FLAG_MORE);
  raw.send(KIND_REQUEST, 7, key, new Uint8Array([2]), FLAG_MORE | FLAG_ENCRYPTED);
  // The last fragment: no flags, and a payload that decodes as a whole ReadReq on its own.
  raw.send(KIND_REQUEST, 7, key, enc(ReadReq, { channel: 4 }));
  // After it, call id 7 is an ordinary call again.
  raw.send(KIND_REQUEST, 7, key, enc(ReadReq, { channel: 5 }));
  await until(() => answers(raw.got).length === 1, 'one answer');
  await tick(5);
  assert.equal(reads, [5], 'the last fragment did not reach the handler');
  assert.is(conn.stats.unsupportedFlags, 3);
  assert.is(conn.stats.callsIn, 1);
});

serving('fragments of two messages interleaved, and a plain frame of another call between them', async () => {
  const { raw, conn, reads } = server();
  const key = entry('read').key;
  raw.send(KIND_REQUEST, 1, key, new Uint8Array([9]), FLAG_MORE);
  raw.send(KIND_REQUEST, 2, key, new Uint8Array([9]), FLAG_MORE);
  raw.send(KIND_REQUEST, 3, key, enc(ReadReq, { channel: 3 })); // another call: served
  raw.send(KIND_REQUEST, 2, key, enc(ReadReq, { channel: 2 })); // last fragment of 2
  raw.send(KIND_REQUEST, 1, key, enc(ReadReq, { channel: 1 })); // last fragment of 1
  raw.send(KIND_REQUEST, 4, key, enc(ReadReq, { channel: 4 }));
  await until(() => answers(raw.got).length === 2, 'two answers');
  await tick(5);
  assert.equal(reads, [3, 4]);
  assert.equal(answers(raw.got).map((h) => h.callId), [3, 4]);
  assert.is(conn.stats.unsupportedFlags, 4);
});

serving('a peer with more than 64 refused fragmented messages open at once is closed on', async () => {
  const { raw, conn } = server();
  const key = entry('read').key;
  for (let id = 1; id <= 64; id++) raw.send(KIND_REQUEST, id, key, new Uint8Array([1]), FLAG_MORE);
  await until(() => conn.stats.unsupportedFlags === 64, '64 refused fragments');
  assert.ok(conn.isOpen, '64 are tracked');
  raw.send(KIND_REQUEST, 65, key, new Uint8Array([1]), FLAG_MORE);
  await conn.closed;
  assert.not.ok(conn.isOpen);
});

serving('a flagged CANCEL does not cancel the call it names; a flagged GOODBYE does not end the connection; a flagged PING gets no PONG', async () => {
  const { raw, conn, log } = server();
  const sleep = entry('sleep');
  raw.send(KIND_REQUEST, 11, sleep.key, enc(SleepReq, { ms: 30 }));
  await until(() => conn.serving_ === 1, 'the call to arrive');
  raw.send(KIND_CANCEL, 11, sleep.key, new Uint8Array(0), FLAG_AUTH);
  raw.send(KIND_GOODBYE, 0, 0n, new Uint8Array(0), FLAG_AUTH, CHANNEL_CONTROL);
  raw.send(KIND_PING, 0, 0n, new Uint8Array(0), FLAG_AUTH, CHANNEL_CONTROL);
  await until(() => answers(raw.got).length === 1, 'the sleep answer');
  assert.equal(answers(raw.got).map((h) => [h.kind, h.callId]), [[KIND_RESPONSE, 11]]);
  assert.is(log.cancelled, 0);
  assert.ok(conn.isOpen, 'GOODBYE ignored');
  assert.is(conn.stats.unsupportedFlags, 3);
});

serving('over a length-framed stream (Unix socket, header parsed by the link): refused the same way, and the stream stays in step', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cell-flags-'));
  const path = join(dir, 's.sock');
  try {
    const reads: number[] = [];
    const base = thermoImpl();
    const impl: Impl<typeof Thermo> = { ...base, read: (req, ctx) => { reads.push(req.channel); return base.read(req, ctx); } };
    const srv = serve(Thermo, impl, await listenUnix(path), { heartbeatMs: 0 });
    const sock = createConnection(path);
    const got: number[] = [];
    let rx = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      rx = Buffer.concat([rx, d]);
      while (rx.length >= HEADER_BYTES) {
        const h = new Header();
        readHeader(rx, 0, -1, 1 << 20, h);
        if (rx.length < HEADER_BYTES + h.length) break;
        if (h.kind !== KIND_HELLO) got.push(h.callId);
        rx = rx.subarray(HEADER_BYTES + h.length);
      }
    });
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const key = entry('read').key;
    sock.write(Buffer.concat([
      frame(KIND_REQUEST, 1, key, REQ, FLAG_ENCRYPTED),
      frame(KIND_REQUEST, 2, key, enc(ReadReq, { channel: 2 })),
    ]));
    await until(() => got.length === 1, 'the plain call answered');
    assert.equal(got, [2]);
    assert.equal(reads, [2]);
    const conn = [...srv.connections][0] as Connection;
    assert.is(conn.stats.unsupportedFlags, 1);
    sock.destroy();
    await srv.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
const calling = suite('flags AUTH, ENCRYPTED, MORE: calling side');

/** A client connected to a raw peer that has said HELLO. */
async function client(opts: Record<string, unknown> = {}) {
  const [a, b] = memoryPair();
  const raw = rawPeer(b);
  raw.hello();
  const t = await connect(Thermo, a, { heartbeatMs: 0, ...opts });
  return { raw, t, conn: t.connection };
}

calling('a flagged RESPONSE is not read and does not end the call: it ends at its deadline (Timeout)', async () => {
  const { raw, t, conn } = await client();
  const p = t.read({ channel: 1 }, { deadlineMs: 60 });
  await until(() => raw.got.some((h) => h.kind === KIND_REQUEST), 'the REQUEST');
  const req = raw.got.find((h) => h.kind === KIND_REQUEST)!;
  const body = enc(Reading, { channel: 1, temp: 20.5, seq: 1 });
  raw.send(KIND_RESPONSE, req.callId, entry('read').key, body, FLAG_ENCRYPTED);
  await tick(10);
  assert.is(conn.inFlight, 1, 'still waiting');
  await p.then(() => assert.unreachable(), (e) => assert.is(code(e), RpcCode.Timeout));
  assert.is(conn.stats.unsupportedFlags, 1);
  await t.close();
});

calling('a flagged EVENT is not delivered; a plain one is', async () => {
  const { raw, t, conn } = await client();
  const seen: number[] = [];
  t.on('alarm', (v) => seen.push(v.level));
  raw.send(KIND_EVENT, 0, entry('alarm').key, enc(Alarm, { level: 1, msg: 'x' }), FLAG_AUTH);
  raw.send(KIND_EVENT, 0, entry('alarm').key, enc(Alarm, { level: 2, msg: 'y' }));
  await until(() => seen.length === 1, 'the plain event');
  await tick(5);
  assert.equal(seen, [2]);
  assert.is(conn.stats.unsupportedFlags, 1);
  await t.close();
});

calling('a flagged HELLO: connect fails Unavailable at once, detail.cause 107, without waiting for the HELLO timeout', async () => {
  const [a, b] = memoryPair();
  const raw = rawPeer(b);
  raw.send(KIND_HELLO, 0, 0n, encodeHello({ version: PROTOCOL_VERSION, flags: 3, heartbeatMs: 0, maxFrameBytes: 65536, cellName: 'thermo', entries: Thermo.entries }), FLAG_ENCRYPTED);
  const t0 = Date.now();
  await connect(Thermo, a, { heartbeatMs: 0, helloTimeoutMs: 5000 }).then(() => assert.unreachable(), (e) => {
    assert.is(code(e), RpcCode.Unavailable);
    assert.is((e as { detail: { cause: number } }).detail.cause, ERR_WIRE_FLAGS_UNSUPPORTED);
    assert.match((e as Error).message, /ENCRYPTED/);
  });
  assert.ok(Date.now() - t0 < 1000, 'not after helloTimeoutMs');
});

serving.run();
calling.run();
