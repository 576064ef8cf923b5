// The native firmware chain end to end: firmware/echo (AssemblyScript + the portable framing and
// header code) built by scripts/build-firmware.mjs for both boards, booted under qemu, spoken to
// over its UART pty with serialport and the same portable code on the host side.
// Skips (with a printed reason) when qemu, the arm toolchain, wabt or serialport are missing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startQemu, qemuUnavailable, BOARDS, type Board, type Qemu } from '../../hw-tests/lib/qemu.ts';
import {
  EchoClient, encodeFrame, rawFrame, ECHO_MAX_PAYLOAD_BYTES, type EchoCounters,
} from '../../hw-tests/lib/echo-client.ts';
import { cobsEncode } from '../../src/framing/cobs.ts';
import { crc32c } from '../../src/framing/crc32c.ts';
import {
  KIND_PING, KIND_PONG, KIND_REQUEST, KIND_RESPONSE, KIND_ERROR, KIND_EVENT, CHANNEL_OPS,
} from '../../src/wire/header.ts';
import { readU16LE, writeU32LE } from '../../src/wire/bytes.ts';
import { ERR_WIRE_BAD_MAGIC } from '../../src/wire/errors.ts';
import { Prng } from '../helpers/prng.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const FRAME_TIMEOUT_MS = 5000;

type SerialPortCtor = typeof import('serialport').SerialPort;

/** Build firmware/echo for both boards (a no-op when up to date); the reason when we cannot. */
function buildEcho(): { elfs: Record<Board, string> } | { skip: string } {
  const r = spawnSync(process.execPath, ['scripts/build-firmware.mjs', 'echo', '--json'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) {
    const msg = (r.stderr || '').trim();
    if (/toolchain incomplete/.test(msg)) return { skip: msg.replace(/^build-firmware: /, '') };
    throw new Error(`firmware build failed:\n${msg}`);
  }
  const rows = JSON.parse(r.stdout) as { board: Board; elf: string; flash: number; ram: number }[];
  const elfs = {} as Record<Board, string>;
  for (const row of rows) elfs[row.board] = `${root}${row.elf}`;
  return { elfs };
}

async function loadSerialPort(): Promise<SerialPortCtor | string> {
  try {
    return (await import('serialport')).SerialPort;
  } catch (e) {
    return `serialport is not installed (optional dependency): ${(e as Error).message}`;
  }
}

function openPort(SerialPort: SerialPortCtor, path: string): Promise<InstanceType<SerialPortCtor>> {
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
    const timer = setTimeout(() => reject(new Error(`cannot open ${path} within ${FRAME_TIMEOUT_MS} ms`)), FRAME_TIMEOUT_MS);
    port.open((e) => {
      clearTimeout(timer);
      if (e) reject(e);
      else resolve(port);
    });
  });
}

function closePort(port: InstanceType<SerialPortCtor> | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!port?.isOpen) return resolve();
    port.close(() => resolve());
  });
}

const bytes = (...b: number[]) => Uint8Array.from(b);

interface BoardContext {
  qemu?: Qemu;
  port?: InstanceType<SerialPortCtor>;
  client?: EchoClient;
  /** Valid frames sent so far (what the firmware's framesOk must say). */
  framesSent: number;
  callId: number;
  /** performance.now() at qemu spawn and at CPU start (for the informational boot time). */
  tSpawn: number;
  tCont: number;
}

