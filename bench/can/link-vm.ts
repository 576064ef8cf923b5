// The CAN link against the raw SocketCAN floor, in one process inside the CAN micro-VM (issue 15
// §Benchmarks), run by bench/can/can.bench.ts through test/helpers/can-vm.ts. Rounds alternate
// floor and Cell; each verdict is the median of the per-round ratios.
//   RTT: a typed thermo `read` (1 request frame, 2 answer frames on classic CAN, 1 + 1 on FD)
//     through CanBus + rpc, in the callback form (`client.read.send`, each answer sending the
//     next call; the `await client.read()` form for information) ÷ a raw ping-pong of the same frames through the same addon (one
//     frame out, the echoing socket answers with as many frames as the reply has).
//   Throughput: compact EVENT transfers of 7 payload bytes (one 8-byte frame each) from one peer
//     link to the other ÷ raw 8-byte frames one way, both with at most WINDOW frames in flight
//     (a vcan has no flow control: a full receive queue drops).
// Also on classic vcan2, paced at 500 kbit/s by a tbf qdisc. Prints one JSON object. Figures are TCG-emulated: compare the ratios, not the absolute numbers.
import { CanBus } from '../../src/transports/can/bus.ts';
import { CAN_FLAG_BRS, CAN_FLAG_EXTENDED, CAN_FLAG_FD } from '../../src/transports/can/driver.ts';
import { openSocketCan, type SocketCanDriver } from '../../src/transports/can/socketcan.ts';
import { connect, serve } from '../../src/rpc/index.ts';
import { encodeHello } from '../../src/rpc/payloads.ts';
import { HEADER_BYTES, Header, KIND_EVENT, KIND_HELLO, writeHeader } from '../../src/wire/header.ts';
import { HELLO_FLAG_SERVING } from '../../src/wire/layouts.ts';
import { defineCell } from '../../src/rpc/index.ts';
import { struct, u8, u32 } from '../../src/codec/index.ts';
import { ThermoDef } from '../../firmware/thermo/schema.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const ROUNDS = arg('--rounds', 5);
const PINGS = arg('--pings', 300);
const FRAMES = arg('--frames', 10_000);
const WINDOW = 128;
const median = (a: number[]): number => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]!; };

/** Raw: `a` sends one frame of `reqBytes`, `b` answers with frames of `resLens`, `a` waits for the last. */
async function rawRtt(ifname: string, fd: boolean, reqBytes: number, resLens: number[], pings: number): Promise<number[]> {
  const flags = CAN_FLAG_EXTENDED | (fd ? CAN_FLAG_FD | CAN_FLAG_BRS : 0);
  const a = openSocketCan(ifname, { fd }), b = openSocketCan(ifname, { fd });
  const buf = new Uint8Array(64).fill(0x5a);
  const rtts: number[] = [];
  let got = 0, t0 = 0;
  let done: () => void = () => {};
  b.start({ onFrame() { for (const l of resLens) b.send(0x10c0008a, flags, buf, 0, l); }, onClose() {} });
  a.start({
    onFrame() {
      if (++got < resLens.length) return;
      got = 0;
      rtts.push(performance.now() - t0);
      if (rtts.length === pings) { done(); return; }
      t0 = performance.now();
      a.send(0x10800501, flags, buf, 0, reqBytes);
    },
    onClose() {},
  });
  await new Promise<void>((r) => { done = r; t0 = performance.now(); a.send(0x10800501, flags, buf, 0, reqBytes); });
  a.close(); b.close();
  return rtts;
}

/** Cell: a thermo `read` through two CanBus nodes and the rpc layer. */
async function cellRtt(ifname: string, fd: boolean, pings: number, promises = false): Promise<number[]> {
  const gw = new CanBus(openSocketCan(ifname, { fd }), { node: 1, fd });
  const dev = new CanBus(openSocketCan(ifname, { fd }), { node: 10, fd });
  gw.start(); dev.start();
  let seq = 0;
  dev.onPeer = (_n, link) => {
    serve(ThermoDef, {
      read: (req) => ({ channel: req.channel, celsius: 21.25, seq: seq++ }),
      setLed: (req) => ({ on: req.on }),
      configure: () => ({ ok: true }),
      info: () => ({ name: 'thermo', fwVersion: '0', schema: 0n }),
      async *samples() { /* not used */ },
    }, link, { heartbeatMs: 0 });
  };
  const client = await connect(ThermoDef, gw.peer(10), { heartbeatMs: 0 });
  const rtts: number[] = [];
  if (promises) {
    for (let i = 0; i < pings; i++) {
      const t0 = performance.now();
      await client.read({ channel: 1 });
      rtts.push(performance.now() - t0);
    }
  } else {
    // The callback form (`send`): each answer sends the next call, as the raw floor does.
    const req = { channel: 1 };
    const into = { into: { channel: 0, celsius: 0, seq: 0 } };
    let t0 = 0;
    await new Promise<void>((resolve, reject) => {
      const onAnswer = (err: unknown): void => {
        if (err !== null) { reject(err); return; }
        rtts.push(performance.now() - t0);
        if (rtts.length === pings) { resolve(); return; }
        t0 = performance.now();
        client.read.send(req, onAnswer, into);
      };
      t0 = performance.now();
      client.read.send(req, onAnswer, into);
    });
  }
  await client.close();
  gw.close(); dev.close();
  return rtts;
}

