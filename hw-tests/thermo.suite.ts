// THE device suite of the `thermo` sensor cell (firmware/thermo): one set of checks, run against
// every target — the simulator (wasm in Node over a socat pty), qemu (both Cortex-M3 boards) and a
// real board (CELL_TEST_UART) — through the typed Node client (`connect(ThermoDef, link)`), on a
// StreamLink over the serial port, wrapped in a TapLink so the test can also send raw frames and
// read the device's ops counters on the same line. docs/firmware.md §"Device suite".
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { SerialPort as SerialPortType } from 'serialport';
import { struct, u8, u32, f64 } from '../src/codec/index.ts';
import { connect, callError, defineCell, method, stream, appError, RpcCode, type Client } from '../src/rpc/index.ts';
import { encodeHello, HELLO_FLAG_ANSWER, HELLO_FLAG_CALLING, PROTOCOL_VERSION } from '../src/rpc/payloads.ts';
import { StreamLink } from '../src/transports/stream.ts';
import { connectUart } from '../src/uart/index.ts';
import { cobsEncode } from '../src/framing/cobs.ts';
import { crc32c } from '../src/framing/crc32c.ts';
import { readU16LE, writeU32LE } from '../src/wire/bytes.ts';
import {
  KIND_ERROR, KIND_HELLO, KIND_PING, KIND_PONG, KIND_REQUEST, KIND_RESPONSE, HEADER_BYTES,
} from '../src/wire/header.ts';
import {
  ThermoDef, cellFingerprint, simulatedCelsius, THERMO_FW_VERSION, THERMO_MAX_FRAME_BYTES,
  ReadReq, SensorFault, LedReq, LedState, ConfigReq, ConfigRes, InfoReq, DeviceInfo, SampleReq, Sample,
} from '../firmware/thermo/schema.ts';
import { encodeFrame, rawFrame } from './lib/echo-client.ts';
import { TapLink, type RpcCounters } from './lib/tap-link.ts';
import { closePort, type DeviceTarget } from './lib/targets.ts';
import { Prng } from '../test/helpers/prng.ts';

type Thermo = Client<typeof ThermoDef>;

/** Every stream in the suite has a deadline: a misbehaving device fails a test, never hangs it. */
const STREAM_DEADLINE_MS = 15_000;
const SOAK_DEADLINE_MS = 30_000;

export interface ThermoSuiteOptions {
  /** Calls in the soak. @default Number(process.env.CELL_SOAK) || 2000 */
  soak?: number;
  /** Calls in flight during the soak. @default 16 */
  window?: number;
  /** Run only the soak (hw-tests/soak.ts). @default false */
  soakOnly?: boolean;
  /** Per-call deadline. @default 5000 */
  deadlineMs?: number;
}

/** Results a caller may print (RTT, soak counts). */
export interface ThermoSuiteReport {
  target: string;
  rttMs?: { median: number; p99: number; n: number };
  soak?: { calls: number; answered: number; lost: number; duplicated: number; wrong: number; ms: number };
}

interface Ctx {
  port?: SerialPortType;
  tap?: TapLink;
  client?: Thermo;
  panics: string[];
}

/** The same cell with read's response changed: its key differs from the device's. */
const ReadingV2 = struct('Reading', { channel: u8, celsius: f64, seq: u32 });
const ThermoV2 = defineCell({
  name: 'thermo',
  methods: {
    read: method(ReadReq, ReadingV2, { errors: { sensorFault: appError(1001, SensorFault) } }),
    setLed: method(LedReq, LedState),
    configure: method(ConfigReq, ConfigRes),
    info: method(InfoReq, DeviceInfo),
  },
  streams: { samples: stream(SampleReq, Sample) },
});

const keyOf = (name: string): bigint => ThermoDef.entries.find((e) => e.name === name)!.key;
const lo = (k: bigint): number => Number(k & 0xffffffffn);
const hi = (k: bigint): number => Number(k >> 32n);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function errorOf(f: { kind: number; payload: Uint8Array }): { code: number; message: string } {
  assert.is(f.kind, KIND_ERROR, 'an ERROR frame');
  const n = readU16LE(f.payload, 2);
  return { code: readU16LE(f.payload, 0), message: text(f.payload.subarray(4, 4 + n)) };
}