async function main() {
  const qemuMissing = qemuUnavailable();
  const built = qemuMissing ? { skip: qemuMissing } : buildEcho();
  const SerialPort = 'skip' in built ? built.skip : await loadSerialPort();

  if ('skip' in built || typeof SerialPort === 'string') {
    const why = 'skip' in built ? built.skip : (SerialPort as string);
    console.log(`\n  qemu echo firmware: SKIPPED — ${why.split('\n').join('\n    ')}\n`);
    const s = suite('echo firmware under qemu');
    s.skip('boots on mps2-an385 and lm3s6965evb and answers over the UART', () => {});
    s.run();
    return;
  }

  for (const board of BOARDS) {
    const ctx: BoardContext = { framesSent: 0, callId: 1, tSpawn: 0, tCont: 0 };
    const test = suite<BoardContext>(`echo firmware under qemu -M ${board}`, ctx);
    const client = () => ctx.client!;

    test.before(async () => {
      ctx.tSpawn = performance.now();
      ctx.qemu = await startQemu({ board, elf: built.elfs[board], paused: true });
      ctx.port = await openPort(SerialPort, ctx.qemu.ptyPath);
      ctx.client = new EchoClient(ctx.port, { frameTimeoutMs: FRAME_TIMEOUT_MS });
      ctx.tCont = performance.now();
      await ctx.qemu.cont();
    });

    test.after(async () => {
      await closePort(ctx.port);
      await ctx.qemu?.kill();
    });

    test('answers a PING (after a leading 0x00) with a PONG of the same call id', async () => {
      await client().write(bytes(0x00));
      const pong = await client().ping(0x01020304, 0);
      ctx.framesSent++;
      // Informational only (never asserted).
      const now = performance.now();
      console.log(`  ${board}: CPU start to first answer ${(now - ctx.tCont).toFixed(1)} ms ` +
        `(qemu spawn to first answer ${(now - ctx.tSpawn).toFixed(1)} ms)`);
      assert.is(pong.kind, KIND_PONG);
      assert.is(pong.callId, 0x01020304);
      assert.is(pong.channel, 0);
      assert.is(pong.payload.length, 0);
    });

    test('echoes a REQUEST payload in a RESPONSE with the same call id, channel and key', async () => {
      await client().send({ kind: KIND_REQUEST, callId: 0xfffffffe, channel: 7, keyLo: 0x44332211, keyHi: 0x88776655 },
        new TextEncoder().encode('hello, cell'));
      ctx.framesSent++;
      const r = await client().next();
      assert.is(r.kind, KIND_RESPONSE);
      assert.is(r.callId, 0xfffffffe);
      assert.is(r.channel, 7);
      assert.is(r.keyLo, 0x44332211);
      assert.is(r.keyHi, 0x88776655);
      assert.is(new TextDecoder().decode(r.payload), 'hello, cell');
    });

    test('survives garbage, corrupt and oversize frames, answers bad headers, and counts each', async () => {
      const c = client();
      // A COBS block cut short by the delimiter: code 5 promises 4 bytes, 2 arrive.
      await c.write(bytes(0x05, 0x11, 0x22, 0x00));
      // A frame that decodes to 1 byte (shorter than 1 + CRC).
      await c.write(bytes(0x02, 0x11, 0x00));
      // A REQUEST whose CRC is wrong.
      const raw = rawFrame({ kind: KIND_REQUEST, callId: 77 }, bytes(1, 2, 3));
      const withCrc = new Uint8Array(raw.length + 4);
      withCrc.set(raw);
      writeU32LE(withCrc, raw.length, (crc32c(raw) ^ 0x00010000) >>> 0);
      const corrupt = new Uint8Array(withCrc.length + 4);
      const n = cobsEncode(withCrc, corrupt);
      await c.write(corrupt.subarray(0, n + 1)); // + the 0x00 left at corrupt[n]
      // A frame longer than the firmware's maximum (dropped up to its 0x00).
      await c.send({ kind: KIND_REQUEST, callId: 78 }, new Uint8Array(ECHO_MAX_PAYLOAD_BYTES + 100).fill(0x5a));
      // A frame with a valid CRC but a bad magic: answered with ERROR 101, call id kept.
      const badMagic = rawFrame({ kind: KIND_REQUEST, callId: 79, channel: 5 }, bytes(9));
      badMagic[0] = 0xcf;
      await c.write(encodeFrame(badMagic));
      ctx.framesSent++;
      const err = await c.next();
      assert.is(err.kind, KIND_ERROR);
      assert.is(err.callId, 79);
      assert.is(err.channel, 5);
      assert.is(err.payload.length, 2);
      assert.is(readU16LE(err.payload, 0), ERR_WIRE_BAD_MAGIC);
      // A valid EVENT: no answer, counted as ignored.
      await c.send({ kind: KIND_EVENT, callId: 80 }, bytes(1));
      ctx.framesSent++;
      // Still alive: the next PING is answered (and nothing else was sent back meanwhile).
      const pong = await c.ping(81);
      ctx.framesSent++;
      assert.is(pong.kind, KIND_PONG);
      assert.is(pong.callId, 81);

      const counters: EchoCounters = await c.counters(82);
      ctx.framesSent++;
      assert.equal(
        { ...counters, uptimeMs: 0, rxBytes: 0, bytesDiscarded: 0 },
        {
          framesOk: ctx.framesSent, errCrc: 1, errCobs: 1, errOversize: 1, errTooShort: 1,
          badHeaders: 1, ignored: 1, bytesDiscarded: 0, rxBytes: 0, uptimeMs: 0,
        },
      );
      assert.ok(counters.bytesDiscarded > ECHO_MAX_PAYLOAD_BYTES, `bytesDiscarded ${counters.bytesDiscarded}`);
      assert.is(c.pending, 0);
      assert.is(c.rxErrors, 0, 'every byte the firmware sent deframed cleanly');
    });

    test('answers 200 pipelined requests of random sizes exactly once each', async () => {
      const c = client();
      const rng = new Prng(board === 'mps2-an385' ? 0xc0ffee : 0xbeef01);
      const total = 200;
      const window = 8;
      const expected = new Map<number, Uint8Array>();
      const answered = new Set<number>();
      let sent = 0;
      const sendOne = async () => {
        const id = 1000 + sent++;
        const size = rng.below(ECHO_MAX_PAYLOAD_BYTES + 1);
        const payload = new Uint8Array(size);
        rng.fill(payload);
        expected.set(id, payload);
        await c.send({ kind: KIND_REQUEST, callId: id, channel: 0 }, payload);
      };
      while (sent < Math.min(window, total)) await sendOne();
      while (answered.size < total) {
        const r = await c.next();
        assert.is(r.kind, KIND_RESPONSE, `answer kind for call ${r.callId}`);
        const want = expected.get(r.callId);
        assert.ok(want, `unexpected call id ${r.callId}`);
        assert.not.ok(answered.has(r.callId), `call ${r.callId} answered twice`);
        answered.add(r.callId);
        assert.equal(r.payload, want, `payload of call ${r.callId}`);
        if (sent < total) await sendOne();
      }
      ctx.framesSent += total;
      assert.is(answered.size, total);
      const counters = await c.counters(99);
      ctx.framesSent++;
      assert.is(counters.framesOk, ctx.framesSent);
      assert.is(counters.errCrc + counters.errCobs + counters.errOversize + counters.errTooShort, 4, 'no new stream errors');
      assert.is(c.rxErrors, 0);
      assert.is(c.panics.length, 0, c.panics.join('; '));
    });

    test.run();
  }
}

await main();
