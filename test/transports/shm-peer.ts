// The other process (or thread owner) of test/transports/shm.test.ts. Modes:
//
//   serve <socket> [refuse]   listenUnix + acceptShm + serve the test Thermo cell; prints
//                             "ready <pid>"; exits when its first connection closes.
//   client <socket>           connectLocal + one call; prints one JSON line {state, reason,
//                             channel} (run with CELL_SHM_ADDON=0 for the fallback test).
//   client-hold <socket>      connectLocal + one call, then a long `sleep` call in flight; prints
//                             "holding <state>" and waits (to be killed).
//   raw <socket> <name> <ringBytes> <epoch>
//                             maps the parent's segment as side 1, rings over a Unix socket to
//                             <socket>, serves Thermo over processLink; prints "ready"; then on
//                             stdin commands writes into ring 1 behind the link's back:
//                               half           reserve a record, write half of it, never commit
//                               garbage-tail   producer index 3 rings ahead
//                               garbage-len    a record of length 7
//                               garbage-big    a record longer than the ring allows
//                             and answers "<command> done".
//   keepalive                 two thread links in this one thread, one frame echoed, then the
//                             links are closed by an unref'd timer: prints "exit after close"
//                             when the event loop empties after that, "exit with the link open"
//                             when it emptied while the links were open (nothing held it).
//
// Run: node --import tsx test/transports/shm-peer.ts <mode> ...
import { createInterface } from 'node:readline';
import { connect, serve } from '../../src/rpc/index.ts';
import type { Link, LinkListener } from '../../src/transports/link.ts';
import { connectUnix, listenUnix } from '../../src/transports/unix.ts';
import {
  attachThreadSegment, createThreadSegment, openProcessSegment, processLink, ringMaxFrame, threadLink,
} from '../../src/transports/shm/index.ts';
import { ringFrame } from '../../src/transports/shm/doorbell.ts';
import { acceptShm, connectLocal } from '../../src/shm/index.ts';
import { RECORD_HEAD_BYTES, RING_HEADER_BYTES, RING_OFF_TAIL, ringOffset } from '../../src/transports/shm/layout.ts';
import { RingWriter, segmentViews } from '../../src/transports/shm/ring.ts';
import { Header, HEADER_BYTES, KIND_EVENT, writeHeader } from '../../src/wire/header.ts';
import { Thermo } from '../rpc/fixtures/thermo.ts';
import { thermoImpl } from '../rpc/fixtures/impl.ts';

const [mode, ...args] = process.argv.slice(2);
const say = (line: string): void => { process.stdout.write(line + '\n'); };

/** The call id of the frame `half` leaves uncommitted (HALF_CALL_ID in shm.test.ts): it must never arrive. */
const HALF_CALL_ID = 0xdead;

if (mode === 'serve') {
  const [path, refuse] = args as [string, string | undefined];
  const l = await listenUnix(path);
  const shm = acceptShm(l, refuse !== undefined ? { refuse } : {});
  // Exit when the first connection closes (the test's client closed, or was killed).
  const target: LinkListener = { isListener: true, onLink: null, get address() { return shm.address; }, close: () => shm.close() };
  let first = true;
  shm.onLink = (link: Link) => {
    target.onLink?.(link);
    if (!first) return;
    first = false;
    const conn = [...server.connections].pop()!;
    void conn.closed.then(() => process.exit(0));
  };
  const server = serve(Thermo, thermoImpl(), target, { heartbeatMs: 0 });
  say(`ready ${process.pid}`);
} else if (mode === 'client') {
  const link = await connectLocal(args[0]!);
  const c = await connect(Thermo, link, { heartbeatMs: 0 });
  const r = await c.read({ channel: 3 });
  say(JSON.stringify({ state: link.state, reason: link.reason, channel: r.channel }));
  await c.close();
} else if (mode === 'client-hold') {
  const link = await connectLocal(args[0]!);
  const c = await connect(Thermo, link, { heartbeatMs: 0 });
  await c.read({ channel: 3 });
  void c.sleep({ ms: 600_000 }).catch(() => {});
  say(`holding ${link.state}`);
} else if (mode === 'raw') {
  const [path, name, ringArg, epochArg] = args as [string, string, string, string];
  const ringBytes = Number(ringArg);
  const seg = openProcessSegment(name, ringBytes, Number(epochArg));
  const bell = await connectUnix(path);
  const link = processLink(seg, 1, bell);
  const server = serve(Thermo, thermoImpl(), link, { heartbeatMs: 0 });
  for (const c of server.connections) void c.closed.then(() => process.exit(0));
  const v = segmentViews(seg.buffer);
  const ring1 = ringOffset(ringBytes, 1);
  const tailIdx = (ring1 + RING_OFF_TAIL) >> 2;
  const dataOff = ring1 + RING_HEADER_BYTES;
  const ringBell = (): void => { bell.send(ringFrame()); };
  createInterface({ input: process.stdin }).on('line', (cmd) => {
    const tail = Atomics.load(v.i32, tailIdx) >>> 0;
    const pos = tail & (ringBytes - 1);
    if (cmd === 'half') {
      // A whole EVENT frame is meant; half of it is written, with its record head, and the
      // index that would publish it is never stored.
      const len = 1000;
      const w = new RingWriter(v, ring1, ringBytes);
      const off = w.reserve(len);
      if (off < 0) { say(`half failed ${off}`); return; }
      const f = new Uint8Array(len);
      const h = new Header();
      h.kind = KIND_EVENT; h.callId = HALF_CALL_ID; h.length = len - HEADER_BYTES;
      writeHeader(h, f, 0);
      f.fill(0xab, HEADER_BYTES);
      v.u8.set(f.subarray(0, len / 2), off);
      v.u32[(off - RECORD_HEAD_BYTES) >> 2] = len;
      ringBell();
    } else if (cmd === 'garbage-tail') {
      Atomics.store(v.i32, tailIdx, (tail + 3 * ringBytes) | 0);
      ringBell();
    } else if (cmd === 'garbage-len' || cmd === 'garbage-big') {
      v.u32[(dataOff + pos) >> 2] = cmd === 'garbage-len' ? 7 : ringMaxFrame(ringBytes) + 1;
      Atomics.store(v.i32, tailIdx, (tail + 64) | 0);
      ringBell();
    } else {
      say(`unknown command ${cmd}`);
      return;
    }
    say(`${cmd} done`);
  });
  say('ready');
} else if (mode === 'keepalive') {
  const seg = createThreadSegment({ ringBytes: 4096 });
  const a = threadLink(seg, 0);
  const b = threadLink(attachThreadSegment(seg.buffer as SharedArrayBuffer), 1);
  b.start({ onFrame: (buf, off, len) => { b.send(buf.slice(off, off + len)); }, onClose: () => {} });
  a.start({
    onFrame: () => {
      say('echoed');
      // Only the links can keep this process alive now: this timer does not.
      setTimeout(() => { a.close(); say('closed'); }, 200).unref();
    },
    onClose: () => {},
  });
  const f = new Uint8Array(HEADER_BYTES);
  const h = new Header();
  h.kind = KIND_EVENT; h.callId = 1;
  writeHeader(h, f, 0);
  a.send(f);
  process.on('beforeExit', () => { say(a.closed && b.closed ? 'exit after close' : 'exit with the link open'); });
} else {
  console.error(`shm-peer: unknown mode ${mode}`);
  process.exit(2);
}
