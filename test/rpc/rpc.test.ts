// RPC semantics over the memory link (docs/rpc.md §3-5): every call ends with its answer or a
// typed error. No test asserts on wall-clock time; deadlines are only used to prove that an
// error came from somewhere else first (e.g. Unavailable before Timeout).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryPair, type MemoryLink } from '../../src/transports/memory.ts';
import { connect, serve, RpcCode, callError, type Client } from '../../src/rpc/index.ts';
import { encodeHello, PROTOCOL_VERSION } from '../../src/rpc/payloads.ts';
import { Header, HEADER_BYTES, KIND_ERROR, KIND_HELLO, KIND_REQUEST, readHeader, writeHeader } from '../../src/wire/header.ts';
import { readU16LE } from '../../src/wire/bytes.ts';
import { ERR_LINK_MTU_EXCEEDED } from '../../src/wire/errors.ts';
import { connectUnix, listenUnix } from '../../src/transports/unix.ts';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Thermo, ThermoV2, ReadReq } from './fixtures/thermo.ts';
import { thermoImpl, type ImplLog } from './fixtures/impl.ts';

const code = (e: unknown): number => (e as { code: number }).code;
const tick = (ms = 2) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2500 && !cond(); i++) await tick();
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

async function setup(opts: { heartbeatMs?: number; latencyMs?: number; client?: Record<string, unknown> } = {}) {
  const [a, b] = memoryPair({ latencyMs: opts.latencyMs ?? 0 });
  const log: ImplLog = { cancelled: 0, streamReturned: 0, maxBuffered: 0 };
  const server = serve(Thermo, thermoImpl(log), b, { heartbeatMs: opts.heartbeatMs ?? 0 });
  const t = await connect(Thermo, a, { heartbeatMs: opts.heartbeatMs ?? 0, ...opts.client });
  return { a, b, server, t, log };
}

// ---------------------------------------------------------------------------------------------
const unary = suite('unary calls');

unary('answers with the decoded response', async () => {
  const { t } = await setup();
  assert.equal(await t.read({ channel: 2 }), { channel: 2, temp: 21, seq: 1 });
  assert.equal(await t.greet({ who: 'ana' }), { text: 'hello ana', n: 3 });
  await t.close();
});

unary('decodes into the caller\'s object with `into`', async () => {
  const { t } = await setup();
  const out = { channel: 0, temp: 0, seq: 0 };
  const r = await t.read({ channel: 4 }, { into: out });
  assert.is(r, out);
  assert.is(out.channel, 4);
  await t.close();
});

unary('a declared error with a payload arrives typed: code, name, payload', async () => {
  const { t } = await setup();
  try {
    await t.read({ channel: 9 });
    assert.unreachable();
  } catch (e) {
    const err = callError(Thermo.methods.read, e);
    assert.is(err.code, 1001);
    if (err.code !== 1001) throw e;
    assert.is(err.name, 'sensorFault');
    assert.equal(err.payload, { sensor: 9, reason: 'open circuit' });
  }
  await t.read({ channel: 8 }).then(() => assert.unreachable(), (e) => {
    const err = callError(Thermo.methods.read, e);
    assert.is(err.code, 1002);
    assert.is(err.name, 'busy');
    assert.is(err.payload, undefined);
  });
  await t.close();
});

unary('an undeclared exception in a handler is Internal, with the message', async () => {
  const [a, b] = memoryPair();
  const impl = thermoImpl();
  serve(Thermo, { ...impl, greet: () => { throw new Error('boom'); } }, b, { heartbeatMs: 0 });
  const t = await connect(Thermo, a, { heartbeatMs: 0 });
  await t.greet({ who: 'x' }).then(() => assert.unreachable(), (e) => {
    assert.is(code(e), RpcCode.Internal);
    assert.match((e as Error).message, /boom/);
  });
  await t.close();
});

unary('a request that does not encode fails Malformed locally, nothing is sent', async () => {
  const { a, t } = await setup();
  const before = a.stats.framesOut;
  await t.read({ channel: 300 }).then(() => assert.unreachable(), (e) => assert.is(code(e), RpcCode.Malformed));
  assert.is(a.stats.framesOut, before);
  await t.close();
});