function delta(a: RpcCounters, b: RpcCounters): Partial<RpcCounters> {
  const d: Record<string, number> = {};
  for (const k of Object.keys(b) as (keyof RpcCounters)[]) if (b[k] !== a[k] && k !== 'uptimeMs' && k !== 'rxBytes' && k !== 'txFrames') d[k] = b[k] - a[k];
  return d;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

/** Open the typed client on the target's port (a StreamLink with the device's MTU, in a TapLink). */
async function session<D extends typeof ThermoDef | typeof ThermoV2>(port: SerialPortType, def: D, deadlineMs: number) {
  const tap = new TapLink(new StreamLink(port, { mtu: THERMO_MAX_FRAME_BYTES }));
  const client = await connect(def, tap, { deadlineMs });
  return { tap, client };
}

function watchPanics(port: SerialPortType, out: string[]): void {
  let line = '';
  port.on('data', (chunk: Uint8Array) => {
    for (const b of chunk) {
      if (b === 0x0a && line.startsWith('!panic')) out.push(line);
      line = b >= 0x20 && b < 0x7f ? (line + String.fromCharCode(b)).slice(-80) : '';
    }
  });
}

/**
 * Register and run the suite against `target`. Resolves once uvu has run it; `report` is filled
 * with the informational numbers (RTT, soak).
 */
export function thermoSuite(target: DeviceTarget, opts: ThermoSuiteOptions = {}, report: ThermoSuiteReport = { target: target.name }): void {
  const soakCalls = opts.soak ?? (Number(process.env.CELL_SOAK) || 2000);
  const window = opts.window ?? 16;
  const deadlineMs = opts.deadlineMs ?? 5000;
  const ctx: Ctx = { panics: [] };
  const test = suite<Ctx>(`thermo cell on ${target.name}`, ctx);
  const c = () => ctx.client!;
  const tap = () => ctx.tap!;
  const why = () => [ctx.panics.length ? `panics: ${ctx.panics.slice(0, 3).join('; ')}` : '', target.diagnostics()].filter(Boolean).join('\n');

  test.before(async () => {
    const t0 = performance.now();
    ctx.port = await target.start();
    watchPanics(ctx.port, ctx.panics);
    const s = await session(ctx.port, ThermoDef, deadlineMs);
    ctx.tap = s.tap;
    ctx.client = s.client;
    console.log(`  ${target.name}: boot + HELLO in ${(performance.now() - t0).toFixed(0)} ms`);
  });

  test.after(async () => {
    await ctx.client?.close().catch(() => {});
    await target.stop();
  });

  const soak = async () => {
    const cl = c();
    const before = await tap().counters();
    const respBefore = tap().kinds[KIND_RESPONSE]!;
    const lateBefore = cl.stats.lateFrames;
    const rng = new Prng(0x7e57);
    const seqs: number[] = [];
    let answered = 0;
    let wrong = 0;
    let failed = 0;
    const problems: string[] = [];
    let issued = 0;
    const t0 = performance.now();
    // The soak checks loss and duplication, not latency: a generous per-call deadline keeps an
    // emulator starved for a few seconds on a loaded CI machine from reading as a lost answer
    // (a frame that never comes still fails the call, just later).
    const o = { deadlineMs: Math.max(deadlineMs, SOAK_DEADLINE_MS) };
    const one = async (): Promise<void> => {
      const i = issued++;
      const pick = rng.below(4);
      try {
        if (pick <= 1) {
          const ch = rng.below(4);
          const r = await cl.read({ channel: ch }, o);
          answered++;
          seqs.push(r.seq);
          if (r.channel !== ch || r.celsius !== simulatedCelsius(ch, r.seq)) { wrong++; problems.push(`call ${i}: read(${ch}) → ${JSON.stringify(r)}`); }
        } else if (pick === 2) {
          const on = rng.below(2) === 1;
          const r = await cl.setLed({ on }, o);
          answered++;
          if (r.on !== on) { wrong++; problems.push(`call ${i}: setLed(${on}) → ${r.on}`); }
        } else {
          const r = await cl.info({}, o);
          answered++;
          if (r.name !== 'thermo' || r.schema !== cellFingerprint(ThermoDef)) { wrong++; problems.push(`call ${i}: info → ${r.name}`); }
        }
      } catch (e) {
        failed++;
        problems.push(`call ${i}: ${(e as Error).message}`);
      }
    };
    const lanes = Array.from({ length: window }, async () => { while (issued < soakCalls) await one(); });
    await Promise.all(lanes);
    const ms = performance.now() - t0;
    const after = await tap().counters();
    // RESPONSE frames seen on the line during the soak (the tap counts every frame; minus the
    // answer to the second counters request).
    const responses = tap().kinds[KIND_RESPONSE]! - respBefore - 1;
    seqs.sort((a, b) => a - b);
    let dupSeq = 0;
    for (let k = 1; k < seqs.length; k++) if (seqs[k] === seqs[k - 1]) dupSeq++;
    const late = cl.stats.lateFrames - lateBefore;
    report.soak = { calls: soakCalls, answered, lost: soakCalls - answered, duplicated: late + dupSeq, wrong, ms };
    console.log(`  ${target.name}: soak ${soakCalls} calls (${window} in flight): ${answered} answered, ${failed} failed, ` +
      `${wrong} wrong, ${late} late/duplicate frames, ${dupSeq} repeated seq — ${ms.toFixed(0)} ms (${(soakCalls / ms * 1000).toFixed(0)} calls/s)`);
    assert.is(failed, 0, problems.slice(0, 5).join('\n') + why());
    assert.is(wrong, 0, problems.slice(0, 5).join('\n'));
    assert.is(answered, soakCalls, 'every call answered exactly once');
    assert.is(late, 0, 'no answer for a call that was not pending');
    assert.is(dupSeq, 0, 'no read served twice');
    assert.is(responses, soakCalls, 'RESPONSE frames on the wire = calls');
    // seq is the device's read counter: the reads of the soak got consecutive values.
    if (seqs.length > 1) assert.is(seqs[seqs.length - 1]! - seqs[0]!, seqs.length - 1, 'consecutive seq');
    const d = delta(before, after);
    assert.is(d.requests, soakCalls, 'device: requests');
    assert.is(d.responses, soakCalls, 'device: responses');
    assert.is(d.errorsOut ?? 0, 0, 'device: no errors');
    assert.is((d.errCrc ?? 0) + (d.errCobs ?? 0) + (d.errOversize ?? 0) + (d.errTooShort ?? 0) + (d.badHeaders ?? 0), 0, 'device: clean line');
  };

  if (opts.soakOnly) {
    test(`soak: ${soakCalls} calls, none lost, none duplicated`, soak);
    test.run();
    return;
  }

  test('HELLO: the device names the cell and its five entries with the keys of ThermoDef', () => {
    const peer = c().peer;
    assert.is(peer.version, PROTOCOL_VERSION);
    assert.is(peer.cellName, 'thermo');
    assert.is(peer.flags & 1, 1, 'serving');
    assert.is(peer.heartbeatMs, 0, 'the device sends no PINGs (it answers them)');
    assert.is(peer.maxFrameBytes, THERMO_MAX_FRAME_BYTES);
    assert.equal(peer.entries.map((e) => ({ ...e })), ThermoDef.entries.map((e) => ({ ...e })));
  });

  test('info() reports name, firmware version and the schema fingerprint', async () => {
    const i = await c().info({});
    assert.equal(i, { name: 'thermo', fwVersion: THERMO_FW_VERSION, schema: cellFingerprint(ThermoDef) });
  });

  test('read() gives the simulated ADC with a rising seq (RTT informational)', async () => {
    const first = await c().read({ channel: 0 });
    assert.is(first.channel, 0);
    assert.is(first.celsius, simulatedCelsius(0, first.seq));
    for (let ch = 0; ch < 4; ch++) {
      const r = await c().read({ channel: ch });
      assert.equal(r, { channel: ch, celsius: simulatedCelsius(ch, first.seq + ch + 1), seq: first.seq + ch + 1 });
    }
    const into = { channel: 0, celsius: 0, seq: 0 };
    const rtt: number[] = [];
    for (let k = 0; k < 200; k++) {
      const t = performance.now();
      await c().read({ channel: k & 3 }, { into });
      rtt.push(performance.now() - t);
    }
    report.rttMs = { median: percentile(rtt, 0.5), p99: percentile(rtt, 0.99), n: rtt.length };
    console.log(`  ${target.name}: read() RTT median ${report.rttMs.median.toFixed(2)} ms, p99 ${report.rttMs.p99.toFixed(2)} ms (200 sequential calls)`);
  });

  test('read() of a channel > 3 fails with the declared sensorFault (1001) and its payload', async () => {
    for (const channel of [4, 255]) {
      try {
        await c().read({ channel });
        assert.unreachable('read should fail');
      } catch (e) {
        const err = callError(ThermoDef.methods.read, e);
        assert.is(err.code, 1001);
        if (err.code === 1001) {
          assert.is(err.name, 'sensorFault');
          assert.equal(err.payload, { channel, reason: 'noSuchChannel' });
        }
      }
    }
  });

  test('setLed() and configure() (invalid settings are refused with ok = false)', async () => {
    assert.equal(await c().setLed({ on: true }), { on: true });
    assert.equal(await c().setLed({ on: false }), { on: false });
    assert.equal(await c().configure({ intervalMs: 1, alarmAbove: 30.5 }), { ok: true });
    assert.equal(await c().configure({ intervalMs: 0, alarmAbove: 30.5 }), { ok: false });
    assert.equal(await c().configure({ intervalMs: 1, alarmAbove: NaN }), { ok: false });
  });

  test('samples: every item in order, and never more in flight than the credit granted', async () => {
    const count = 30;
    const before = await tap().counters();
    const it = c().samples({ count }, { credit: 4, deadlineMs: STREAM_DEADLINE_MS });
    const id = (it as unknown as { id: number }).id;
    await sleep(250); // at 1 item/ms the device would have sent them all without flow control
    // The counters' answer follows the items on the line: when it is here, so are they.
    const held = await tap().counters();
    assert.is(held.streamItems - before.streamItems, 4, 'the device sent exactly the 4 granted items');
    assert.is(tap().itemsByCall.get(id) ?? 0, 4, 'and the host got them, before any CREDIT');
    const got: { i: number; celsius: number }[] = [];
    for await (const s of it) got.push({ ...s });
    assert.equal(got, Array.from({ length: count }, (_, i) => ({ i, celsius: simulatedCelsius(0, i) })));
    assert.is(tap().itemsByCall.get(id), count);
  });

  test('samples: break sends CANCEL and the device stops; count 0 ends at once', async () => {
    const before = await tap().counters();
    const it = c().samples({ count: 1000 }, { credit: 8, deadlineMs: STREAM_DEADLINE_MS });
    const id = (it as unknown as { id: number }).id;
    let n = 0;
    for await (const s of it) { assert.is(s.i, n); if (++n === 3) break; }
    // Asked after the CANCEL went out, answered after the device handled it (one line, in order).
    const mid = await tap().counters();
    assert.is(mid.cancels - before.cancels, 1, 'the device got the CANCEL');
    const sent = mid.streamItems - before.streamItems;
    assert.ok(sent >= 3 && sent <= 8, `between what was consumed and the credit: ${sent}`);
    await sleep(100);
    const later = await tap().counters();
    assert.is(later.streamItems, mid.streamItems, 'no items after CANCEL');
    assert.is(tap().itemsByCall.get(id) ?? 0, sent, 'the host got exactly what the device sent');
    const empty: unknown[] = [];
    for await (const s of c().samples({ count: 0 }, { deadlineMs: STREAM_DEADLINE_MS })) empty.push(s);
    assert.is(empty.length, 0);
    assert.is((await tap().counters()).cancels - before.cancels, 1);
  });

  test('a second stream while one runs is refused Overloaded (408)', async () => {
    const a = c().samples({ count: 5 }, { credit: 1, deadlineMs: STREAM_DEADLINE_MS });
    const first = await a.next();
    assert.is(first.done, false);
    const b = c().samples({ count: 5 }, { deadlineMs: STREAM_DEADLINE_MS });
    try {
      await b.next();
      assert.unreachable('the second stream should fail');
    } catch (e) {
      assert.is((e as { code: number }).code, RpcCode.Overloaded);
    }
    let n = 1;
    for await (const _ of a) n++;
    assert.is(n, 5, 'the first stream is unaffected');
  });

  test('unknown key → 403 (also one the peer\'s HELLO names otherwise: SchemaMismatch is the host\'s call); describe → 403', async () => {
    const bogus = 0x0123456789abcdefn;
    const e1 = errorOf(await tap().call({ kind: KIND_REQUEST, keyLo: lo(bogus), keyHi: hi(bogus) }, Uint8Array.of(1)));
    assert.equal(e1, { code: RpcCode.UnknownMethod, message: '' });
    // A host whose HELLO has "read" with another key: a Node server would answer that key 402;
    // the device answers 403 — its host already failed such calls locally at HELLO (see the
    // session test below), so only a raw client ever sends one.
    const other = 0x1111222233334444n;
    const hello = encodeHello({
      version: PROTOCOL_VERSION, flags: HELLO_FLAG_CALLING, heartbeatMs: 0, maxFrameBytes: 512, cellName: 'thermo',
      entries: [{ kind: 'method', name: 'read', key: other, requestFp: 1n, responseFp: 2n }],
    });
    const hellosBefore = tap().helloFlags.length;
    tap().sendFrame({ kind: KIND_HELLO, callId: 0 }, hello);
    const e2 = errorOf(await tap().call({ kind: KIND_REQUEST, keyLo: lo(other), keyHi: hi(other) }, Uint8Array.of(1)));
    assert.is(e2.code, RpcCode.UnknownMethod);
    // Its HELLO back came before that answer, marked as an answer (docs/rpc.md §4): a host that
    // got it late must not take it for a reset.
    assert.is(tap().helloFlags.length, hellosBefore + 1, 'one HELLO back');
    assert.ok((tap().helloFlags[hellosBefore]! & HELLO_FLAG_ANSWER) !== 0, `HELLO flags ${tap().helloFlags[hellosBefore]}`);
    try {
      await c().describe();
      assert.unreachable('describe is not served by the device');
    } catch (e) {
      assert.is((e as { code: number }).code, RpcCode.UnknownMethod);
    }
    assert.equal(await c().setLed({ on: true }), { on: true }, 'still serving');
  });

  test('malformed payloads → 406 with the decoder\'s code; the device keeps serving', async () => {
    const before = await tap().counters();
    const read = keyOf('read');
    const led = keyOf('setLed');
    const cases: [bigint, number[], string][] = [
      [read, [], 'codec error 300'], // truncated
      [read, [1, 2], 'trailing bytes'],
      [led, [2], 'codec error 301'], // bool not 0/1
      [keyOf('info'), [2, 0], 'codec error 305'], // presence byte not 0/1
      [keyOf('samples'), [1], 'codec error 300'],
    ];
    for (const [key, payload, message] of cases) {
      const e = errorOf(await tap().call({ kind: KIND_REQUEST, keyLo: lo(key), keyHi: hi(key) }, Uint8Array.from(payload)));
      assert.equal(e, { code: RpcCode.Malformed, message });
    }
    const d = delta(before, await tap().counters());
    assert.is(d.malformed, cases.length);
    assert.is((await c().read({ channel: 2 })).channel, 2);
  });

  test('PING → PONG (same channel and call id); host heartbeats are answered', async () => {
    const pong = await tap().call({ kind: KIND_PING, channel: 0 });
    assert.is(pong.kind, KIND_PONG);
    assert.is(pong.keyLo, 0);
    assert.is(pong.payload.length, 0);
    const t = performance.now();
    while (c().stats.pingsOut === 0 && performance.now() - t < 2000) await sleep(20);
    assert.ok(c().stats.pingsOut >= 1, 'the connection sent a heartbeat PING');
    await sleep(50);
    const counters = await tap().counters();
    assert.ok(counters.pings >= c().stats.pingsOut, `device answered ${counters.pings} PINGs`);
    assert.ok(c().connection.isOpen, 'the heartbeat did not declare the device dead');
  });

  test('garbage, corrupt, bad-header and oversized frames: counted, no answer, the device survives', async () => {
    const before = await tap().counters();
    const t = tap();
    const responsesBefore = t.kinds[KIND_ERROR]! + t.kinds[KIND_RESPONSE]!;
    t.writeBytes(new TextEncoder().encode('\0hello, device\n\0')); // text: a COBS block cut short
    t.writeBytes(Uint8Array.of(0x05, 0x11, 0x22, 0x00)); // COBS block cut short
    t.writeBytes(Uint8Array.of(0x02, 0x11, 0x00)); // 1 byte: shorter than its CRC
    const raw = rawFrame({ kind: KIND_REQUEST, callId: 77, keyLo: lo(keyOf('read')), keyHi: hi(keyOf('read')) }, Uint8Array.of(1));
    const withCrc = new Uint8Array(raw.length + 4);
    withCrc.set(raw);
    writeU32LE(withCrc, raw.length, (crc32c(raw) ^ 0x00010000) >>> 0);
    const bad = new Uint8Array(withCrc.length + 8);
    const n = cobsEncode(withCrc, bad);
    t.writeBytes(bad.subarray(0, n + 1)); // wrong CRC
    t.writeFrame({ kind: KIND_REQUEST, callId: 78 }, new Uint8Array(THERMO_MAX_FRAME_BYTES - HEADER_BYTES + 100).fill(0x5a)); // oversized
    const badMagic = rawFrame({ kind: KIND_REQUEST, callId: 79 }, Uint8Array.of(9));
    badMagic[0] = 0xcf;
    t.writeBytes(Uint8Array.of(0, ...encodeFrame(badMagic))); // valid CRC, bad magic
    t.writeFrame({ kind: 0, callId: 80 }); // valid CRC, kind 0 (invalid)
    const r = await c().read({ channel: 3 });
    assert.is(r.channel, 3, 'the next call is served');
    const d = delta(before, await tap().counters());
    assert.equal(
      { errCobs: d.errCobs, errTooShort: d.errTooShort, errCrc: d.errCrc, errOversize: d.errOversize, badHeaders: d.badHeaders },
      { errCobs: 2, errTooShort: 1, errCrc: 1, errOversize: 1, badHeaders: 2 },
      why(),
    );
    assert.ok((d.bytesDiscarded ?? 0) > THERMO_MAX_FRAME_BYTES, `bytesDiscarded ${d.bytesDiscarded}`);
    assert.is(t.kinds[KIND_ERROR]! + t.kinds[KIND_RESPONSE]! - responsesBefore, 2, 'answers: the read and the counters only');
    const s = t.stats;
    assert.is(s.errCrc + s.errCobs + s.errOversize + s.errTooShort + s.errMalformed, 0, 'every byte the device sent deframed cleanly');
  });

  test('a burst of back-to-back requests (more bytes than the UART FIFO and the receive ring): every one served in order, no UART overrun', async () => {
    // 64 read requests (~1.8 KB) in one write. The device answers each with a blocking
    // uart_write while the rest keeps arriving: the RX interrupt moves the bytes into the
    // firmware's ring meanwhile (rxPeak: its highest fill), and when the ring is full the UART
    // holds the rest (back-pressure under qemu) instead of dropping it. On a board at line rate
    // a polled receive would overrun the 16-byte FIFO (1 byte on mps2) here: rxOverruns.
    const before = await tap().counters();
    const key = keyOf('read');
    const n = 64;
    const frames = Array.from({ length: n }, (_, i) => ({
      f: { kind: KIND_REQUEST, keyLo: lo(key), keyHi: hi(key) }, payload: Uint8Array.of(i & 3),
    }));
    const answers = await tap().callBurst(frames);
    const after = await tap().counters();
    let seq0 = -1;
    answers.forEach((a, i) => {
      assert.is(a.kind, KIND_RESPONSE, `answer ${i}`);
      const v = new DataView(a.payload.buffer, a.payload.byteOffset, a.payload.byteLength);
      const ch = a.payload[0]!;
      const seq = v.getUint32(5, true);
      if (i === 0) seq0 = seq;
      assert.equal({ ch, celsius: v.getFloat32(1, true), seq }, { ch: i & 3, celsius: simulatedCelsius(i & 3, seq0 + i), seq: seq0 + i }, `answer ${i}`);
    });
    const d = delta(before, after);
    assert.equal(
      { requests: d.requests, responses: d.responses, errCrc: d.errCrc, errCobs: d.errCobs, errOversize: d.errOversize, rxOverruns: d.rxOverruns },
      { requests: n, responses: n, errCrc: undefined, errCobs: undefined, errOversize: undefined, rxOverruns: undefined },
      why(),
    );
    assert.is(after.rxOverruns, 0, 'no UART overrun since boot');
    assert.ok(after.rxPeak >= 1, `rxPeak ${after.rxPeak}: received bytes went through the ring`);
    const bytes = frames.reduce((k, x) => k + encodeFrame(rawFrame({ ...x.f, callId: 0x7f000000 }, x.payload)).length, 0);
    console.log(`  ${target.name}: burst of ${n} requests (${bytes} B): all served; receive ring peak ${after.rxPeak} B, overruns ${after.rxOverruns}`);
  });

  test(`soak: ${soakCalls} calls, ${window} in flight — none lost, none duplicated`, soak);

  test('GOODBYE, then a new session on the same line; a client with other schemas fails SchemaMismatch locally', async () => {
    await c().goodbye();
    const port = await target.reopen();
    ctx.port = port;
    watchPanics(port, ctx.panics);
    const v2 = await session(port, ThermoV2, deadlineMs);
    ctx.tap = v2.tap;
    const before = await v2.tap.counters();
    try {
      await v2.client.read({ channel: 0 });
      assert.unreachable('read has another response schema here');
    } catch (e) {
      assert.is((e as { code: number }).code, RpcCode.SchemaMismatch);
      assert.match((e as Error).message, /response schemas differ/);
    }
    assert.equal(await v2.client.setLed({ on: false }), { on: false }, 'the other methods work');
    const d = delta(before, await v2.tap.counters());
    assert.is(d.requests, 1, 'the mismatched read never went on the wire');
    assert.ok(before.goodbyes >= 1, 'the device saw the GOODBYE');
    await v2.client.close();
    ctx.client = undefined;
    // Back to the real schema for what follows.
    const port2 = await target.reopen();
    const s = await session(port2, ThermoDef, deadlineMs);
    ctx.port = port2;
    ctx.tap = s.tap;
    ctx.client = s.client;
    assert.equal(await s.client.info({}), { name: 'thermo', fwVersion: THERMO_FW_VERSION, schema: cellFingerprint(ThermoDef) });
  });

  if (target.powerCycle !== undefined) {
    const powerCycle = target.powerCycle.bind(target);
    test('power cycle under the UART link (connectUart): the call in flight fails Unavailable, the client resumes by itself, state is back to power-on defaults', async () => {
      // This session's own port goes first: the UART link opens the line by its stable name.
      await c().close();
      ctx.client = undefined;
      await closePort(ctx.port);
      const states: string[] = [];
      const helloWindowMs = 300;
      const dev = await connectUart(ThermoDef, {
        path: target.hostPath, maxFrameBytes: THERMO_MAX_FRAME_BYTES, deadlineMs, openTimeoutMs: 10_000, helloWindowMs, ...target.uartOptions,
      });
      try {
        dev.onState((s) => states.push(s));
        const before = await dev.read({ channel: 1 });
        assert.ok(before.seq > 1, 'the device has served reads before');
        // HELLOs within helloWindowMs of the previous one are one handshake for the client (a
        // boot HELLO, answers, retries): a reset inside that window would not be seen as one.
        await sleep(helloWindowMs + 200);
        // A stream running across the power cycle (the deadline only guards the test from hanging).
        const slow = dev.samples({ count: 1000 }, { credit: 1000, deadlineMs: 20_000 });
        await slow.next();
        const t0 = performance.now();
        await powerCycle();
        let streamErr: unknown = null;
        try { for await (const _ of slow) { /* drain until it fails */ } } catch (e) { streamErr = e; }
        assert.is((streamErr as { code?: number } | null)?.code, RpcCode.Unavailable, `the running stream fails Unavailable (${String(streamErr)})`);
        await dev.whenReady(15_000);
        const r = await dev.read({ channel: 1 });
        const ms = performance.now() - t0;
        console.log(`  ${target.name}: power cycle → first successful call after ${ms.toFixed(0)} ms (states: ${states.join(' → ')})`);
        assert.equal(r, { channel: 1, celsius: simulatedCelsius(1, 1), seq: 1 }, 'seq restarts at 1: a fresh device');
        assert.ok(dev.sessionCount >= 2, `sessions: ${dev.sessionCount}`);
        assert.ok(states.includes('lost') && states.includes('reopened'), states.join());
        assert.equal(await dev.info({}), { name: 'thermo', fwVersion: THERMO_FW_VERSION, schema: cellFingerprint(ThermoDef) });
      } finally {
        await dev.close();
      }
    });
  }

  test('no panics', () => {
    assert.equal(ctx.panics, [], why());
  });

  test.run();
}
