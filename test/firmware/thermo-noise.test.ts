// Line noise on the device → host direction (issue "hold under noisy lines", docs/uart.md §4):
// the thermo firmware in the simulator (hw-tests/lib/sim.ts) writes bursts of random bytes
// between its own frames, at three rates, while the host makes 2000 calls through connectUart.
// Every sender of a byte stream starts its frames with the 0x00 delimiter, so noise that ends
// before a frame starts costs a counted line error, never the frame after it: no answer is lost
// and the session survives. Skips (with a printed reason) without socat, asc or serialport.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startPtyPair, type PtyPair } from '../../hw-tests/lib/pty.ts';
import { startSim, type Sim } from '../../hw-tests/lib/sim.ts';
import { buildThermoWasm, deviceSimUnavailable } from '../../hw-tests/mesh/device-sim.ts';
import { ThermoDef } from '../../firmware/thermo/schema.ts';
import { connectUart, type UartClient } from '../../src/uart/index.ts';
import { skipDeclared } from '../helpers/skip.ts';

const CALLS = 2000;
const RATES = [
  { name: 'a burst every 100–400 ms', minMs: 100, maxMs: 400, bytes: 8 },
  { name: 'a burst every 20–60 ms', minMs: 20, maxMs: 60, bytes: 8 },
  { name: 'a burst every 3–15 ms', minMs: 3, maxMs: 15, bytes: 8 },
];

const test = suite('thermo firmware under device → host line noise');
const why = await deviceSimUnavailable();
const wasm = why === null ? buildThermoWasm() : { skip: why };

if (typeof wasm !== 'string') {
  skipDeclared(test, 'no answer is lost to noise between frames, at three burst rates', wasm.skip);
} else {
  for (const rate of RATES) {
    test(`${rate.name} of ${rate.bytes} random bytes: ${CALLS} calls, none lost, one session`, async () => {
      let pty: PtyPair | null = null;
      let sim: Sim | null = null;
      let dev: UartClient<typeof ThermoDef> | null = null;
      try {
        pty = await startPtyPair();
        sim = await startSim({ ptyPath: pty.pathA, wasm, noise: { minMs: rate.minMs, maxMs: rate.maxMs, bytes: rate.bytes } });
        dev = await connectUart(ThermoDef, { path: pty.pathB, maxFrameBytes: 512, openTimeoutMs: 10_000, heartbeatMs: 0 });
        const failures = new Map<number | string, number>();
        const t0 = performance.now();
        for (let i = 0; i < CALLS; i++) {
          try {
            await dev.read({ channel: i % 4 }, { deadlineMs: 500 });
          } catch (e) {
            const code = (e as { code?: number }).code ?? String(e);
            failures.set(code, (failures.get(code) ?? 0) + 1);
          }
        }
        const ms = performance.now() - t0;
        const line = dev.linkStats!;
        const lost = [...failures.values()].reduce((a, b) => a + b, 0);
        console.log(`    noise ${rate.minMs}-${rate.maxMs} ms × ${rate.bytes} B: ${lost} of ${CALLS} answers lost ${JSON.stringify(Object.fromEntries(failures))}; ` +
          `line errors crc ${line.errCrc} cobs ${line.errCobs} short ${line.errTooShort} header ${line.errMalformed}; sessions ${dev.sessionCount}; ${(ms / CALLS).toFixed(2)} ms/call`);
        assert.is(lost, 0, `answers lost to noise between frames: ${JSON.stringify(Object.fromEntries(failures))}`);
        assert.is(dev.sessionCount, 1, 'the session survived the noise');
      } finally {
        await dev?.close();
        await sim?.kill();
        await pty?.close();
      }
    });
  }
}

test.run();