unary('a request over the link MTU fails Malformed (cause 502) locally', async () => {
  const [a, b] = memoryPair({ mtu: 1024 });
  serve(Thermo, thermoImpl(), b, { heartbeatMs: 0 });
  const t = await connect(Thermo, a, { heartbeatMs: 0 });
  await t.echo({ text: 'x'.repeat(2000) }).then(() => assert.unreachable(), (e) => {
    assert.is(code(e), RpcCode.Malformed);
    assert.is((e as { detail: { cause: number } }).detail.cause, ERR_LINK_MTU_EXCEEDED);
  });
  assert.equal(await t.echo({ text: 'short' }), { text: 'short' });
  await t.close();
});

unary('maxInFlight: calls beyond it fail Overloaded at once', async () => {
  const { t } = await setup({ client: { maxInFlight: 2 } });
  const p1 = t.sleep({ ms: 20 }), p2 = t.sleep({ ms: 20 });
  await t.sleep({ ms: 1 }).then(() => assert.unreachable(), (e) => assert.is(code(e), RpcCode.Overloaded));
  await Promise.all([p1, p2]);
  await t.close();
});

// ---------------------------------------------------------------------------------------------
// client.<method>.send: the callback (pipelined) form (docs/rpc.md §1 "Pipelining")
const pipelined = suite('send: calls without a Promise');

/** `m.send` as a promise of its [err, res] (res copied: it is only valid during the callback). */
function sent<Q, R>(m: { send(req: Q, done: (err: unknown, res: R | undefined) => void, o?: object): void }, req: Q, o?: object): Promise<[unknown, R | undefined, boolean]> {
  return new Promise((resolve) => {
    let returned = false;
    m.send(req, (err, res) => resolve([err, res === undefined ? undefined : structuredClone(res), returned]), o);
    returned = true;
  });
}

pipelined('answers through the callback, never before send returns', async () => {
  const { t } = await setup();
  const [err, res, afterReturn] = await sent(t.read, { channel: 2 });
  assert.is(err, null);
  assert.equal(res, { channel: 2, temp: 21, seq: 1 });
  assert.ok(afterReturn);
  await t.close();
});

pipelined('the response object is reused between calls of a method unless `into` is given', async () => {
  const { t } = await setup();
  const seen: unknown[] = [];
  await new Promise<void>((resolve) => {
    t.read.send({ channel: 1 }, (_e, r1) => {
      seen.push(r1);
      t.read.send({ channel: 2 }, (_e2, r2) => { seen.push(r2); resolve(); });
    });
  });
  assert.is(seen[0], seen[1]);
  assert.is((seen[1] as { channel: number }).channel, 2);
  const mine = { channel: 0, temp: 0, seq: 0 };
  const got = await new Promise((resolve) => t.read.send({ channel: 5 }, (_e, r) => resolve(r), { into: mine }));
  assert.is(got, mine);
  assert.is(mine.channel, 5);
  await t.close();
});

pipelined('many calls in flight each get their own answer, in any order', async () => {
  const { t } = await setup();
  const answers = new Map<number, number>();
  await new Promise<void>((resolve) => {
    let left = 500;
    for (let i = 0; i < 500; i++) {
      t.greet.send({ who: 'x'.repeat(i % 16) }, (err, res) => {
        assert.is(err, null);
        answers.set(i, res!.n);
        if (--left === 0) resolve();
      });
    }
  });
  for (let i = 0; i < 500; i++) assert.is(answers.get(i), i % 16);
  await t.close();
});