async function rawFlood(ifname: string, fd: boolean, frames: number): Promise<number> {
  const flags = CAN_FLAG_EXTENDED | (fd ? CAN_FLAG_FD | CAN_FLAG_BRS : 0);
  const a: SocketCanDriver = openSocketCan(ifname, { fd }), b = openSocketCan(ifname, { fd });
  const buf = new Uint8Array(8).fill(7);
  let received = 0, sent = 0;
  let done: () => void = () => {};
  const pump = () => { while (sent < frames && sent - received < WINDOW) { sent++; if (!a.send(0x14c0008a, flags, buf, 0, 8)) return; } };
  b.start({ onFrame() { if (++received === frames) done(); else if ((received & 31) === 0) pump(); }, onClose() {} });
  a.start({ onFrame() {}, onDrain: pump, onClose() {} });
  const t0 = performance.now();
  await new Promise<void>((r) => { done = r; pump(); });
  const fps = frames / ((performance.now() - t0) / 1000);
  a.close(); b.close();
  return fps;
}

const Tick = struct('Tick', { n: u32, ch: u8, pad: u8, pad2: u8 }); // 7 bytes: one classic frame with its tail
const Ticker = defineCell({ name: 'ticker', events: { tick: Tick } });

/** Cell: compact EVENT transfers (one 8-byte frame each) from the serving link to its peer. */
async function cellFlood(ifname: string, fd: boolean, frames: number): Promise<number> {
  const a = new CanBus(openSocketCan(ifname, { fd }), { node: 1, fd });
  const b = new CanBus(openSocketCan(ifname, { fd }), { node: 10, fd });
  a.start(); b.start();
  const la = a.peer(10), lb = b.peer(1);
  const h = new Header();
  const hello = encodeHello({ version: 1, flags: HELLO_FLAG_SERVING, heartbeatMs: 0, maxFrameBytes: 512, cellName: Ticker.name, entries: Ticker.entries });
  const helloFrame = new Uint8Array(HEADER_BYTES + hello.length);
  h.kind = KIND_HELLO; h.length = hello.length;
  writeHeader(h, helloFrame, 0); helloFrame.set(hello, HEADER_BYTES);
  const key = Ticker.entries[0]!.key;
  const ev = new Uint8Array(HEADER_BYTES + 7).fill(3);
  h.kind = KIND_EVENT; h.length = 7; h.keyLo = Number(key & 0xffffffffn); h.keyHi = Number(key >> 32n);
  writeHeader(h, ev, 0);
  let received = -1, sent = 0; // -1: the HELLO comes first
  let done: () => void = () => {};
  const pump = () => { while (sent < frames && sent - received < WINDOW) { sent++; if (!lb.send(ev)) return; } };
  la.start({ onFrame() { if (++received === frames) done(); else if ((received & 31) === 0) pump(); }, onClose() {} });
  lb.start({ onFrame() {}, onDrain: pump, onClose() {} });
  lb.send(helloFrame);
  await new Promise((r) => setTimeout(r, 20));
  const t0 = performance.now();
  await new Promise<void>((r) => { done = r; pump(); });
  const fps = frames / ((performance.now() - t0) / 1000);
  if (a.stats.errTransfer + b.stats.errTransfer > 0) throw new Error('transfers refused during the flood');
  a.close(); b.close();
  return fps;
}

async function mode(ifname: string, fd: boolean) {
  // The same frames as a thermo read: request 3 bytes; reply 13 bytes = 8 + 5 (classic) or one 12-byte FD frame.
  const resLens = fd ? [12] : [8, 5];
  const rounds: Array<{ rawUs: number; cellUs: number; ratio: number; awaitRatio: number; rawFps: number; cellFps: number; fpsRatio: number }> = [];
  await rawRtt(ifname, fd, 3, resLens, 50); await cellRtt(ifname, fd, 50); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    const raw = median(await rawRtt(ifname, fd, 3, resLens, PINGS)) * 1000;
    const cell = median(await cellRtt(ifname, fd, PINGS)) * 1000;
    const cellAwait = median(await cellRtt(ifname, fd, PINGS, true)) * 1000;
    const rawFps = await rawFlood(ifname, fd, FRAMES);
    const cellFps = await cellFlood(ifname, fd, FRAMES);
    rounds.push({ rawUs: Math.round(raw), cellUs: Math.round(cell), ratio: cell / raw, awaitRatio: cellAwait / raw, rawFps: Math.round(rawFps), cellFps: Math.round(cellFps), fpsRatio: cellFps / rawFps });
    process.stderr.write(`can bench ${ifname} round ${r + 1}/${ROUNDS}: rtt ${(cell / raw).toFixed(2)}x, fps ${(cellFps / rawFps).toFixed(2)}x\n`);
  }
  return {
    frames: { request: 1, reply: resLens.length },
    rttRatio: median(rounds.map((r) => r.ratio)),
    rttRatioAwait: median(rounds.map((r) => r.awaitRatio)),
    fpsRatio: median(rounds.map((r) => r.fpsRatio)),
    rawRttUs: median(rounds.map((r) => r.rawUs)),
    cellRttUs: median(rounds.map((r) => r.cellUs)),
    rawFps: median(rounds.map((r) => r.rawFps)),
    cellFps: median(rounds.map((r) => r.cellFps)),
    rounds,
  };
}

const classic = await mode('vcan0', false);
const fd = await mode('vcan1', true);
// vcan2 is paced by a tbf qdisc at 500 kbit/s of socket buffers (a 16-byte can_frame each, about
// 3.9 k frames/s, near a real 500 kbit/s bus's 3.1–3.8 k): the wire time a real bus adds.
const paced = await mode('vcan2', false);
console.log(JSON.stringify({ classic, fd, classicPaced500k: paced }));
process.exit(0);
