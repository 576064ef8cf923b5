#!/usr/bin/env node
// The firmware simulator: runs a firmware app's wasm (build/firmware/<app>.wasm, the same module
// wasm2c turns into the Cortex-M image) in Node, with the `env` imports of firmware/runtime/host.c
// implemented over a serial port — one end of a socat pty pair, or any tty.
//   node hw-tests/lib/sim-device.mjs --wasm build/firmware/thermo.wasm --pty /tmp/x/ttyA
//     [--noise MIN-MAX:BYTES]   line noise on the device → host direction: a burst of BYTES random
//                               bytes every MIN..MAX ms, written between the device's own writes
//                               (never inside a frame), as a noisy line between two frames would
// Prints "ready <pty>" on stdout once the port is open and the app instantiated.
//   uart_read(ptr, max)  bytes received so far, never blocks
//   uart_write(ptr, len) queued on the port (copied)
//   millis()             ms since this instance started (u32, wraps like SysTick)
//   uart_stat(which)     0: UART overruns (always 0 here), 1: peak of the received-bytes queue
//   reset()              a new instance (fresh memory, start function again)
//   boot_request(...)    -1: no resident boot service (firmware/shared/rpc.ts answers 403)
// A trap behaves like firmware/runtime's cell_panic: `\0!panic <reason>\n\0` on the UART, then
// a reset. poll() runs when bytes arrive and every millisecond (stream pacing).
// Plain JavaScript (no tsx): starts in ~50 ms, so a restart is a fast "reset button".
import { readFileSync } from 'node:fs';
import { SerialPort } from 'serialport';

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
  console.error('usage: sim-device.mjs --wasm <file.wasm> --pty <path> [--baud N]');
  process.exit(2);
}

const module = new WebAssembly.Module(readFileSync(wasmPath));
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
