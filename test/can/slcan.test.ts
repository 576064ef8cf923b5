// slcan (src/transports/can/slcan.ts): the parser on its own (every split offset of a recorded
// stream, random garbage, overlong lines), the encoder, the bitrate letters, and the driver
// against a simulated adapter on a socat pty bridged to a MemoryCanBus
// (test/helpers/slcan-adapter.ts): the open sequence, classic and FD frames both ways, a burst
// under a small high-water mark, refusals, timestamps, unplug. The pty tests skip (with the
// reason) without socat or serialport.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ptyUnavailable } from '../../hw-tests/lib/pty.ts';
import {
  CAN_FLAG_BRS, CAN_FLAG_EXTENDED, CAN_FLAG_FD, type CanBusEvent, type CanDriver,
} from '../../src/transports/can/driver.ts';
import { MemoryCanBus } from '../../src/transports/can/memory-bus.ts';
import {
  SlcanParser, encodeSlcanFrame, openSlcan, slcanBitrateCommand, slcanDataBitrateCommand, SLCAN_MAX_LINE,
} from '../../src/transports/can/slcan.ts';
import { startSlcanAdapter } from '../helpers/slcan-adapter.ts';
import { skipDeclared } from '../helpers/skip.ts';

const EXT = CAN_FLAG_EXTENDED;
const FD = CAN_FLAG_FD;
const BRS = CAN_FLAG_BRS;

/** A parser that records everything as strings. */
function recorder(): { parser: SlcanParser; events: string[] } {
  const events: string[] = [];
  const parser = new SlcanParser({
    frame: (id, flags, data, len, ts) => events.push(`F ${id.toString(16)} ${flags} ${Buffer.from(data.subarray(0, len)).toString('hex')} ${ts}`),
    ok: () => events.push('OK'),
    bell: () => events.push('BELL'),
    ack: () => events.push('ACK'),
    status: (f) => events.push(`S ${f}`),
  });
  return { parser, events };
}

const p = suite('slcan parser and encoder');

p('bitrate letters S0–S8 and data bitrate letters Y0–Y5', () => {
  const want: Array<[number, string]> = [[10e3, 'S0'], [20e3, 'S1'], [50e3, 'S2'], [100e3, 'S3'], [125e3, 'S4'], [250e3, 'S5'], [500e3, 'S6'], [800e3, 'S7'], [1e6, 'S8']];
  for (const [b, c] of want) assert.is(slcanBitrateCommand(b), c);
  assert.throws(() => slcanBitrateCommand(83_333), RangeError);
  assert.throws(() => slcanBitrateCommand(750_000), RangeError);
  assert.is(slcanDataBitrateCommand(2e6), 'Y2');
  assert.is(slcanDataBitrateCommand(5e6), 'Y5');
  assert.is(slcanDataBitrateCommand(500e3), 'Y0');
  assert.throws(() => slcanDataBitrateCommand(8e6), RangeError);
});

p('encoder: every letter, DLC digits for FD lengths', () => {
  const out = new Uint8Array(200);
  const data = Uint8Array.from({ length: 64 }, (_, i) => i);
  const enc = (id: number, flags: number, len: number): string => Buffer.from(out.subarray(0, encodeSlcanFrame(out, 0, id, flags, data, 0, len))).toString('latin1');
  assert.is(enc(0x123, 0, 3), 't1233000102\r');
  assert.is(enc(0x1abcdef0, EXT, 0), 'T1ABCDEF00\r');
  assert.is(enc(0x7ff, FD, 12), 'd7FF9000102030405060708090A0B\r');
  assert.is(enc(0x12345, EXT | FD, 8), 'D000123458' + '0001020304050607' + '\r');
  assert.is(enc(1, FD | BRS, 16).slice(0, 5), 'b001A');
  assert.is(enc(0x1fffffff, EXT | FD | BRS, 64).length, 1 + 8 + 1 + 128 + 1);
  assert.is(enc(0x1fffffff, EXT | FD | BRS, 64).slice(0, 10), 'B1FFFFFFFF');
});