pipelined('declared errors, encode failures, deadlines and aborts arrive as typed errors', async () => {
  const { t } = await setup();
  let [err, res] = await sent(t.read, { channel: 9 });
  assert.is(res, undefined);
  const e = callError(Thermo.methods.read, err);
  assert.is(e.code, 1001);
  if (e.code === 1001) assert.equal(e.payload, { sensor: 9, reason: 'open circuit' });
  [err] = await sent(t.read, { channel: 300 });
  assert.is(code(err), RpcCode.Malformed);
  [err] = await sent(t.sleep, { ms: 5000 }, { deadlineMs: 20 });
  assert.is(code(err), RpcCode.Timeout);
  const ac = new AbortController();
  const p = sent(t.sleep, { ms: 5000 }, { signal: ac.signal });
  ac.abort();
  [err] = await p;
  assert.is(code(err), RpcCode.Cancelled);
  await t.close();
});

pipelined('calls in flight when the connection closes end Closed; sends after it too', async () => {
  const { t } = await setup();
  const p = sent(t.sleep, { ms: 5000 });
  await t.close();
  assert.is(code((await p)[0]), RpcCode.Closed);
  assert.is(code((await sent(t.read, { channel: 1 }))[0]), RpcCode.Closed);
});

pipelined('an exception thrown by a callback does not stop the answers after it', async () => {
  const { t } = await setup();
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown): void => { uncaught.push(e); };
  const listeners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  process.on('uncaughtException', onUncaught);
  try {
    let ok = 0;
    await new Promise<void>((resolve) => {
      t.read.send({ channel: 1 }, () => { throw new Error('callback bug'); });
      t.read.send({ channel: 2 }, (err) => { if (err === null) ok++; resolve(); });
    });
    await tick(5);
    assert.is(ok, 1);
    assert.is(uncaught.length, 1);
    assert.match(String(uncaught[0]), /callback bug/);
    assert.equal(await t.read({ channel: 3 }), { channel: 3, temp: 21.5, seq: 3 });
  } finally {
    process.off('uncaughtException', onUncaught);
    for (const l of listeners) process.on('uncaughtException', l);
  }
  await t.close();
});

// ---------------------------------------------------------------------------------------------
const deadlines = suite('deadlines and cancellation');

deadlines('a call past its deadline fails Timeout, and the server is told (CANCEL)', async () => {
  const { t, log } = await setup();
  await t.sleep({ ms: 60_000 }, { deadlineMs: 15 }).then(() => assert.unreachable(), (e) => assert.is(code(e), RpcCode.Timeout));
  await until(() => log.cancelled === 1, 'server-side abort');
  assert.is(t.stats.timeouts, 1);
  assert.equal(await t.read({ channel: 1 }), { channel: 1, temp: 20.5, seq: 1 });
  await t.close();
});

deadlines('many deadlines share one timer; each call times out on its own', async () => {
  const { t } = await setup();
  const calls = [40, 10, 25, 5].map((d) => t.sleep({ ms: 60_000 }, { deadlineMs: d }).then(() => 0, code));
  const fast = t.sleep({ ms: 1 }, { deadlineMs: 5000 });
  assert.equal(await fast, { ok: 1 });
  assert.equal(await Promise.all(calls), [400, 400, 400, 400]);
  await t.close();
});

deadlines('AbortSignal: abort fails the call Cancelled at once and aborts the handler', async () => {
  const { t, log } = await setup();
  const ac = new AbortController();
  const p = t.sleep({ ms: 60_000 }, { signal: ac.signal }).then(() => 0, code);
  await tick(5);
  ac.abort();
  assert.is(await p, RpcCode.Cancelled);
  await until(() => log.cancelled === 1, 'server-side abort');
  await t.close();
});

deadlines('an already aborted signal fails Cancelled without sending', async () => {
  const { a, t } = await setup();
  const before = a.stats.framesOut;
  await t.read({ channel: 1 }, { signal: AbortSignal.abort() }).then(() => assert.unreachable(), (e) => assert.is(code(e), RpcCode.Cancelled));
  assert.is(a.stats.framesOut, before);
  await t.close();
});

deadlines('a late answer after a timeout is counted and ignored', async () => {
  const { t } = await setup();
  await t.sleep({ ms: 30 }, { deadlineMs: 5 }).then(() => assert.unreachable(), (e) => assert.is(code(e), RpcCode.Timeout));
  await tick(50);
  assert.equal(await t.read({ channel: 3 }), { channel: 3, temp: 21.5, seq: 1 });
  await t.close();
});

