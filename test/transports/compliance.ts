// The one compliance suite every Link passes (docs/rpc.md §2). A spec file per link supplies a
// harness and runs `complianceSuite(name, harness)`; see memory.test.ts for the ~30-line shape.
// Frame-level checks first (order, sizes), then the same checks through RPC (concurrency,
// close and peer death ending calls with typed errors, garbage counted and survived or fatal).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Link } from '../../src/transports/link.ts';
import { Header, HEADER_BYTES, KIND_EVENT, writeHeader } from '../../src/wire/header.ts';
import { connect, serve, RpcCode, type Client } from '../../src/rpc/index.ts';
import { Thermo } from '../rpc/fixtures/thermo.ts';
import { thermoImpl } from '../rpc/fixtures/impl.ts';

export interface LinkPair {
  /** Client side. */
  a: Link;
  /** Server side. */
  b: Link;
  /** The peer behind `b` dies abruptly (process killed, socket destroyed): no GOODBYE, no flush. */
  killB(): void | Promise<void>;
  /** Raw bytes arrive at `a` as if `b` had sent them (not framed). */
  garbageToA(bytes: Uint8Array): void;
  cleanup?(): void | Promise<void>;
}

export interface LinkHarness {
  pair(): Promise<LinkPair>;
  /** Largest frame to try (defaults to a.caps.mtu, capped at 1 MiB). */
  maxFrameBytes?: number;
  /**
   * Heartbeat of both rpc ends (default 0). A link with no connection of its own (CAN: a node
   * that loses power just falls silent) learns of its peer's death only from the heartbeat.
   */
  heartbeatMs?: number;
}

/** A frame: header (EVENT kind, call id = seq) + `len` payload bytes derived from seq. */
export function makeFrame(seq: number, len: number): Uint8Array {
  const f = new Uint8Array(HEADER_BYTES + len);
  const h = new Header();
  h.kind = KIND_EVENT; h.callId = seq; h.keyLo = 0x11223344; h.keyHi = seq ^ 0x55; h.length = len;
  writeHeader(h, f, 0);
  for (let i = 0; i < len; i++) f[HEADER_BYTES + i] = (seq * 31 + i * 7) & 0xff;
  return f;
}

function collect(link: Link): { frames: Uint8Array[]; closed: Promise<unknown> } {
  const frames: Uint8Array[] = [];
  let done!: (e: unknown) => void;
  const closed = new Promise((r) => { done = r; });
  link.start({ onFrame: (buf, off, len) => frames.push(new Uint8Array(buf.subarray(off, off + len))), onClose: (e) => done(e) });
  return { frames, closed };
}

