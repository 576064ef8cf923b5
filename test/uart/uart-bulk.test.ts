// A bulk server stream over a real socat pty pair must not stall (docs/uart.md §1). Regression
// test for the lost "writable" wake-up of @serialport/bindings-cpp 13 (src/transports/uart-io.ts,
// STALL_MS): a write that hit EAGAIN while the same port was reading could wait forever, and the
// stream stopped after a few hundred 4 KB items (its CREDIT or its items stuck in a pending write).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startPtyPair, ptyUnavailable, type PtyPair } from '../../hw-tests/lib/pty.ts';
import { connectUart, serveUart, type UartClient, type UartServer } from '../../src/uart/index.ts';
import type { Impl } from '../../src/rpc/index.ts';
import { UartBenchCell, CHUNK_BYTES, fillByte } from '../../bench/uart/uart-cell.ts';

const test = suite('uart bulk stream over a pty');
const missing = ptyUnavailable() ?? (await import('serialport').then(() => null, (e: Error) => `serialport not installed: ${e.message}`));

if (missing !== null) {
  test.skip(`bulk stream (${missing})`, () => {});
} else {
  let pty: PtyPair | null = null;
  let srv: UartServer<typeof UartBenchCell> | null = null;
  let dev: UartClient<typeof UartBenchCell> | null = null;
  test.after(async () => {
    await dev?.close();
    await srv?.close();
    await pty?.close();
  });

  test('3000 items of 4000 B with credit 16 all arrive, in order, intact', async () => {
    pty = await startPtyPair();
    const chunk = { data: Uint8Array.from({ length: CHUNK_BYTES }, (_, i) => fillByte(i)) };
    const impl: Impl<typeof UartBenchCell> = {
      ping(req) { return req; },
      *bulk(req) { for (let i = 0; i < req.count; i++) { chunk.data[0] = i & 0xff; yield chunk; } },
      *blocks() {},
      *ticks() {},
    };
    srv = serveUart(UartBenchCell, impl, { path: pty.pathB, heartbeatMs: 0 });
    dev = await connectUart(UartBenchCell, { path: pty.pathA, heartbeatMs: 0 });
    const N = 3000;
    let k = 0;
    // the deadline only guards against a hang (the stall this test is about); no timing asserted
    for await (const c of dev.bulk({ count: N }, { credit: 16, deadlineMs: 120_000 })) {
      assert.is(c.data[0], k & 0xff, `item ${k} out of order`);
      assert.is(c.data[CHUNK_BYTES - 1], fillByte(CHUNK_BYTES - 1));
      k++;
    }
    assert.is(k, N);
    assert.is(dev.linkStats?.errCrc, 0);
    // both ends did their I/O on the fd (src/transports/uart-io.ts "Direct I/O"), not through
    // serialport's threadpool stream (a silent fallback would cost ~3x the CPU per byte)
    assert.ok(dev.sessions.port?.io.directIo, 'client: direct fd I/O');
    // the session is still usable afterwards
    const back = await dev.ping({ payload: new Uint8Array(32).fill(7) });
    assert.is(back.payload[31], 7);
  });
}

test.run();