// ---------------------------------------------------------------------------------------------
const hello = suite('HELLO and schema checks');

hello('HELLO carries the cell name, version and method table', async () => {
  const { t } = await setup();
  assert.is(t.peer.cellName, 'thermo');
  assert.is(t.peer.version, PROTOCOL_VERSION);
  assert.equal(t.peer.entries.map((e) => `${e.kind}:${e.name}`), ['method:read', 'method:sleep', 'method:echo', 'method:greet', 'stream:samples', 'event:alarm']);
  assert.is(t.peer.entries[0]!.key, Thermo.entries[0]!.key);
  await t.close();
});

hello('a method with other schemas fails SchemaMismatch locally, naming it; unknown ones UnknownMethod', async () => {
  const [a, b] = memoryPair();
  serve(Thermo, thermoImpl(), b, { heartbeatMs: 0 });
  const t2 = await connect(ThermoV2, a, { heartbeatMs: 0 });
  const before = a.stats.framesOut;
  await t2.read({ channel: 1 }).then(() => assert.unreachable(), (e) => {
    assert.is(code(e), RpcCode.SchemaMismatch);
    assert.match((e as Error).message, /"read"/);
    assert.match((e as Error).message, /response schemas differ/);
  });
  await t2.calibrate({ channel: 1 }).then(() => assert.unreachable(), (e) => {
    assert.is(code(e), RpcCode.UnknownMethod);
    assert.match((e as Error).message, /"calibrate"/);
  });
  assert.is(a.stats.framesOut, before, 'no frame sent for a call the peer cannot answer');
  assert.equal(await t2.sleep({ ms: 1 }), { ok: 1 });
  await t2.close();
});

/** A raw peer: sends frames by hand, records what comes back. */
function rawPeer(link: MemoryLink) {
  const got: { h: Header; payload: Uint8Array }[] = [];
  link.start({
    onFrame: (buf, off, len) => { const h = new Header(); readHeader(buf, off, len, 1 << 20, h); got.push({ h, payload: buf.slice(off + HEADER_BYTES, off + len) }); },
    onClose: () => {},
  });
  const send = (kind: number, id: number, key: bigint, payload: Uint8Array) => {
    const f = new Uint8Array(HEADER_BYTES + payload.length);
    const h = new Header();
    h.kind = kind; h.callId = id; h.keyLo = Number(key & 0xffffffffn); h.keyHi = Number(key >> 32n); h.length = payload.length;
    writeHeader(h, f, 0); f.set(payload, HEADER_BYTES);
    link.send(f);
  };
  return { got, send };
}

hello('the server refuses an unknown key (UnknownMethod) and a known name with another key (SchemaMismatch) before decoding', async () => {
  const [a, b] = memoryPair();
  serve(Thermo, thermoImpl(), b, { heartbeatMs: 0 });
  const raw = rawPeer(a);
  const readV2 = ThermoV2.entries.find((e) => e.name === 'read')!;
  raw.send(KIND_HELLO, 0, 0n, encodeHello({ version: 1, flags: 2, heartbeatMs: 0, maxFrameBytes: 65536, cellName: 'thermo', entries: ThermoV2.entries }));
  raw.send(KIND_REQUEST, 7, 0x0123456789abcdefn, new Uint8Array([1, 2, 3]));
  raw.send(KIND_REQUEST, 8, readV2.key, new Uint8Array([255, 255, 255])); // garbage payload: must not be decoded
  await until(() => raw.got.filter((g) => g.h.kind === KIND_ERROR).length === 2, 'two ERROR frames');
  const errs = raw.got.filter((g) => g.h.kind === KIND_ERROR);
  assert.is(errs[0]!.h.callId, 7);
  assert.is(readU16LE(errs[0]!.payload, 0), RpcCode.UnknownMethod);
  assert.is(errs[1]!.h.callId, 8);
  assert.is(readU16LE(errs[1]!.payload, 0), RpcCode.SchemaMismatch);
  assert.match(new TextDecoder().decode(errs[1]!.payload.subarray(4)), /"read"/);
});

