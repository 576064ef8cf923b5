// The simulator target of the bootloader (docs/flash.md §6): a device process whose flash is a
// file and whose reset is a fresh boot() over that file (a power cycle is killing this process
// and starting it again). The portable bootloader (firmware/boot/loader.ts) decides what runs;
// the "app" is the image in the chosen slot — a firmware wasm (build/firmware/thermo.wasm) run
// with the env imports of hw-tests/lib/sim-device.mjs. While the app runs, frames on channel 3
// go to the resident boot service (the same Bootloader in app mode: INFO, CONFIRM, RESET,
// ENTER_BOOT), everything else to the app.
//
//   node --import tsx hw-tests/lib/boot-sim-device.ts --pty <path> --flash <file> [--board sim]
//     [--page-bytes 1024] [--slot-pages 128] [--chunk-bytes 1024] [--window 4] [--trusted-key <hex>]
//     [--sec-record <file> --sec-flash <file>]
//   --sec-record / --sec-flash: link security for a secured app (firmware/thermo-secure): its key
//   page and boot-counter pages (hw-tests/lib/sim-secure-env.mjs). While such an app runs, every
//   frame goes to the app, which unseals channel-3 requests and hands them to the resident boot
//   service through env.boot_request, as the board's app does with the bootloader's service
//   (docs/flash.md §10): a plaintext ENTER_BOOT never reaches the bootloader.
//   --trusted-key: the publisher key the bootloader trusts (as a board's build-time constant):
//   it then verifies every manifest's Ed25519 signature itself (@noble/curves, strict) and refuses
//   unsigned (712), forged (713), foreign (714) and rolled-back (717) images. Without it: a
//   development bootloader that checks no signature (docs/flash.md §5.4).
//
// stdout, one line per event (the launcher, hw-tests/lib/boot-sim.ts, parses them):
//   ready <pty>                    the port is open
//   boot bootloader <reason>       stays in the bootloader (asked to, or no valid image)
//   boot app slot=<s> version=<v> trial=<0|1>
//   crash <reason>                 the app failed (invalid image, trap): reset follows
// The port is reopened when it goes away (socat killed = cable unplugged): the device, and a
// transfer session in its RAM, live on, as on a real board.
import { closeSync, existsSync, openSync, readSync, realpathSync, writeSync, ftruncateSync, fstatSync } from 'node:fs';
import { SerialPort } from 'serialport';
import { Deframer } from '../../src/framing/deframer.ts';
import { frameEncode, frameMaxEncodedBytes } from '../../src/framing/frame.ts';
import { CHANNEL_BOOT } from '../../src/wire/header.ts';
import { ERR_BOOT_FLASH_IO } from '../../src/wire/errors.ts';
import { Flash, BootLayout } from '../../firmware/boot/flash.ts';
import { Bootloader, BootConfig, BOOT_STAY, ACTION_RESET } from '../../firmware/boot/loader.ts';
import { NobleVerifier } from '../../firmware/boot/noble-verify.ts';
import { secureEnv } from './sim-secure-env.mjs';
import { aeadOpen, aeadSeal } from '../../src/secure/aead.ts';
import { hchacha20 } from '../../src/secure/chacha20.ts';

