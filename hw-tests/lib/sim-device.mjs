#!/usr/bin/env node
// The firmware simulator: runs a firmware app's wasm (build/firmware/<app>.wasm, the same module
// wasm2c turns into the Cortex-M image) in Node, with the `env` imports of firmware/runtime/host.c
// implemented over a serial port — one end of a socat pty pair, or any tty.
//   node hw-tests/lib/sim-device.mjs --wasm build/firmware/thermo.wasm --pty /tmp/x/ttyA
//     [--noise MIN-MAX:BYTES]   line noise on the device → host direction: a burst of BYTES random
//                               bytes every MIN..MAX ms, written between the device's own writes
//                               (never inside a frame), as a noisy line between two frames would
//     [--sec-record FILE]       link security: the device's key page (the 64-byte provisioning
//                               record, src/secure/provision.ts), read at every boot; missing or
//                               short = no record (the device is plain)
//     [--sec-flash FILE]        the boot counter's two flash pages (2 × 1024 bytes), created
//                               erased (0xFF) when missing; every write reaches the file at once
//                               (fs.writeSync), so a kill -9 is a power cut between two operations
// Prints "ready <pty>" on stdout once the port is open and the app instantiated. Reads commands
// on stdin, one per line: "reset" = the reset button (a new instance, same process and files).
// On stderr: "sim: boot #N" at every instance after the first.
//   uart_read(ptr, max)  bytes received so far, never blocks
//   uart_write(ptr, len) queued on the port (copied)
//   millis()             ms since this instance started (u32, wraps like SysTick)
//   uart_stat(which)     0: UART overruns (always 0 here), 1: peak of the received-bytes queue
//   reset()              a new instance (fresh memory, start function again)
//   boot_request(...)    -1: no resident boot service (firmware/shared/rpc.ts answers 403)
//   sec_record(ptr)      the record file's first 64 bytes → ptr: 64, or 0 without one
//   sec_flash_page_bytes() 1024 with --sec-flash, else 0
//   sec_flash_read/erase/write  the --sec-flash file: erase = 0xFF, write = AND (NOR), 0 | -708
//   aead_seal/aead_open, hchacha20  the AEAD of firmware/shared/device-aead.ts: the portable
//                        src/secure/aead.ts and chacha20.ts where the device runs
//                        firmware/runtime/cell-aead.c (loaded through tsx,
//                        only for an app that imports them: ~100 ms more at start)
// A trap behaves like firmware/runtime's cell_panic: `\0!panic <reason>\n\0` on the UART, then
// a reset. poll() runs when bytes arrive and every millisecond (stream pacing).
// Plain JavaScript (no tsx): starts in ~50 ms, so a restart is a fast "reset button" (an app with
// env.aead_* also loads src/secure/aead.ts through tsx, once per process).
import { readFileSync } from 'node:fs';
import { SerialPort } from 'serialport';
import { secureEnv } from './sim-secure-env.mjs';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const wasmPath = opt('--wasm');
const ptyPath = opt('--pty');
const baudRate = Number(opt('--baud') ?? 115200);
const noise = /^(\d+)-(\d+):(\d+)$/.exec(opt('--noise') ?? '');
if (!wasmPath || !ptyPath) {
  console.error('usage: sim-device.mjs --wasm <file.wasm> --pty <path> [--baud N] [--noise MIN-MAX:BYTES] [--sec-record FILE] [--sec-flash FILE]');
  process.exit(2);
}
const secRecordPath = opt('--sec-record');
const secFlashPath = opt('--sec-flash');
const module = new WebAssembly.Module(readFileSync(wasmPath));
// Key page, boot-counter pages and the portable AEAD of a secured app (hw-tests/lib/sim-secure-env.mjs).
const secure = await secureEnv(module, {
  recordPath: secRecordPath, flashPath: secFlashPath, memory: () => memory,
  async loadAead() {
    const { tsImport } = await import('tsx/esm/api');
    return { ...await tsImport('../../src/secure/aead.ts', import.meta.url), ...await tsImport('../../src/secure/chacha20.ts', import.meta.url) };
  },
});
const rx = [];
let rxLen = 0;
let rxPeak = 0; // highest rxLen since boot: the simulator's "receive ring" fill
let instance = null;
let memory = null;
let t0 = 0;
let resets = 0;

class ResetRequest extends Error {}