hello('a request that does not decode is answered Malformed', async () => {
  const [a, b] = memoryPair();
  serve(Thermo, thermoImpl(), b, { heartbeatMs: 0 });
  const raw = rawPeer(a);
  const read = Thermo.entries.find((e) => e.name === 'read')!;
  raw.send(KIND_REQUEST, 3, read.key, new Uint8Array([1, 2])); // ReadReq is 1 byte: trailing bytes
  await until(() => raw.got.some((g) => g.h.kind === KIND_ERROR), 'ERROR');
  assert.is(readU16LE(raw.got.find((g) => g.h.kind === KIND_ERROR)!.payload, 0), RpcCode.Malformed);
});

hello('connect fails Unavailable when the peer never says HELLO', async () => {
  const [a, b] = memoryPair();
  b.start({ onFrame: () => {}, onClose: () => {} });
  await connect(Thermo, a, { heartbeatMs: 0, helloTimeoutMs: 20 }).then(() => assert.unreachable(), (e) => assert.is(code(e), RpcCode.Unavailable));
});

hello('describe() returns the full schema as JSON over the control channel', async () => {
  const { t } = await setup();
  const d = await t.describe();
  assert.is(d.name, 'thermo');
  assert.is(d.version, '1.2.0');
  assert.equal(d.methods.map((m) => m.name), ['read', 'sleep', 'echo', 'greet']);
  assert.is(d.methods[0]!.key, Thermo.entries[0]!.key.toString(16).padStart(16, '0'));
  assert.equal(d.methods[0]!.errors, [{ name: 'sensorFault', code: 1001, payload: { kind: 'struct', name: 'SensorFault', fields: [{ name: 'sensor', type: 'u8' }, { name: 'reason', type: { kind: 'string', maxBytes: 32 } }] } }, { name: 'busy', code: 1002 }]);
  assert.is(d.methods[0]!.request.fingerprint, ReadReq.fingerprintHex);
  assert.equal(d.streams.map((s) => s.name), ['samples']);
  assert.equal(d.events.map((e) => e.name), ['alarm']);
  await t.close();
});

// ---------------------------------------------------------------------------------------------
const events = suite('events');

events('server.emit reaches every subscribed client; off() stops it', async () => {
  const { server, t } = await setup();
  const seen: string[] = [];
  const fn = (a: { level: number; msg: string }) => seen.push(`${a.level}:${a.msg}`);
  const unsub = t.on('alarm', fn);
  assert.is(server.emit('alarm', { level: 2, msg: 'hot' }), 1);
  server.emit('alarm', { level: 3, msg: 'hotter' });
  await until(() => seen.length === 2, 'two events');
  unsub();
  server.emit('alarm', { level: 4, msg: 'ignored' });
  await t.read({ channel: 1 }); // ordered after the event
  assert.equal(seen, ['2:hot', '3:hotter']);
  await t.close();
});

// ---------------------------------------------------------------------------------------------
const streams = suite('server streams');

streams('delivers every item in order, then ends', async () => {
  const { t } = await setup();
  const got: number[] = [];
  for await (const s of t.samples({ count: 100, failAt: 0 })) got.push(s.i);
  assert.equal(got, Array.from({ length: 100 }, (_, i) => i));
  await t.close();
});

streams('credit: the server never runs ahead of the credit granted', async () => {
  const [a, b] = memoryPair();
  let produced = 0;
  const impl = thermoImpl();
  serve(Thermo, { ...impl, async *samples(req: { count: number }) { for (let i = 0; i < req.count; i++) { produced++; yield { i, v: 0 }; } } }, b, { heartbeatMs: 0 });
  const t = await connect(Thermo, a, { heartbeatMs: 0 });
  const it = t.samples({ count: 1000, failAt: 0 }, { credit: 4 });
  let consumed = 0;
  for await (const s of it) {
    assert.is(s.i, consumed);
    consumed++;
    await tick(0);
    assert.ok(produced <= consumed + 4, `produced ${produced} with ${consumed} consumed and credit 4`);
    if (consumed === 40) break;
  }
  await tick(10);
  assert.ok(produced <= 44);
  await t.close();
});