const args = process.argv.slice(2);
const opt = (name: string, def?: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const ptyPath = opt('--pty');
const flashPath = opt('--flash');
if (ptyPath === undefined || flashPath === undefined) {
  console.error('usage: boot-sim-device.ts --pty <path> --flash <file> [--board sim] [--page-bytes N] [--slot-pages N] [--chunk-bytes N] [--window N]');
  process.exit(2);
}
const pageBytes = Number(opt('--page-bytes', '1024'));
const slotPages = Number(opt('--slot-pages', '128'));
const MAX_FRAME_BYTES = 2048;

/** Flash backed by a file (created erased, all 0xFF). Every write goes to the file at once. */
class FileFlash extends Flash {
  private readonly fd: number;
  private readonly ff: Uint8Array;
  constructor(path: string, pageBytes: number, pages: number) {
    super();
    this.pageBytes = pageBytes;
    this.pages = pages;
    this.fd = openSync(path, existsSync(path) ? 'r+' : 'w+');
    this.ff = new Uint8Array(pageBytes).fill(0xff);
    const want = pageBytes * pages;
    const have = fstatSync(this.fd).size;
    if (have < want) {
      ftruncateSync(this.fd, want);
      for (let p = Math.floor(have / pageBytes); p < pages; p++) writeSync(this.fd, this.ff, 0, pageBytes, p * pageBytes);
    }
  }
  private inRange(addr: number, len: number): boolean {
    return addr >= 0 && len >= 0 && addr + len <= this.pageBytes * this.pages;
  }
  override read(addr: number, dst: Uint8Array, dstOff: number, len: number): number {
    if (!this.inRange(addr, len)) return -ERR_BOOT_FLASH_IO;
    readSync(this.fd, dst, dstOff, len, addr);
    return 0;
  }
  override erase(page: number): number {
    if (page < 0 || page >= this.pages) return -ERR_BOOT_FLASH_IO;
    writeSync(this.fd, this.ff, 0, this.pageBytes, page * this.pageBytes);
    return 0;
  }
  override write(addr: number, src: Uint8Array, srcOff: number, len: number): number {
    if (!this.inRange(addr, len)) return -ERR_BOOT_FLASH_IO;
    writeSync(this.fd, src, srcOff, len, addr);
    return 0;
  }
  close(): void { closeSync(this.fd); }
}

const layout = new BootLayout(pageBytes, slotPages);
const flash = new FileFlash(flashPath, pageBytes, layout.totalPages());
const config = new BootConfig();
const boardName = new TextEncoder().encode(opt('--board', 'sim'));
config.board.set(boardName.subarray(0, 16));
config.chunkBytes = Number(opt('--chunk-bytes', '1024'));
config.window = Number(opt('--window', '4'));
const trustedKey = opt('--trusted-key');
if (trustedKey !== undefined) {
  if (!/^[0-9a-fA-F]{64}$/.test(trustedKey)) { console.error('--trusted-key: 64 hex digits'); process.exit(2); }
  config.trustedKey.set(Buffer.from(trustedKey, 'hex'));
}
const bl = new Bootloader(flash, layout, config, new NobleVerifier());

const log = (line: string): void => { process.stdout.write(line + '\n'); };

// ---------------------------------------------------------------------------------------------
// The serial port (reopened after an unplug)

let port: SerialPort | null = null;
const deframer = new Deframer(MAX_FRAME_BYTES);
const txBuf = new Uint8Array(frameMaxEncodedBytes(MAX_FRAME_BYTES) + 1);
const answer = new Uint8Array(MAX_FRAME_BYTES);

function send(bytes: Uint8Array): void {
  if (port !== null && port.isOpen) port.write(Buffer.from(bytes));
}

/** Encode a frame with a leading 0x00 (flushes line noise out of the host's deframer). */
function sendFrame(frame: Uint8Array, len: number): void {
  txBuf[0] = 0;
  const n = frameEncode(frame, 0, len, txBuf, 1);
  if (n > 0) send(txBuf.subarray(0, n + 1));
}

/** The pty the link points at now ('' when gone): socat makes a new /dev/pts/N on every start. */
function target(): string {
  try { return realpathSync(ptyPath!); } catch { return ''; }
}
let openedTarget = '';

function openPort(first: boolean): void {
  if (!existsSync(ptyPath!)) { setTimeout(() => openPort(first), 50); return; }
  openedTarget = target();
  const p = new SerialPort({ path: ptyPath!, baudRate: 115200, autoOpen: false });
  p.on('data', (chunk: Buffer) => onBytes(chunk));
  p.on('error', () => { /* followed by close, or the open callback */ });
  p.on('close', () => { if (port === p) { port = null; deframer.reset(); setTimeout(() => openPort(false), 50); } });
  p.open((e) => {
    if (e) { setTimeout(() => openPort(first), 50); return; }
    port = p;
    if (first) log(`ready ${ptyPath}`);
  });
}

// ---------------------------------------------------------------------------------------------
// The app: a wasm image from the running slot

// The WebAssembly global, typed here: tsconfig's lib (ES2022, no DOM) does not declare it.
interface WasmMemory { readonly buffer: ArrayBuffer }
const WebAssembly = (globalThis as unknown as { WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { readonly exports: Record<string, unknown> };
  Memory: new (d: { initial: number }) => WasmMemory;
} }).WebAssembly;
interface AppExports { poll(): void; memory: WasmMemory }
let app: AppExports | null = null;
/** The running app imports the device AEAD (a secured build) and the device has a key page. */
let securedApp = false;
/** firmware/shared/rpc-core.ts BOOT_RESET: reset once the (sealed) answer is out. */
const BOOT_SERVICE_RESET = 0x10000;
let appRx: Uint8Array[] = [];
let appRxBytes = 0;
let appT0 = 0;
class ResetRequest extends Error {}

const secRecord = opt('--sec-record');
const secure = secRecord !== undefined
  ? await secureEnv(null, {
    recordPath: secRecord, flashPath: opt('--sec-flash'), memory: () => app!.memory,
    loadAead: async () => ({ aeadSeal, aeadOpen, hchacha20 }),
  })
  : null;

const env = {
  ...(secure?.env ?? {}),
  uart_read(ptr: number, max: number): number {
    if (app === null || max <= 0 || appRxBytes === 0) return 0;
    const dst = new Uint8Array(app.memory.buffer, ptr, max);
    let n = 0;
    while (n < max && appRx.length > 0) {
      const c = appRx[0]!;
      const k = Math.min(c.length, max - n);
      dst.set(c.subarray(0, k), n);
      n += k;
      if (k === c.length) appRx.shift();
      else appRx[0] = c.subarray(k);
    }
    appRxBytes -= n;
    return n;
  },
  uart_write(ptr: number, len: number): void {
    if (app !== null && len > 0) send(new Uint8Array(app.memory.buffer, ptr, len).slice());
  },
  millis(): number { return (Math.floor(performance.now() - appT0) >>> 0) | 0; },
  reset(): void { throw new ResetRequest('reset'); },
  // A plain app never gets channel 3 (the device routes it to the Bootloader first); a secured
  // one hands over what it unsealed, and seals the answer (firmware/shared/rpc-core.ts bootRequest).
  boot_request(req: number, len: number, out: number, max: number): number {
    if (app === null || !securedApp) return -1;
    const m = new Uint8Array(app.memory.buffer);
    const k = bl.handle(m.slice(req, req + len), len, answer);
    if (k > max) return -1;
    if (k > 0) m.set(answer.subarray(0, k), out);
    return k | (bl.action === ACTION_RESET ? BOOT_SERVICE_RESET : 0);
  },
  uart_stat(): number { return 0; }, // no UART here: nothing overruns
};

