// Runs inside the CAN micro-VM (test/helpers/can-vm.ts), as root, with vcan0 (classic), vcan1
// (FD) and vcan2 (classic, paced by a small tbf qdisc) up. Each case prints one line
// `CASE <json>`: { name, ok, error?, ...figures }; test/can-vm/socketcan.test.ts asserts on them.
import { execFileSync } from 'node:child_process';
import { CAN_FLAG_BRS, CAN_FLAG_EXTENDED, CAN_FLAG_FD, type CanBusEvent, type CanDriverHandlers } from '../../../src/transports/can/driver.ts';
import { CAN_SLOT_BYTES, loadCanAddon } from '../../../src/transports/can/native.ts';
import { openSocketCan, type SocketCanDriver, type SocketCanOptions } from '../../../src/transports/can/socketcan.ts';
import type { CellError } from '../../../src/wire/cell-error.ts';

interface Rx { id: number; flags: number; data: number[]; ts: number }

function check(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number, what: string | (() => string)): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(5);
  }
}

interface Opened { drv: SocketCanDriver; rx: Rx[]; events: CanBusEvent[]; closes: (CellError | null)[]; drains: number }

function open(ifname: string, opts: SocketCanOptions = {}, keepData = true): Opened {
  const o: Opened = { drv: openSocketCan(ifname, opts), rx: [], events: [], closes: [], drains: 0 };
  const h: CanDriverHandlers = {
    onFrame(id, flags, data, off, len, ts) {
      o.rx.push({ id, flags, data: keepData ? Array.from(data.subarray(off, off + len)) : [data[off]!, data[off + 1]!, data[off + 2]!, data[off + 3]!], ts });
    },
    onBusEvent(ev) { o.events.push(ev); },
    onDrain() { o.drains++; },
    onClose(err) { o.closes.push(err); },
  };
  o.drv.start(h);
  return o;
}

function thrown(fn: () => unknown): { code?: number; message: string; name?: string } {
  try {
    fn();
  } catch (e) {
    return e as { code?: number; message: string };
  }
  throw new Error('did not throw');
}

