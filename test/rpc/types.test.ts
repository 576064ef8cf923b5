// Type-level tests: `npx tsc --noEmit -p .` checks this file; each @ts-expect-error line must be
// an error, or tsc fails. The runtime part only checks that the helpers behave the same.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryPair } from '../../src/transports/memory.ts';
import type { Link } from '../../src/transports/link.ts';
import { struct, u32 } from '../../src/codec/index.ts';
import { defineCell, method, type CellDef } from '../../src/rpc/index.ts';
import { describeCell } from '../../src/codec/schema-json.ts';
import { connect, serve, RpcCode, callError, type Client, type Impl, type CallError } from '../../src/rpc/index.ts';
import { Thermo } from './fixtures/thermo.ts';
import { thermoImpl } from './fixtures/impl.ts';

const V = struct('V', { v: u32 });
const Echo1 = defineCell({ name: 'echo1', methods: { ping: method(V, V) } });

// A cell declared without `events`/`streams` is a CellDef and describable (no `unknown` leak).
export const echo1Description = describeCell(Echo1);
export const echo1AsDef: CellDef = Echo1;

/** Exhaustive handling of everything `read` can fail with: removing a case is a tsc error. */
export function describeReadError(e: unknown): string {
  const err = callError(Thermo.methods.read, e);
  switch (err.code) {
    case RpcCode.Timeout: case RpcCode.Unavailable: case RpcCode.Closed: return 'retry later';
    case RpcCode.SchemaMismatch: case RpcCode.UnknownMethod: return 'run cell gen';
    case RpcCode.Cancelled: return 'cancelled';
    case RpcCode.Malformed: case RpcCode.Internal: return 'bug';
    case RpcCode.Unauthorized: return 'auth';
    case RpcCode.Overloaded: return 'back off';
    case 1001: return `sensor ${err.payload.sensor} fault: ${err.payload.reason}`; // payload typed as SensorFault
    case 1002: return `busy (${String(err.payload)})`;
    default: { const never: never = err; return never; }
  }
}

// Compile-time only.
export async function typeChecks(t: Client<typeof Thermo>): Promise<void> {
  const r = await t.read({ channel: 2 });
  const temp: number = r.temp;
  void temp;
  // @ts-expect-error wrong field name in the request
  await t.read({ chanel: 2 });
  // @ts-expect-error wrong field type
  await t.read({ channel: '2' });
  // @ts-expect-error no such method
  await t.write({ channel: 2 });
  // @ts-expect-error the response has no such field
  void (await t.read({ channel: 2 })).humidity;
  for await (const s of t.samples({ count: 3, failAt: 0 })) {
    const v: number = s.v;
    // @ts-expect-error items are Samples
    const w: string = s.v;
    void v; void w;
  }
  t.on('alarm', (a) => { const level: number = a.level; void level; });
  // @ts-expect-error no such event
  t.on('fire', () => {});
  // The callback form: `err` and `res` narrow together.
  t.read.send({ channel: 2 }, (err, res) => {
    if (err !== null) {
      const c: number = err.code;
      // @ts-expect-error res is undefined when err is set
      void res.temp;
      void c;
      return;
    }
    const tc: number = res.temp;
    void tc;
  });
  // @ts-expect-error wrong request type in send
  t.read.send({ channel: '2' }, () => {});
  // @ts-expect-error the response of read has no field text
  t.read.send({ channel: 2 }, (err, res) => { if (err === null) void res.text; });
  t.read.send({ channel: 2 }, (err) => {
    if (err === null) return;
    switch (err.code) {
      case 1001: { const s: number = err.payload.sensor; void s; return; }
      case 1002: return;
      default: { const sdk: 400 | 401 | 402 | 403 | 404 | 405 | 406 | 407 | 408 | 409 = err.code; void sdk; }
    }
  });
  // @ts-expect-error 1003 is not a declared error code of read
  const c: CallError<typeof Thermo.methods.read>['code'] = 1003;
  void c;
}

// @ts-expect-error an implementation must have every method (greet missing)
export const incomplete: Impl<typeof Thermo> = { read: () => ({ channel: 0, temp: 0, seq: 0 }), sleep: async () => ({ ok: 1 }), echo: (r) => r, samples: function* () {} };

export const badFail: Partial<Impl<typeof Thermo>> = {
  read(_req, ctx) {
    // @ts-expect-error sensorFault needs its payload
    ctx.fail('sensorFault');
    // @ts-expect-error not a declared error
    ctx.fail('onFire');
    return ctx.fail('busy');
  },
};

// Inline implementations are contextually typed from the def (serve's impl is NoInfer<Impl<D>>):
// no annotations needed, and a wrong one is an error at the handler. Compile-time only.
export function inlineImpls(link: Link): void {
  serve(Echo1, { ping: (m) => m }, link);
  serve(Echo1, { ping: (m) => { const n: number = m.v; return { v: n + 1 }; } }, link);
  serve(Thermo, {
    read: (req, ctx) => { if (req.channel > 8) ctx.fail('sensorFault', { sensor: req.channel, reason: 'open' }); return { channel: req.channel, temp: 21.5, seq: 1 }; },
    sleep: async (req, ctx) => { await new Promise((r) => setTimeout(r, req.ms)); return { ok: ctx.signal.aborted ? 0 : 1 }; },
    echo: (r) => r,
    greet: (r) => ({ text: `hello ${r.who}`, n: r.who.length }),
    async *samples(req) { for (let i = 0; i < req.count; i++) yield { i, v: i / 2 }; },
  }, link);
  // @ts-expect-error the response has the wrong type (v is a number)
  serve(Echo1, { ping: () => ({ v: 'x' }) }, link);
  // @ts-expect-error the request has no such field
  serve(Echo1, { ping: (m) => ({ v: m.value }) }, link);
  // @ts-expect-error greet, echo, sleep and samples are missing
  serve(Thermo, { read: (req) => ({ channel: req.channel, temp: 0, seq: 0 }) }, link);
  serve(Thermo, {
    // @ts-expect-error busy is declared without a payload, sensorFault needs one
    read: (_req, ctx) => ctx.fail('sensorFault'),
    sleep: async () => ({ ok: 1 }),
    echo: (r) => r,
    greet: (r) => ({ text: r.who, n: 1 }),
    *samples() { yield { i: 0, v: 0 }; },
  }, link);
}

const s = suite('types');
s('the exhaustive switch maps real errors', async () => {
  const [a, b] = memoryPair();
  serve(Thermo, thermoImpl(), b, { heartbeatMs: 0 });
  const t = await connect(Thermo, a, { heartbeatMs: 0 });
  assert.is(await t.read({ channel: 9 }).then(() => '', describeReadError), 'sensor 9 fault: open circuit');
  assert.is(await t.read({ channel: 8 }).then(() => '', describeReadError), 'busy (undefined)');
  assert.is(describeReadError(new Error('plain')), 'bug');
  await t.close();
});
s('an inline implementation serves (runtime of the contextually typed impl)', async () => {
  const [a, b] = memoryPair();
  serve(Echo1, { ping: (m) => ({ v: m.v * 2 }) }, b, { heartbeatMs: 0 });
  const t = await connect(Echo1, a, { heartbeatMs: 0 });
  assert.equal(await t.ping({ v: 21 }), { v: 42 });
  await t.close();
});
s.run();