const env = {
  uart_read(ptr, max) {
    if (max <= 0 || rxLen === 0) return 0;
    const dst = new Uint8Array(memory.buffer, ptr, max);
    let n = 0;
    while (n < max && rx.length) {
      const c = rx[0];
      const k = Math.min(c.length, max - n);
      dst.set(c.subarray(0, k), n);
      n += k;
      if (k === c.length) rx.shift();
      else rx[0] = c.subarray(k);
    }
    rxLen -= n;
    return n;
  },
  uart_write(ptr, len) {
    if (len <= 0) return;
    port.write(Buffer.from(new Uint8Array(memory.buffer, ptr, len)));
  },
  uart_stat(which) {
    // No UART: nothing overruns; the "ring" is the queue of received bytes.
    return which === 1 ? rxPeak : 0;
  },
  millis() {
    return (Math.floor(performance.now() - t0) >>> 0) | 0;
  },
  reset() {
    throw new ResetRequest('reset');
  },
  boot_request() {
    return -1; // no bootloader: the app answers channel-3 requests 403 (hw-tests/lib/boot-sim-device.ts has one)
  },
  ...secure.env,
};

function boot() {
  t0 = performance.now();
  rxPeak = rxLen;
  instance = null;
  // The start function runs inside the constructor, before `memory` is bound here: apps must not
  // touch the UART from it (firmware/shared/rpc.ts sends its boot HELLO from the first poll).
  const inst = new WebAssembly.Instance(module, { env });
  instance = inst;
  memory = inst.exports.memory;
  if (resets > 0) console.error(`sim: reset #${resets}`);
}

/** The reset button: a new instance in this process (the files stay). */
function resetButton() {
  if (running) { setImmediate(resetButton); return; }
  resets++;
  try { boot(); } catch (e) { panic(String(e)); }
  run();
}

function panic(reason) {
  port.write(Buffer.concat([Buffer.of(0), Buffer.from(`!panic ${reason}\n`), Buffer.of(0)]));
  resets++;
  boot();
}

let running = false;
function run() {
  if (running || instance === null) return;
  running = true;
  try {
    // Drain what arrived, then once more for the app's timers.
    let spins = 0;
    do instance.exports.poll(); while (rxLen > 0 && ++spins < 10000);
  } catch (e) {
    if (e instanceof ResetRequest) { resets++; boot(); } else panic(e instanceof WebAssembly.RuntimeError ? `trap ${e.message}` : String(e));
  } finally {
    running = false;
  }
}

const port = new SerialPort({ path: ptyPath, baudRate, autoOpen: false });
port.on('data', (chunk) => {
  rx.push(chunk);
  rxLen += chunk.length;
  if (rxLen > rxPeak) rxPeak = rxLen;
  run();
});
port.on('error', (e) => { console.error(`sim: port error: ${e.message}`); process.exit(3); });
port.on('close', () => process.exit(0));
port.open((e) => {
  if (e) {
    console.error(`sim: cannot open ${ptyPath}: ${e.message}`);
    process.exit(3);
  }
  try {
    boot();
  } catch (err) {
    console.error(`sim: cannot instantiate ${wasmPath}: ${err.message}`);
    process.exit(4);
  }
  setInterval(run, 1);
  run();
  let cmd = '';
  process.stdin.on('data', (d) => {
    cmd += d.toString();
    for (let i = cmd.indexOf('\n'); i >= 0; i = cmd.indexOf('\n')) {
      const line = cmd.slice(0, i).trim();
      cmd = cmd.slice(i + 1);
      if (line === 'reset') { resetButton(); console.log('reset done'); }
    }
  });
  process.stdin.on('error', () => {});
  if (noise !== null) startNoise(Number(noise[1]), Number(noise[2]), Number(noise[3]));
  console.log(`ready ${ptyPath}`);
});
/** Bursts of random bytes (0x00 included) between the device's writes; counted on stderr at exit. */
function startNoise(minMs, maxMs, bytes) {
  let bursts = 0;
  const next = () => setTimeout(() => {
    const b = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i++) b[i] = (Math.random() * 256) | 0;
    port.write(b);
    bursts++;
    next();
  }, minMs + Math.random() * (maxMs - minMs));
  next();
  process.on('exit', () => console.error(`sim: ${bursts} noise bursts of ${bytes} bytes`));
}

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { port.close(() => process.exit(0)); setTimeout(() => process.exit(0), 200).unref(); });
process.on('exit', () => secure.close());