async function until(cond: () => boolean, what: string, maxMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > maxMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function rpcPair(h: LinkHarness): Promise<{ p: LinkPair; client: Client<typeof Thermo>; log: { cancelled: number; streamReturned: number; maxBuffered: number } }> {
  const p = await h.pair();
  const log = { cancelled: 0, streamReturned: 0, maxBuffered: 0 };
  serve(Thermo, thermoImpl(log), p.b, { heartbeatMs: h.heartbeatMs ?? 0 });
  const client = await connect(Thermo, p.a, { heartbeatMs: h.heartbeatMs ?? 0 });
  return { p, client, log };
}

function codeOf(e: unknown): number { return (e as { code: number }).code; }

export function complianceSuite(name: string, h: LinkHarness): void {
  const s = suite(`Link compliance: ${name}`);

  s('delivers frames in order, byte for byte', async () => {
    const p = await h.pair();
    const rx = collect(p.b);
    p.a.start({ onFrame: () => {}, onClose: () => {} });
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 600; i++) { const f = makeFrame(i, (i * 13) % 300); sent.push(f); p.a.send(f); }
    await until(() => rx.frames.length >= sent.length, 'all frames');
    assert.is(rx.frames.length, sent.length);
    for (let i = 0; i < sent.length; i++) assert.equal(rx.frames[i], sent[i], `frame ${i}`);
    assert.is(p.a.stats.framesOut, 600);
    assert.is(p.b.stats.framesIn, 600);
    p.a.close(); p.b.close();
    await p.cleanup?.();
  });

  s('carries every size from an empty payload up to the MTU', async () => {
    const p = await h.pair();
    const rx = collect(p.b);
    p.a.start({ onFrame: () => {}, onClose: () => {} });
    const max = Math.min(h.maxFrameBytes ?? p.a.caps.mtu, p.a.caps.mtu, 1 << 20);
    const sizes = [0, 1, 19, 20, 21, 255, 256, 1000, 4095, max - HEADER_BYTES - 1, max - HEADER_BYTES].filter((n) => n >= 0 && n + HEADER_BYTES <= max);
    const sent = sizes.map((n, i) => makeFrame(i, n));
    for (const f of sent) p.a.send(f);
    await until(() => rx.frames.length >= sent.length, 'all sizes');
    for (let i = 0; i < sent.length; i++) assert.equal(rx.frames[i], sent[i], `size ${sizes[i]}`);
    assert.throws(() => p.a.send(new Uint8Array(p.a.caps.mtu + 1)), (e: unknown) => codeOf(e) === 502);
    p.a.close(); p.b.close();
    await p.cleanup?.();
  });

  s('answers 1000 concurrent calls, each with its own answer', async () => {
    const { p, client } = await rpcPair(h);
    const calls = [];
    for (let i = 0; i < 1000; i++) calls.push(client.read({ channel: i % 8 }).then((r) => [i, r] as const));
    const results = await Promise.all(calls);
    for (const [i, r] of results) { assert.is(r.channel, i % 8); assert.is(r.temp, 20 + (i % 8) / 2); }
    const seqs = new Set(results.map(([, r]) => r.seq));
    assert.is(seqs.size, 1000);
    await client.close();
    await p.cleanup?.();
  });

  s('local close mid-call ends the call with Closed', async () => {
    const { p, client } = await rpcPair(h);
    const call = client.sleep({ ms: 60_000 }).then(() => 0, codeOf);
    await new Promise((r) => setTimeout(r, 5));
    await client.close();
    assert.is(await call, RpcCode.Closed);
    await client.read({ channel: 1 }).then(() => assert.unreachable('call after close'), (e) => assert.is(codeOf(e), RpcCode.Closed));
    await p.cleanup?.();
  });

  s('server close mid-call ends the call with Closed', async () => {
    const p = await h.pair();
    const log = { cancelled: 0, streamReturned: 0, maxBuffered: 0 };
    const server = serve(Thermo, thermoImpl(log), p.b, { heartbeatMs: 0 });
    const client = await connect(Thermo, p.a, { heartbeatMs: 0 });
    const call = client.sleep({ ms: 60_000 }).then(() => 0, codeOf);
    await until(() => [...server.connections][0]!.serving_ > 0, 'call to arrive');
    await server.close();
    assert.is(await call, RpcCode.Closed);
    await until(() => log.cancelled === 1, 'handler aborted');
    await client.close();
    await p.cleanup?.();
  });

  s('peer death ends calls in flight with Unavailable, before their deadline', async () => {
    const { p, client } = await rpcPair(h);
    const calls = [client.sleep({ ms: 60_000 }, { deadlineMs: 30_000 }), client.sleep({ ms: 60_000 })].map((c) => c.then(() => 0, codeOf));
    await new Promise((r) => setTimeout(r, 5));
    await p.killB();
    assert.equal(await Promise.all(calls), [RpcCode.Unavailable, RpcCode.Unavailable]);
    await client.close();
    await p.cleanup?.();
  });

  s('garbage bytes are counted; the link survives (cobs/none) or closes with Malformed (length)', async () => {
    const { p, client } = await rpcPair(h);
    assert.is((await client.read({ channel: 1 })).channel, 1);
    const garbage = new Uint8Array(64);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 37 + 11) & 0xff;
    garbage[10] = 0; // a delimiter in the middle for COBS links
    let closedWith: unknown;
    client.connection.onClose((e) => { closedWith = e; });
    p.garbageToA(garbage);
    if (p.a.caps.framing === 'length') {
      await until(() => p.a.closed, 'fatal close');
      assert.is(p.a.stats.errMalformed, 1);
      assert.is(codeOf(closedWith), RpcCode.Malformed);
      await client.read({ channel: 1 }).then(() => assert.unreachable('call on a dead link'), (e) => assert.ok(([RpcCode.Closed, RpcCode.Unavailable] as number[]).includes(codeOf(e))));
    } else {
      const st = p.a.stats;
      await until(() => st.errMalformed + st.errCrc + st.errCobs + st.errTooShort + st.errOversize > 0, 'garbage counted');
      for (let i = 0; i < 20; i++) assert.is((await client.read({ channel: i % 8 })).channel, i % 8);
      assert.not.ok(p.a.closed);
    }
    await client.close();
    await p.cleanup?.();
  });

  s.run();
}