function startApp(slot: number): boolean {
  const s = bl.state.slot(slot);
  const image = new Uint8Array(s.imageBytes);
  if (flash.read(layout.slotAddr(slot), image, 0, image.length) < 0) return false;
  try {
    const module = new WebAssembly.Module(image);
    appT0 = performance.now();
    app = null;
    securedApp = secure !== null && (WebAssembly as unknown as { Module: { imports(m: object): { module: string; name: string }[] } })
      .Module.imports(module).some((i) => i.module === 'env' && i.name.startsWith('aead_'));
    const inst = new WebAssembly.Instance(module, { env });
    app = inst.exports as unknown as AppExports;
    if (typeof app.poll !== 'function' || !(app.memory instanceof WebAssembly.Memory)) throw new Error('the image exports no poll()/memory');
    return true;
  } catch (e) {
    app = null;
    log(`crash ${(e as Error).message.replace(/\s+/g, ' ')}`);
    return false;
  }
}

let polling = false;
let healthySent = false;
function runApp(): void {
  if (app === null || polling) return;
  polling = true;
  try {
    let spins = 0;
    do app.poll(); while (appRxBytes > 0 && ++spins < 10000);
    // The healthy signal (docs/flash.md §5.5): the app's first poll() that returned normally
    // resets the active slot's start count (the simulator has no main loop of its own to time).
    if (!healthySent) { healthySent = true; bl.healthy(); }
  } catch (e) {
    if (!(e instanceof ResetRequest)) {
      send(Buffer.concat([Buffer.of(0), Buffer.from(`!panic ${(e as Error).message}\n`), Buffer.of(0)]));
      log(`crash ${(e as Error).message.replace(/\s+/g, ' ')}`);
    }
    polling = false;
    reset();
    return;
  }
  polling = false;
}

// ---------------------------------------------------------------------------------------------
// Reset: the bootloader decides again from what the flash says

function reset(): void {
  app = null;
  healthySent = false;
  appRx = [];
  appRxBytes = 0;
  deframer.reset();
  for (let tries = 0; ; tries++) {
    const slot = bl.boot();
    if (slot === BOOT_STAY) {
      log(`boot bootloader ${bl.state.active === 0xff && bl.state.s0.state !== 1 && bl.state.s1.state !== 1 ? 'no-image' : 'requested'}`);
      return;
    }
    const trial = bl.state.trial === slot ? 1 : 0;
    if (startApp(slot)) {
      bl.enterApp(slot);
      log(`boot app slot=${slot} version=${bl.state.slot(slot).version} trial=${trial}`);
      return;
    }
    // A broken image: reset again (a trial is rolled back by the next boot(); a confirmed image
    // is given up after BootConfig.maxAttempts starts without the healthy signal).
    if (tries > 8) { log('boot bootloader boot-loop'); bl.mode = 1; return; }
  }
}

function onBytes(chunk: Uint8Array): void {
  deframer.feed(chunk, 0, chunk.length);
  for (let n = deframer.next(); n > 0; n = deframer.next()) {
    const f = deframer.frame;
    if (n >= 20 && f[3] === CHANNEL_BOOT && !(app !== null && securedApp)) {
      const k = bl.handle(f, n, answer);
      if (k > 0) sendFrame(answer, k);
      if (bl.action === ACTION_RESET) {
        // The answer is queued on the port; reset once it left (a real device resets after the
        // UART drained), so the host gets it.
        const p = port;
        if (p !== null) p.drain(() => reset());
        else reset();
        return;
      }
      continue;
    }
    if (app !== null) {
      // Hand the frame to the app as bytes again (it has its own deframer).
      const enc = new Uint8Array(frameMaxEncodedBytes(n) + 1);
      const m = frameEncode(f, 0, n, enc, 1);
      if (m > 0) { appRx.push(enc.subarray(0, m + 1)); appRxBytes += m + 1; }
    }
  }
  runApp();
}

// A pty end can stay "open" after the other side's socat died (no error, no close): watch the
// link's target, as the host's UART link watches its path, and reopen when it changed.
setInterval(() => {
  const p = port;
  if (p !== null && p.isOpen && target() !== openedTarget) p.close();
}, 100);

openPort(true);
reset();
setInterval(runApp, 1);
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => { flash.close(); secure?.close(); process.exit(0); });
}