streams('a declared error ends the stream with that error', async () => {
  const { t } = await setup();
  const got: number[] = [];
  try {
    for await (const s of t.samples({ count: 10, failAt: 5 })) got.push(s.i);
    assert.unreachable();
  } catch (e) {
    const err = callError(Thermo.streams.samples, e);
    assert.is(err.code, 1010);
    assert.is(err.name, 'overheat');
  }
  assert.equal(got, [0, 1, 2, 3, 4]);
  await t.close();
});

streams('break sends CANCEL: the generator is closed on the server', async () => {
  const { t, log } = await setup();
  for await (const s of t.samples({ count: 1_000_000, failAt: 0 })) if (s.i === 3) break;
  await until(() => log.streamReturned === 1, 'generator finally');
  assert.equal(await t.read({ channel: 1 }), { channel: 1, temp: 20.5, seq: 1 });
  await t.close();
});

// ---------------------------------------------------------------------------------------------
const life = suite('heartbeats, GOODBYE, close');

life('a silent peer is declared dead within three intervals: calls fail Unavailable, not Timeout', async () => {
  const { a, t } = await setup({ heartbeatMs: 20 });
  await t.read({ channel: 1 });
  const p = t.sleep({ ms: 60_000 }, { deadlineMs: 20_000 }).then(() => 0, code);
  await tick(5);
  a.sever();
  assert.is(await p, RpcCode.Unavailable);
});

life('heartbeats keep an idle connection alive', async () => {
  const { t } = await setup({ heartbeatMs: 60, latencyMs: 1 });
  await tick(300);
  assert.ok(t.stats.pingsOut >= 3);
  assert.equal(await t.read({ channel: 1 }), { channel: 1, temp: 20.5, seq: 1 });
  await t.close();
});

life('client goodbye: the call in flight finishes, new calls fail Closed', async () => {
  const { t } = await setup();
  const inflight = t.sleep({ ms: 20 });
  const bye = t.goodbye();
  await t.read({ channel: 1 }).then(() => assert.unreachable(), (e) => assert.is(code(e), RpcCode.Closed));
  assert.equal(await inflight, { ok: 1 });
  await bye;
});

life('server goodbye: the call in flight finishes, the client\'s new calls fail Closed', async () => {
  const { server, t } = await setup();
  const inflight = t.sleep({ ms: 20 });
  await until(() => [...server.connections][0]!.serving_ === 1, 'call arrived');
  const bye = server.goodbye();
  await tick(1);
  await t.read({ channel: 1 }).then(() => assert.unreachable(), (e) => assert.is(code(e), RpcCode.Closed));
  assert.equal(await inflight, { ok: 1 });
  await bye;
  await t.connection.closed;
});

life('calls after the peer link closed fail (Unavailable in flight, Closed after)', async () => {
  const { b, t } = await setup();
  const p = t.sleep({ ms: 60_000 }).then(() => 0, code);
  await tick(2);
  b.close(); // server side closes its link without GOODBYE
  assert.is(await p, RpcCode.Unavailable);
  await t.read({ channel: 1 }).then(() => assert.unreachable(), (e) => assert.is(code(e), RpcCode.Closed));
});

for (const how of ['close', 'goodbye'] as const) {
  life(`a listening server's ${how}() resolves while idle clients stay connected, and frees the socket path`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cell-close-'));
    const path = join(dir, 'c.sock');
    try {
      const server = serve(Thermo, thermoImpl(), await listenUnix(path), { heartbeatMs: 0 });
      const t = await connect(Thermo, await connectUnix(path), { heartbeatMs: 0 });
      await t.read({ channel: 1 });
      await server[how](); // the client does nothing to help: before, this waited for it forever
      assert.not.ok(existsSync(path), 'socket path removed');
      await t.connection.closed;
      await t.read({ channel: 1 }).then(() => assert.unreachable(), (e) => assert.is(code(e), RpcCode.Closed));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

unary.run();
pipelined.run();
deadlines.run();
hello.run();
events.run();
streams.run();
life.run();