// ---------------------------------------------------------------------------------------------
// A peer in another process: the server end is not in this process, so the frame-level checks
// above do not apply; the RPC ones do, plus the peer process being killed (SIGKILL).

export interface RemotePeer {
  /** Our end, connected to a peer process that serves the test Thermo cell. */
  link: Link;
  /** Signal the peer process: SIGKILL (default) = abrupt death, no GOODBYE, no flush; SIGSTOP = hangs. */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when the peer process has exited. */
  exited: Promise<unknown>;
}

export interface RemoteHarness {
  spawn(): Promise<RemotePeer>;
}

export function remoteComplianceSuite(name: string, h: RemoteHarness): void {
  const s = suite(`Link compliance (peer process): ${name}`);

  s('answers 1000 concurrent calls, each with its own answer; typed errors cross the process boundary', async () => {
    const peer = await h.spawn();
    const client = await connect(Thermo, peer.link, { heartbeatMs: 0 });
    const calls = [];
    for (let i = 0; i < 1000; i++) calls.push(client.read({ channel: i % 8 }).then((r) => [i, r] as const));
    const results = await Promise.all(calls);
    for (const [i, r] of results) { assert.is(r.channel, i % 8); assert.is(r.temp, 20 + (i % 8) / 2); }
    assert.is(new Set(results.map(([, r]) => r.seq)).size, 1000);
    await client.read({ channel: 9 }).then(() => assert.unreachable('sensorFault'), (e) => assert.is(codeOf(e), 1001));
    const items: number[] = [];
    for await (const it of client.samples({ count: 40, failAt: 0 }, { credit: 4 })) items.push(it.i);
    assert.is(items.length, 40);
    await client.goodbye();
    await peer.exited;
  });

  s('peer process killed (SIGKILL) mid-call: calls in flight end Unavailable/Closed before their deadline', async () => {
    const peer = await h.spawn();
    const client = await connect(Thermo, peer.link, { heartbeatMs: 0 });
    assert.is((await client.read({ channel: 1 })).channel, 1);
    const t0 = Date.now();
    const calls = [client.sleep({ ms: 60_000 }, { deadlineMs: 20_000 }), client.sleep({ ms: 60_000 }, { deadlineMs: 20_000 }), client.read({ channel: 2 }, { deadlineMs: 20_000 })];
    const codes = Promise.all(calls.map((c) => c.then(() => 0, codeOf)));
    await until(() => client.connection.inFlight === 3, 'calls in flight');
    await new Promise((r) => setTimeout(r, 20));
    peer.kill();
    const got = await codes;
    // the read may have been answered before the kill: 0 allowed for it only
    for (const [i, c] of got.entries()) {
      if (i === 2 && c === 0) continue;
      assert.ok(c === RpcCode.Unavailable || c === RpcCode.Closed, `call ${i} ended with ${c}, want Unavailable or Closed`);
    }
    assert.ok(Date.now() - t0 < 20_000, 'ended before the deadline');
    await client.read({ channel: 1 }).then(() => assert.unreachable('call to a dead peer'), (e) => assert.ok(([RpcCode.Unavailable, RpcCode.Closed] as number[]).includes(codeOf(e))));
    await peer.exited;
    await client.close();
  });

  s('heartbeat: a peer process that stops answering (SIGSTOP) is declared dead, calls end Unavailable', async () => {
    const peer = await h.spawn();
    const client = await connect(Thermo, peer.link, { heartbeatMs: 40 });
    assert.is((await client.read({ channel: 1 })).channel, 1);
    const call = client.sleep({ ms: 60_000 }, { deadlineMs: 20_000 }).then(() => 0, codeOf);
    await until(() => client.connection.inFlight === 1, 'call in flight');
    peer.kill('SIGSTOP');
    try {
      assert.is(await call, RpcCode.Unavailable);
    } finally {
      peer.kill('SIGKILL');
    }
    await peer.exited;
    await client.close();
  });

  s.run();
}