p('parser: every letter, timestamps, acks, status, remote frames, CR LF, lowercase hex', () => {
  const { parser, events } = recorder();
  parser.feed(Buffer.from('t1233aabbcc\rT1ABCDEF02ffee\rd7FF9000102030405060708090a0b\rD000000010\rb001A' + '11'.repeat(16) + '\rB1FFFFFFF8' + '22'.repeat(8) + '1234\r\r\x07z\rZ\rF24\rr1232\rR123456780\r\nt0010\r', 'latin1'));
  assert.equal(events, [
    'F 123 0 aabbcc -1',
    'F 1abcdef0 1 ffee -1',
    'F 7ff 2 000102030405060708090a0b -1',
    'F 1 3  -1',
    `F 1 6 ${'11'.repeat(16)} -1`,
    `F 1fffffff 7 ${'22'.repeat(8)} 4660`,
    'OK', 'BELL', 'ACK', 'ACK', 'S 36',
    'F 1 0  -1',
  ]);
  assert.is(parser.remote, 2);
  assert.is(parser.ignored, 2);
  assert.is(parser.acks, 2);
});

p('parser: invalid lines are counted and skipped, never thrown', () => {
  const { parser, events } = recorder();
  const bad = [
    't12', // short
    't1239' + '00'.repeat(9), // classic DLC 9
    'T2000000000', // id > 29 bits
    't8000', // standard id > 11 bits
    't12330011', // too few data digits
    't1233001122334455', // too many (not a timestamp)
    't123100G', // not hex in data... length mismatch anyway
    't12310G', // not hex
    'tx230', // not hex id
    'Q', 'F2', 'F2G', 'zz',
    'T123456781aa12G4', // bad timestamp digit
  ];
  parser.feed(Buffer.from(bad.join('\r') + '\rt1231aa\r', 'latin1'));
  assert.equal(events, ['F 123 0 aa -1']);
  assert.is(parser.ignored, bad.length);
});

p('parser: a recorded stream split at every offset (and byte by byte) gives the same events', () => {
  const stream = Buffer.from([
    'T1234567880001020304050607\r', 'z\r', '\x07', 'garbage!\r', 't7FF0\r', 'D1FFFFFFFF' + 'ab'.repeat(64) + '\r',
    'b0019' + 'cd'.repeat(12) + 'FFFF\r', '\r', 'F00\r', 't1001', '\x07', 't2001ee\r', 'Z\r', 'B000000010\r',
  ].join(''), 'latin1');
  const ref = recorder();
  ref.parser.feed(stream);
  assert.is(ref.events.filter((e) => e.startsWith('F ')).length, 6);
  for (let cut = 0; cut <= stream.length; cut++) {
    const r = recorder();
    r.parser.feed(stream, 0, cut);
    r.parser.feed(stream, cut, stream.length);
    assert.equal(r.events, ref.events, `split at ${cut}`);
    assert.is(r.parser.ignored, ref.parser.ignored);
  }
  for (let cut1 = 0; cut1 < stream.length; cut1 += 7) {
    for (let cut2 = cut1; cut2 <= stream.length; cut2 += 11) {
      const r = recorder();
      r.parser.feed(stream.subarray(0, cut1));
      r.parser.feed(stream.subarray(cut1, cut2));
      r.parser.feed(stream.subarray(cut2));
      assert.equal(r.events, ref.events, `split at ${cut1}, ${cut2}`);
    }
  }
  const r = recorder();
  for (let i = 0; i < stream.length; i++) r.parser.feed(stream, i, i + 1);
  assert.equal(r.events, ref.events);
});

p('parser: 10^4 random garbage bytes: no throw, counted, and it resynchronises at the next CR', () => {
  let seed = 0x2545f491;
  const rnd = (): number => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) & 0xff; };
  for (let round = 0; round < 5; round++) {
    const { parser, events } = recorder();
    const g = new Uint8Array(10_000);
    for (let i = 0; i < g.length; i++) {
      // Mostly bytes from the slcan alphabet, so that lines look almost valid.
      const r = rnd();
      g[i] = r < 40 ? 0x0d : r < 45 ? 0x07 : r < 180 ? '0123456789ABCDEFabcdeftTdDbBrRzZF'.charCodeAt(rnd() % 33) : rnd();
    }
    let at = 0;
    while (at < g.length) { const n = 1 + (rnd() % 64); parser.feed(g, at, Math.min(g.length, at + n)); at += n; }
    assert.ok(parser.ignored > 100, `ignored ${parser.ignored}`);
    const before = events.length;
    parser.feed(Buffer.from('\rT0000002A2beef\r', 'latin1'));
    assert.is(events[events.length - 1], 'F 2a 1 beef -1');
    assert.ok(events.length - before <= 2);
  }
});

