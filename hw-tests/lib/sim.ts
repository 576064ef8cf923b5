// The firmware simulator as a child process (hw-tests/lib/sim-device.mjs): a firmware app's wasm
// running in Node with its UART on a serial port — normally one end of a socat pty pair
// (hw-tests/lib/pty.ts), the host opening the other end exactly as it would a USB-UART.
//
//   const pty = await startPtyPair();
//   const sim = await startSim({ ptyPath: pty.pathA, wasm: 'build/firmware/thermo.wasm' });
//   const port = new SerialPort({ path: pty.pathB, baudRate: 115200 });   // the host side
//   await sim.restart();   // power cycle: a new process on the same pty (the host port stays open)
//   await sim.reset();     // reset button: a new instance in the same process (fast)
//   await sim.kill();
// Link security (firmware/thermo-secure): `secRecord` is the key page (the 64-byte provisioning
// record file), `secFlash` the boot counter's flash pages (a file, created erased); both survive
// restart() and reset(), as flash does.
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawnTracked, stopProcess } from './procs.ts';

const DEVICE = fileURLToPath(new URL('./sim-device.mjs', import.meta.url));

export interface SimOptions {
  /** The device's end of the serial line (a pty of a socat pair, or any tty). */
  ptyPath: string;
  /** The firmware wasm. @default build/firmware/thermo.wasm */
  wasm?: string;
  /** Give up when the simulator has not reported "ready" within this long. @default 10000 */
  startTimeoutMs?: number;
  /** Line noise device → host: a burst of `bytes` random bytes every minMs..maxMs, between frames. @default none */
  noise?: { minMs: number; maxMs: number; bytes: number };
  /** The device's provisioning record (a 64-byte file, src/secure/provision.ts). @default none: a plain device */
  secRecord?: string;
  /** The boot counter's flash pages (a 2 KiB file, created erased when missing). @default none */
  secFlash?: string;
}

export interface Sim {
  readonly ptyPath: string;
  /** stderr of the simulator (resets, port errors), for failure messages. */
  readonly log: string;
  readonly exited: boolean;
  /** Stop the simulator (the device loses power). Safe to call twice. */
  kill(): Promise<void>;
  /** kill() and start again on the same pty: a power cycle (also a reset, as the host sees it). */
  restart(): Promise<void>;
  /** The reset button: a new instance of the app in the same process (~1 ms instead of ~60 ms). */
  reset(): Promise<void>;
}

interface Running { child: ChildProcess; log: { text: string }; out: { text: string } }

async function launch(opts: SimOptions): Promise<Running> {
  const wasm = opts.wasm ?? fileURLToPath(new URL('../../build/firmware/thermo.wasm', import.meta.url));
  const noise = opts.noise !== undefined ? ['--noise', `${opts.noise.minMs}-${opts.noise.maxMs}:${opts.noise.bytes}`] : [];
  const sec = [
    ...(opts.secRecord !== undefined ? ['--sec-record', opts.secRecord] : []),
    ...(opts.secFlash !== undefined ? ['--sec-flash', opts.secFlash] : []),
  ];
  const child = spawnTracked(process.execPath, [DEVICE, '--wasm', wasm, '--pty', opts.ptyPath, ...noise, ...sec]);
  const log = { text: '' };
  const stdout = { text: '' };
  child.stdout!.on('data', (d: Buffer) => { stdout.text += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { log.text += d.toString(); });
  const timeoutMs = opts.startTimeoutMs ?? 10_000;
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`simulator not ready within ${timeoutMs} ms:\n${log.text}`)), timeoutMs);
    const fail = (e: Error) => { clearTimeout(timer); child.kill('SIGKILL'); reject(e); };
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) { clearTimeout(timer); resolve(); }
    });
    child.once('error', (e) => fail(new Error(`cannot start the simulator: ${e.message}`)));
    child.once('exit', (code, sig) => fail(new Error(`simulator exited (${code ?? sig}) before it was ready:\n${log.text}`)));
  });
  return { child, log, out: stdout };
}

/** Start the simulator on `opts.ptyPath`; resolves once the device runs. */
export async function startSim(opts: SimOptions): Promise<Sim> {
  let r = await launch(opts);
  return {
    ptyPath: opts.ptyPath,
    get log() { return r.log.text; },
    get exited() { return r.child.exitCode !== null || r.child.signalCode !== null; },
    kill: () => stopProcess(r.child),
    async restart() {
      await stopProcess(r.child);
      r = await launch(opts);
    },
    async reset() {
      const done = (r.out.text.match(/reset done/g) ?? []).length;
      r.child.stdin!.write('reset\n');
      const deadline = Date.now() + 5000;
      while ((r.out.text.match(/reset done/g) ?? []).length <= done) {
        if (Date.now() > deadline) throw new Error(`simulator did not reset:\n${r.log.text}`);
        await new Promise((res) => setTimeout(res, 1));
      }
    },
  };
}