const cases: Record<string, () => Promise<Record<string, unknown>>> = {
  async classic() {
    const a = open('vcan0');
    const b = open('vcan0');
    const sent: Rx[] = [];
    for (let i = 0; i < 200; i++) {
      const len = i % 9;
      const data = Array.from({ length: len }, (_, k) => (i * 7 + k) & 0xff);
      const ext = i % 2 === 0;
      const id = ext ? (0x1000000 + i * 977) & 0x1fffffff : (0x100 + i) & 0x7ff;
      sent.push({ id, flags: ext ? CAN_FLAG_EXTENDED : 0, data, ts: 0 });
      (i < 100 ? a : b).drv.send(id, ext ? CAN_FLAG_EXTENDED : 0, Uint8Array.from(data), 0, len);
    }
    await until(() => b.rx.length >= 100 && a.rx.length >= 100, 5000, '100 frames each way');
    await sleep(50);
    check(b.rx.length === 100 && a.rx.length === 100, `b got ${b.rx.length}, a got ${a.rx.length} (own frames must not come back)`);
    const got = [...b.rx, ...a.rx];
    got.forEach((r, i) => {
      const s = sent[i]!;
      check(r.id === s.id && r.flags === s.flags && JSON.stringify(r.data) === JSON.stringify(s.data), `frame ${i}: got ${JSON.stringify(r)}, sent ${JSON.stringify(s)}`);
    });
    for (const side of [a, b]) {
      for (let i = 0; i < side.rx.length; i++) {
        check(side.rx[i]!.ts > 1e15, `timestamp ${side.rx[i]!.ts} is not a µs wall-clock time`);
        if (i > 0) check(side.rx[i]!.ts >= side.rx[i - 1]!.ts, `timestamps go back at ${i}`);
      }
    }
    check(a.drv.stats.framesOut === 100 && b.drv.stats.framesIn === 100 && a.drv.stats.bytesOut === b.drv.stats.bytesIn, 'stats');
    const fdOnClassic = thrown(() => openSocketCan('vcan0', { fd: true }));
    check(fdOnClassic.code === 901 && /mtu 72/.test(fdOnClassic.message), `fd on a classic vcan: ${fdOnClassic.code} ${fdOnClassic.message}`);
    const none = thrown(() => openSocketCan('nocan7'));
    check(none.code === 901 && /nocan7/.test(none.message), `unknown interface: ${none.code} ${none.message}`);
    const fdFrame = thrown(() => a.drv.send(1, CAN_FLAG_FD, new Uint8Array(12), 0, 12));
    check(fdFrame instanceof RangeError, 'an FD frame on a classic driver is a RangeError');
    const badLen = thrown(() => a.drv.send(1, 0, new Uint8Array(12), 0, 9));
    check(badLen instanceof RangeError, 'len 9 is a RangeError');
    a.drv.close();
    a.drv.close();
    check(a.closes.length === 1 && a.closes[0] === null, 'close: onClose(null) once');
    check(a.drv.send(1, 0, new Uint8Array(1), 0, 1) === false && a.drv.stats.dropped === 1, 'send after close: false, dropped');
    b.drv.close();
    return { frames: 200, firstTs: b.rx[0]!.ts };
  },

  async fd() {
    const a = open('vcan1', { fd: true });
    const b = open('vcan1', { fd: true });
    const lens = [0, 5, 8, 12, 16, 20, 24, 32, 48, 64];
    for (const len of lens) {
      const data = Uint8Array.from({ length: len }, (_, k) => (k * 3 + len) & 0xff);
      a.drv.send(0x1abcdef, CAN_FLAG_EXTENDED | CAN_FLAG_FD | CAN_FLAG_BRS, data, 0, len);
    }
    a.drv.send(0x123, CAN_FLAG_FD, new Uint8Array(64).fill(0x5a), 0, 64); // FD without BRS, standard id
    a.drv.send(0x124, 0, Uint8Array.of(1, 2, 3), 0, 3); // a classic frame through the FD socket
    await until(() => b.rx.length >= lens.length + 2, 5000, 'FD frames');
    lens.forEach((len, i) => {
      const r = b.rx[i]!;
      check(r.id === 0x1abcdef && r.flags === (CAN_FLAG_EXTENDED | CAN_FLAG_FD | CAN_FLAG_BRS), `FD frame ${i}: id ${r.id.toString(16)} flags ${r.flags}`);
      check(r.data.length === len && r.data.every((v, k) => v === ((k * 3 + len) & 0xff)), `FD frame ${i} data`);
    });
    const noBrs = b.rx[lens.length]!;
    check(noBrs.id === 0x123 && noBrs.flags === CAN_FLAG_FD && noBrs.data.length === 64 && noBrs.data.every((v) => v === 0x5a), `FD without BRS: ${JSON.stringify(noBrs)}`);
    const classic = b.rx[lens.length + 1]!;
    check(classic.id === 0x124 && classic.flags === 0 && classic.data.join() === '1,2,3', `classic on FD: ${JSON.stringify(classic)}`);
    check(a.drv.stats.bytesOut === b.drv.stats.bytesIn && b.drv.stats.framesIn === lens.length + 2, 'FD stats');
    const bad = thrown(() => a.drv.send(1, CAN_FLAG_FD, new Uint8Array(64), 0, 13));
    check(bad instanceof RangeError, 'FD len 13 is a RangeError');
    a.drv.close();
    b.drv.close();
    return { frames: b.rx.length };
  },

  async filters() {
    const a = open('vcan0');
    const all = open('vcan0');
    const f = open('vcan0', { filters: [{ id: 0x100, mask: 0x7f0, extended: false }, { id: 0x1234500, mask: 0x1fffff00 }] });
    const ids: [number, number][] = [[0x100, 0], [0x10f, 0], [0x110, 0], [0x7ff, 0], [0x1234500, CAN_FLAG_EXTENDED], [0x12345ff, CAN_FLAG_EXTENDED],
      [0x1234600, CAN_FLAG_EXTENDED], [0x100, CAN_FLAG_EXTENDED]];
    for (const [id, fl] of ids) a.drv.send(id, fl, Uint8Array.of(1), 0, 1);
    await until(() => all.rx.length >= ids.length, 5000, 'all frames at the unfiltered socket');
    await sleep(50);
    const seen = f.rx.map((r) => `${r.id.toString(16)}/${r.flags}`).join(' ');
    check(seen === '100/0 10f/0 1234500/1 12345ff/1', `filtered socket saw ${seen}`);
    f.drv.setFilters([]);
    a.drv.send(0x555, 0, Uint8Array.of(2), 0, 1);
    await until(() => f.rx.length === 5, 5000, 'the frame after setFilters([])');
    f.drv.setFilters([{ id: 0x200, mask: 0x7ff, extended: false }]);
    a.drv.send(0x555, 0, Uint8Array.of(3), 0, 1);
    a.drv.send(0x200, 0, Uint8Array.of(4), 0, 1);
    await until(() => f.rx.length === 6, 5000, 'the frame after setFilters([0x200])');
    await sleep(30);
    check(f.rx.length === 6 && f.rx[5]!.id === 0x200, `after setFilters: ${f.rx.map((r) => r.id.toString(16)).join(' ')}`);
    for (const o of [a, all, f]) o.drv.close();
    return { filtered: 4, of: ids.length };
  },

  async errors() {
    // A raw socket through the addon itself sends frames with CAN_ERR_FLAG set: vcan carries
    // them like any frame, and the kernel delivers them only to sockets whose error mask matches.
    const addon = loadCanAddon()!;
    const raw = addon.open('vcan0', { loopback: true }, () => {}, () => {});
    const tx = new ArrayBuffer(CAN_SLOT_BYTES * 4);
    const u32 = new Uint32Array(tx);
    const u8 = new Uint8Array(tx);
    const put = (slot: number, canId: number, d1: number) => {
      u32[slot * 20] = 16;
      u32[slot * 20 + 2] = canId >>> 0;
      u8[slot * 80 + 12] = 8;
      u8.fill(0, slot * 80 + 16, slot * 80 + 24);
      u8[slot * 80 + 16 + 1] = d1;
    };
    const ERR = 0x20000000;
    put(0, ERR | 0x4, 0x20); // CAN_ERR_CRTL, TX_PASSIVE
    put(1, ERR | 0x40, 0); // CAN_ERR_BUSOFF
    put(2, ERR | 0x100, 0); // CAN_ERR_RESTARTED
    put(3, ERR | 0x4, 0x08); // CAN_ERR_CRTL, TX_WARNING
    const on = open('vcan0', { errorReporting: true });
    const off = open('vcan0');
    const later = open('vcan0');
    const data = open('vcan0', { errorReporting: true });
    const sent = addon.send(raw, tx, 0, 4);
    check(sent === 4, `raw send of 4 error frames returned ${sent}`);
    await until(() => on.events.length >= 7, 5000, 'error events');
    await sleep(50);
    const evs = on.events.map((e) => `${e.type}:${e.state}:${e.errorClass}`).join(' ');
    check(evs === 'error:error-passive:4 state:error-passive:4 error:bus-off:64 state:bus-off:64 error:error-active:256 state:error-active:256 error:error-warning:4 state:error-warning:4',
      `events: ${evs}`);
    check(on.events[0]!.data?.[1] === 0x20, 'the error frame data comes with the event');
    check(on.drv.stats.errorFrames === 4 && on.drv.state === 'error-warning' && on.rx.length === 0, `on: ${JSON.stringify(on.drv.stats)} ${on.drv.state}`);
    check(off.events.length === 0 && off.drv.stats.errorFrames === 0 && off.rx.length === 0 && off.drv.state === 'unknown', 'reporting off: nothing seen');
    // Turned on later, then off again.
    later.drv.setErrorReporting(true);
    addon.send(raw, tx, 0, 1);
    await until(() => later.events.length >= 2, 5000, 'events after setErrorReporting(true)');
    later.drv.setErrorReporting(false);
    addon.send(raw, tx, 1, 1);
    await sleep(100);
    check(later.events.length === 2 && later.drv.stats.errorFrames === 1, `later: ${later.events.length} events, ${later.drv.stats.errorFrames} error frames`);
    // Data frames still flow to a socket with error reporting on.
    off.drv.send(0x42, 0, Uint8Array.of(9), 0, 1);
    await until(() => data.rx.length === 1, 5000, 'a data frame next to error frames');
    addon.close(raw);
    for (const o of [on, off, later, data]) o.drv.close();
    return { events: on.events.length };
  },

  async rxOverflow() {
    // Frames wait in the kernel between open and start(); past the socket's receive buffer the
    // kernel drops them and says how many (SO_RXQ_OVFL → stats.rxOverflows).
    const N = 3000;
    const drv = openSocketCan('vcan0');
    const tx = open('vcan0');
    const d = new Uint8Array(8);
    for (let i = 0; i < N; i++) {
      d[0] = i & 0xff; d[1] = i >>> 8;
      tx.drv.send(0x77, 0, d, 0, 8);
    }
    await until(() => tx.drv.stats.framesOut === N, 10_000, 'the sender to finish');
    const seqs: number[] = [];
    drv.start({ onFrame(_id, _fl, data, off) { seqs.push(data[off]! | (data[off + 1]! << 8)); }, onClose() {} });
    await until(() => seqs.length > 0, 5000, 'the queued frames');
    await sleep(100);
    // The kernel stamps its drop count on frames queued after the drops: one more frame brings it.
    d[0] = 0xff; d[1] = 0xff;
    tx.drv.send(0x77, 0, d, 0, 8);
    await until(() => seqs[seqs.length - 1] === 0xffff, 5000, `the frame after the drops (kept ${seqs.length})`);
    const kept = seqs.length - 1;
    check(kept + drv.stats.rxOverflows === N, `received ${kept} + dropped ${drv.stats.rxOverflows} != ${N}`);
    check(seqs.slice(0, kept).every((v, i) => v === i), 'the frames kept are the first ones, in order');
    drv.close();
    tx.drv.close();
    return { kept, dropped: drv.stats.rxOverflows };
  },

  async enobufs() {
    // vcan2 is paced by tbf (rate 500kbit, limit 200 bytes): the qdisc refuses (ENOBUFS) long before
    // 10 000 frames are in; every frame must still arrive, in order.
    const N = 10_000;
    // A receive buffer of ~8 000 frames: this one process also sends, and under TCG on a busy
    // host it can stall longer than the default buffer's ~70 ms of a 500 kbit/s bus.
    const rx = open('vcan2', { receiveBufferBytes: 8 << 20 }, false);
    const tx = open('vcan2', { highWaterFrames: 64 });
    const d = new Uint8Array(8);
    const t0 = Date.now();
    let falses = 0;
    for (let i = 0; i < N; i++) {
      d[0] = i & 0xff; d[1] = (i >>> 8) & 0xff; d[2] = (i >>> 16) & 0xff; d[3] = 0;
      if (!tx.drv.send(0x10, 0, d, 0, 8)) falses++;
    }
    await until(() => rx.rx.length >= N, 45_000, () => `${N} frames through the paced vcan2 (got ${rx.rx.length}; tx ${JSON.stringify(tx.drv.stats)}, queued ${tx.drv.queued}, rx ${JSON.stringify(rx.drv.stats)})`);
    const ms = Date.now() - t0;
    await sleep(50);
    check(rx.rx.length === N, `received ${rx.rx.length} of ${N}`);
    for (let i = 0; i < N; i++) {
      const r = rx.rx[i]!;
      const seq = r.data[0]! | (r.data[1]! << 8) | (r.data[2]! << 16);
      check(seq === i, `frame ${i} carries ${seq}: lost or reordered`);
    }
    const st = tx.drv.stats;
    check(st.txBackoffs > 0, 'no back-off: the qdisc never refused (ENOBUFS not reached)');
    check(st.framesOut === N && st.dropped === 0 && st.errIo === 0, `tx stats ${JSON.stringify(st)}`);
    check(falses > 0 && tx.drains >= 1, `send returned false ${falses} times, onDrain ${tx.drains} times`);
    check(rx.drv.stats.rxOverflows === 0, `receiver overflowed ${rx.drv.stats.rxOverflows}`);
    tx.drv.close();
    rx.drv.close();
    return { frames: N, ms, framesPerSec: Math.round(N / (ms / 1000)), txBackoffs: st.txBackoffs, sendFalse: falses, drains: tx.drains };
  },

  async closeMidBurst() {
    const N = 5000;
    const rx = open('vcan2', {}, false);
    const tx = open('vcan2');
    const d = new Uint8Array(8);
    for (let i = 0; i < N; i++) {
      d[0] = i & 0xff; d[1] = (i >>> 8) & 0xff;
      tx.drv.send(0x11, 0, d, 0, 8);
    }
    await sleep(100);
    tx.drv.close();
    const st = { ...tx.drv.stats };
    check(tx.closes.length === 1 && tx.closes[0] === null, 'onClose(null) once');
    check(st.framesOut + st.dropped === N && st.dropped > 0, `framesOut ${st.framesOut} + dropped ${st.dropped} != ${N}`);
    await sleep(300);
    check(rx.rx.length <= st.framesOut, `received ${rx.rx.length} > sent ${st.framesOut}`);
    rx.rx.forEach((r, i) => check((r.data[0]! | (r.data[1]! << 8)) === i, `frame ${i} out of order after close`));
    // The interface going away closes a driver with CanNoInterface.
    const gone = open('vcan0');
    execFileSync('ip', ['link', 'set', 'vcan0', 'down']);
    await until(() => gone.closes.length === 1, 5000, 'onClose after the interface went down');
    const err = gone.closes[0] as CellError;
    check(err !== null && err.code === 901, `down: ${err?.code} ${err?.message}`);
    execFileSync('ip', ['link', 'set', 'vcan0', 'up']);
    const down = thrown(() => { execFileSync('ip', ['link', 'set', 'vcan2', 'down']); openSocketCan('vcan2'); });
    check(down.code === 901 && /down/.test(down.message), `open on a down interface: ${down.code} ${down.message}`);
    rx.drv.close();
    return { sentBeforeClose: st.framesOut, dropped: st.dropped, received: rx.rx.length };
  },
};

const only = process.argv.slice(2);
for (const [name, fn] of Object.entries(cases)) {
  if (only.length > 0 && !only.includes(name)) continue;
  const t0 = performance.now();
  try {
    const figures = await fn();
    console.log(`CASE ${JSON.stringify({ name, ok: true, ms: Math.round(performance.now() - t0), ...figures })}`);
  } catch (e) {
    console.log(`CASE ${JSON.stringify({ name, ok: false, ms: Math.round(performance.now() - t0), error: (e as Error).stack ?? String(e) })}`);
  }
}
process.exit(0);