p('parser: a line longer than the longest valid one is discarded (bounded buffer)', () => {
  const { parser, events } = recorder();
  const long = 'T' + '0'.repeat(SLCAN_MAX_LINE + 500);
  parser.feed(Buffer.from(long + '\rt0011' + '5a\r', 'latin1'));
  assert.equal(events, ['F 1 0 5a -1']);
  assert.is(parser.ignored, 1);
  // Exactly the longest valid line (FD, 64 bytes, timestamp) passes.
  const max = 'B1FFFFFFFF' + 'ee'.repeat(64) + 'ABCD';
  assert.is(max.length, SLCAN_MAX_LINE);
  parser.feed(Buffer.from(max + '\r', 'latin1'));
  assert.is(events.length, 2);
});

p.run();

// ---------------------------------------------------------------------------------------------
// The driver against a simulated adapter on a pty

interface Got { id: number; flags: number; data: number[] }

function collect(d: CanDriver, extra: { events?: CanBusEvent[]; closes?: unknown[]; onDrain?: () => void } = {}): Got[] {
  const got: Got[] = [];
  d.start({
    onFrame: (id, flags, data, off, len) => got.push({ id, flags, data: [...data.subarray(off, off + len)] }),
    onBusEvent: (e) => extra.events?.push(e),
    onDrain: () => extra.onDrain?.(),
    onClose: (e) => extra.closes?.push(e),
  });
  return got;
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

const missing = ptyUnavailable() ?? (await import('serialport').then(() => null, (e: Error) => `serialport not installed: ${e.message}`));
const s = suite('slcan driver (simulated adapter on a socat pty)');

if (missing !== null) skipDeclared(s, 'slcan over a pty', missing);
else {
  s('open sequence, classic frames both ways, close', async () => {
    const bus = new MemoryCanBus();
    const ad = await startSlcanAdapter(bus, { acks: true });
    const peer = bus.attach('peer');
    const gp = collect(peer);
    try {
      const drv = await openSlcan({ path: ad.path, bitrate: 500_000 });
      assert.equal(ad.commands, ['C', 'S6', 'O']);
      assert.is(drv.name, `slcan:${ad.path}`);
      assert.is(drv.fd, false);
      assert.is(drv.state, 'error-active');
      const closes: unknown[] = [];
      const got = collect(drv, { closes });
      drv.send(0x1abcdef, EXT, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), 0, 8);
      drv.send(0x123, 0, Uint8Array.of(9), 0, 1);
      drv.send(0x7, EXT, Uint8Array.of(), 0, 0);
      await until(() => gp.length === 3);
      assert.equal(gp, [
        { id: 0x1abcdef, flags: EXT, data: [1, 2, 3, 4, 5, 6, 7, 8] },
        { id: 0x123, flags: 0, data: [9] },
        { id: 0x7, flags: EXT, data: [] },
      ]);
      peer.send(0x1fffffff, EXT, Uint8Array.of(0xde, 0xad), 0, 2);
      peer.send(0x42, 0, Uint8Array.of(0xbe, 0xef, 0), 0, 3);
      await until(() => got.length === 2);
      assert.equal(got, [{ id: 0x1fffffff, flags: EXT, data: [0xde, 0xad] }, { id: 0x42, flags: 0, data: [0xbe, 0xef, 0] }]);
      await until(() => drv.acks === 3);
      assert.is(drv.stats.framesOut, 3);
      assert.is(drv.stats.bytesOut, 9);
      assert.is(drv.stats.framesIn, 2);
      assert.is(drv.stats.ignored, 0);
      drv.close();
      await until(() => closes.length === 1);
      assert.is(closes[0], null);
      assert.is(ad.commands[ad.commands.length - 1], 'C');
      assert.is(drv.send(1, EXT, Uint8Array.of(), 0, 0), false);
      assert.is(drv.stats.dropped, 1);
    } finally {
      await ad.close();
    }
  });

  s('CAN FD: Y letter, d/D/b/B both ways, every FD length, timestamps accepted', async () => {
    const bus = new MemoryCanBus({ fd: true });
    const ad = await startSlcanAdapter(bus, { timestamps: true, bellOnClose: true });
    const peer = bus.attach('peer');
    const gp = collect(peer);
    try {
      const drv = await openSlcan({ path: ad.path, bitrate: 1_000_000, fd: true, dataBitrate: 5_000_000 });
      assert.equal(ad.commands, ['C', 'S8', 'Y5', 'O']);
      assert.is(drv.fd, true);
      const got = collect(drv);
      const lens = [0, 1, 8, 12, 16, 20, 24, 32, 48, 64];
      const flagsSeq = [FD, FD | EXT, FD | BRS, FD | BRS | EXT, EXT];
      const data = Uint8Array.from({ length: 64 }, (_, i) => 255 - i);
      const want: Got[] = [];
      let k = 0;
      for (const len of lens) {
        for (const f of flagsSeq) {
          if ((f & FD) === 0 && len > 8) continue;
          const id = (f & EXT) !== 0 ? 0x1f000000 + k : 0x700 + (k & 0xff);
          want.push({ id, flags: f, data: [...data.subarray(0, len)] });
          k++;
        }
      }
      for (const w of want) drv.send(w.id, w.flags, data, 0, w.data.length);
      await until(() => gp.length === want.length);
      assert.equal(gp, want);
      for (const w of want) peer.send(w.id, w.flags, data, 0, w.data.length);
      await until(() => got.length === want.length);
      assert.equal(got, want);
      drv.close();
      await until(() => drv.closed);
    } finally {
      await ad.close();
    }
  });

  s('a 1000-frame burst under a high-water mark of 8: send false → onDrain, nothing lost, in order', async () => {
    const bus = new MemoryCanBus();
    const ad = await startSlcanAdapter(bus);
    const peer = bus.attach('peer');
    const gp = collect(peer);
    try {
      const drv = await openSlcan({ path: ad.path, bitrate: 250_000, highWaterMark: 8 });
      let wake: (() => void) | null = null;
      let drains = 0;
      const got = collect(drv, { onDrain: () => { drains++; wake?.(); } });
      let falses = 0;
      const t0 = performance.now();
      for (let i = 0; i < 1000; i++) {
        if (!drv.send(0x10000 + i, EXT, Uint8Array.of(i >> 8, i & 0xff, 3, 4, 5, 6, 7, 8), 0, 8)) {
          falses++;
          await new Promise<void>((r) => { wake = r; });
          wake = null;
        }
      }
      await until(() => gp.length === 1000);
      const ms = performance.now() - t0;
      console.log(`    slcan over a pty: 1000 classic 8-byte frames in ${ms.toFixed(0)} ms (${(1000 / ms * 1000).toFixed(0)} frames/s), send false ${falses}×`);
      assert.ok(falses > 10);
      assert.is(drains, falses);
      assert.equal(gp.map((g) => g.id - 0x10000), Array.from({ length: 1000 }, (_, i) => i));
      assert.ok(gp.every((g, i) => g.data[0] === i >> 8 && g.data[1] === (i & 0xff)));
      assert.is(drv.stats.dropped, 0);
      // And the other way: a burst from the bus arrives complete and in order.
      for (let i = 0; i < 1000; i++) peer.send(0x20000 + i, EXT, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), 0, 8);
      await until(() => got.length === 1000);
      assert.equal(got.map((g) => g.id - 0x20000), Array.from({ length: 1000 }, (_, i) => i));
      drv.close();
      await until(() => drv.closed);
    } finally {
      await ad.close();
    }
  });

  s('garbage and BELLs from the adapter are counted (errIo, ignored), reported only with error reporting on', async () => {
    const bus = new MemoryCanBus();
    const ad = await startSlcanAdapter(bus);
    try {
      const drv = await openSlcan({ path: ad.path, bitrate: 125_000 });
      const events: CanBusEvent[] = [];
      const got = collect(drv, { events });
      ad.writeRaw('xyz\r\x07t1231\r');
      await until(() => drv.stats.errIo === 1 && drv.stats.ignored === 2);
      assert.is(events.length, 0);
      drv.setErrorReporting(true);
      ad.writeRaw('\x07F20\r');
      await until(() => drv.stats.errIo === 2 && events.length === 2);
      assert.equal(events[0], { type: 'error', state: 'error-active', errorClass: 0 });
      assert.equal(events[1], { type: 'state', state: 'error-passive', errorClass: 0x4 });
      assert.is(drv.state, 'error-passive');
      // Software filters.
      drv.setFilters([{ id: 0x100, mask: 0x700, extended: false }]);
      ad.writeRaw('t10011a\rt20011b\rT0000010011c\rt1FF11d\r');
      await until(() => got.length === 2);
      assert.equal(got.map((g) => g.data[0]), [0x1a, 0x1d]);
      drv.close();
      await until(() => drv.closed);
    } finally {
      await ad.close();
    }
  });

  s('the adapter refuses a command → CanAdapter (911); a mute adapter → 911 after the timeout; no port → LinkIo', async () => {
    const bus = new MemoryCanBus();
    const ad = await startSlcanAdapter(bus, { refuse: ['S'] });
    try {
      const e = await openSlcan({ path: ad.path, bitrate: 500_000 }).then(() => null, (x: { code?: number; message: string }) => x);
      assert.is(e?.code, 911);
      assert.match(e!.message, /S6/);
    } finally {
      await ad.close();
    }
    const mute = await startSlcanAdapter(bus, { mute: true });
    try {
      const e = await openSlcan({ path: mute.path, bitrate: 500_000, commandTimeoutMs: 100 }).then(() => null, (x: { code?: number }) => x);
      assert.is(e?.code, 911);
    } finally {
      await mute.close();
    }
    const fdOnClassic = await startSlcanAdapter(bus, { fd: false });
    try {
      const e = await openSlcan({ path: fdOnClassic.path, bitrate: 500_000, fd: true }).then(() => null, (x: { code?: number }) => x);
      assert.is(e?.code, 911, 'a classic adapter refuses Y');
    } finally {
      await fdOnClassic.close();
    }
    const e = await openSlcan({ path: '/nonexistent/ttyX', bitrate: 500_000 }).then(() => null, (x: { code?: number }) => x);
    assert.is(e?.code, 501);
    const r = await openSlcan({ path: '/x', bitrate: 33_000 }).then(() => null, (x: unknown) => x);
    assert.instance(r, RangeError);
  });

  s('frames that arrive between open and start() wait for start()', async () => {
    const bus = new MemoryCanBus();
    const ad = await startSlcanAdapter(bus);
    const peer = bus.attach('peer');
    collect(peer);
    try {
      const drv = await openSlcan({ path: ad.path, bitrate: 100_000 });
      for (let i = 0; i < 5; i++) peer.send(0x300 + i, 0, Uint8Array.of(i), 0, 1);
      await new Promise((r) => setTimeout(r, 50));
      const got = collect(drv);
      await until(() => got.length === 5);
      assert.equal(got.map((g) => g.id), [0x300, 0x301, 0x302, 0x303, 0x304]);
      assert.is(drv.stats.ignored, 0);
      drv.close();
      await until(() => drv.closed);
    } finally {
      await ad.close();
    }
  });

  s('unplug (socat killed) → onClose(LinkIo 501) once', async () => {
    const bus = new MemoryCanBus();
    const ad = await startSlcanAdapter(bus);
    try {
      const drv = await openSlcan({ path: ad.path, bitrate: 500_000 });
      const closes: Array<{ code?: number } | null> = [];
      collect(drv, { closes: closes as unknown[] });
      drv.send(1, EXT, Uint8Array.of(1), 0, 1);
      await until(() => ad.framesFromHost === 1);
      await ad.unplug();
      await until(() => closes.length === 1);
      assert.is(closes[0]?.code, 501);
      assert.is(drv.closed, true);
      await new Promise((r) => setTimeout(r, 50));
      assert.is(closes.length, 1);
      assert.is(drv.send(1, EXT, Uint8Array.of(1), 0, 1), false);
    } finally {
      await ad.close();
    }
  });
}
s.run();
