// The secured thermo cell (firmware/thermo-secure) native under qemu: the provisioning record is
// "flashed" before qemu starts, the host speaks through SecureLink (role 'host') over the UART pty.
//  - mps2-an385: the record is written into the file behind qemu's "flash" (the machine RAM at
//    0x21000000, -object memory-backend-file; key page at 0x21040000, the boot counter's pages
//    right after: docs/flash.md §10.1, firmware/runtime/board-mps2-an385.c). A sealed read, a
//    plaintext request refused; the boot counter grows across a system_reset (monitor) AND across
//    a power cycle (a new qemu process on the same backing file).
//  - lm3s6965evb (not a supported secure target: no flash driver): the record is loaded into the
//    last flash page by qemu's loader, the counter pages are .noinit RAM — a sealed read, the
//    counter grows across a system_reset, and (as documented) starts again after a power cycle.
// docs/firmware.md §"Link security on the device". Skips (with a printed reason) when qemu, the
// arm toolchain, wabt or serialport are missing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SerialPort as SerialPortType } from 'serialport';
import { simulatedCelsius } from '../../firmware/thermo/schema.ts';
import { buildFirmwareApp, closePort, loadSerialPort, openPort, qemuUnavailable } from '../../hw-tests/lib/targets.ts';
import { startQemu, type Board, type Qemu, type QemuOptions } from '../../hw-tests/lib/qemu.ts';
import { atExit } from '../../hw-tests/lib/procs.ts';
import { SecureHost, provisioningRecord } from './secure-host.ts';

/** Where the key page is in the mps2 backing file (0x21040000 - 0x21000000). */
const MPS2_KEY_PAGE_OFFSET = 0x40000;
const LM3S_KEY_PAGE = 0x3fc00;

const missing = qemuUnavailable();
const built = missing ? { skip: missing } : buildFirmwareApp('thermo-secure');
const SerialPort = 'skip' in built ? built.skip : await loadSerialPort();

/** One qemu with a SecureHost on its UART: boot (paused, port open, cont), reset, power cycle. */
class SecureQemu {
  qemu: Qemu | null = null;
  port: SerialPortType | null = null;
  host: SecureHost | null = null;
  constructor(private readonly SP: typeof import('serialport').SerialPort, private readonly opts: QemuOptions) {}

  async boot(): Promise<void> {
    this.qemu = await startQemu(this.opts);
    await this.attach();
  }

  /** A new port and host on the current pty, then the CPU starts (qemu's pty notices an early reader at once). */
  private async attach(): Promise<void> {
    this.port = await openPort(this.SP, this.qemu!.ptyPath);
    this.host = new SecureHost(this.port);
    this.host.start();
    await this.qemu!.cont();
  }

  async powerCycle(): Promise<void> {
    this.host?.close();
    await closePort(this.port);
    await this.qemu!.restart(); // a new process on the same files, paused, a new pty
    await this.attach();
  }

  async stop(): Promise<void> {
    this.host?.close();
    await closePort(this.port);
    await this.qemu?.kill();
  }

  diag(): string {
    return this.qemu ? `\nqemu log:\n${this.qemu.log}` : '';
  }
}

function boardSuite(SP: typeof import('serialport').SerialPort, board: Board, elf: string, stackBytes: number): void {
  const t = suite(`thermo-secure under qemu ${board}`);
  const dir = mkdtempSync(join(tmpdir(), `cell-sec-${board}-`));
  const cancel = atExit(() => rmSync(dir, { recursive: true, force: true }));
  let dev: SecureQemu;

  t.before(async () => {
    const rec = provisioningRecord();
    if (board === 'mps2-an385') {
      // A blank device whose key page was written when it was flashed: zeros elsewhere.
      const flash = join(dir, 'flash.bin');
      const img = Buffer.alloc(16 * 1024 * 1024);
      Buffer.from(rec).copy(img, MPS2_KEY_PAGE_OFFSET);
      writeFileSync(flash, img);
      dev = new SecureQemu(SP, { board, elf, paused: true, flashFile: flash });
    } else {
      const file = join(dir, 'record.bin');
      writeFileSync(file, rec);
      dev = new SecureQemu(SP, { board, elf, paused: true, loadFiles: [{ file, addr: LM3S_KEY_PAGE }] });
    }
    await dev.boot();
  });
  t.after(async () => {
    await dev?.stop();
    rmSync(dir, { recursive: true, force: true });
    cancel();
  });

  t('a sealed read, and the boot counter in the ops counters', async () => {
    try {
      const s = await dev.host!.waitOpened(0, 10_000);
      const r = await dev.host!.read(2);
      assert.is(r.seq, 1);
      assert.is(r.celsius, simulatedCelsius(2, 1));
      const c = await dev.host!.counters();
      assert.is(c.bootCounter, s.bootCounter);
      assert.is(c.badTags, 0);
      assert.is(dev.host!.secure.counters.plaintextRefused, 0, 'nothing came in plaintext after ACCEPT');
      console.log(`  ${board}: session boot counter ${s.bootCounter}, session ${s.session}`);
    } catch (e) {
      throw new Error(`${(e as Error).message}${dev.diag()}`);
    }
  });

  t('a plaintext request on the line gets no answer but a REQUEST (the host opens a new session)', async () => {
    const host = dev.host!;
    const before = host.secure.counters.plaintextRefused;
    const requests = host.events.filter((e) => e.type === 'request').length;
    const n = host.opened.length;
    const boot = host.opened[n - 1]!.bootCounter;
    const responses = host.tap.kinds[3]! + host.tap.kinds[4]!; // RESPONSE, ERROR
    // Past the device's REQUEST rate limit (200 ms) each time; sent again if no REQUEST came back
    // within 2 s (once was enough in every quiet run; a loaded machine lost one).
    for (let i = 0; i < 4 && host.events.filter((e) => e.type === 'request').length === requests; i++) {
      await new Promise((r) => setTimeout(r, 250));
      host.injectPlaintextRead(0x6f000001 + i);
      for (let k = 0; k < 100 && host.events.filter((e) => e.type === 'request').length === requests; k++) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(host.events.filter((e) => e.type === 'request').length > requests, `the device sent a REQUEST${dev.diag()}`);
    const s = await host.waitOpened(n, 10_000).catch((e: Error) => { throw new Error(`${e.message}${dev.diag()}`); });
    assert.is(s.bootCounter, boot, 'same boot');
    assert.is(s.session, host.opened[n - 1]!.session + 1, 'the next session number');
    assert.is(host.secure.counters.plaintextRefused, before, 'the device sent nothing in plaintext but the REQUEST');
    await new Promise((r) => setTimeout(r, 200));
    assert.is(host.tap.kinds[3]! + host.tap.kinds[4]!, responses, 'no answer to the plaintext read, sealed or not');
    const c = await host.counters();
    assert.ok(c.plaintextRefused >= 1, `plaintextRefused ${c.plaintextRefused}`);
    assert.is(c.requests, 1, 'only the sealed read reached the app');
  });

  t('system_reset (monitor): a new session with a higher boot counter', async () => {
    const before = dev.host!.opened[dev.host!.opened.length - 1]!;
    const n = dev.host!.opened.length;
    await dev.qemu!.reset();
    const s = await dev.host!.waitOpened(n - 1 + 1, 10_000).catch((e: Error) => { throw new Error(`${e.message}${dev.diag()}`); });
    assert.ok(s.bootCounter > before.bootCounter, `${s.bootCounter} after ${before.bootCounter}`);
    const r = await dev.host!.read(0);
    assert.is(r.seq, 1, 'the device was reset');
    console.log(`  ${board}: after system_reset boot counter ${s.bootCounter} (was ${before.bootCounter})`);
  });

  t('the C stack keeps room to spare (the lowest word written since power-on)', async () => {
    // RAM comes up zeroed under qemu and .stack is the first thing in it (0x20000000 upwards,
    // growing down from its end): the first nonzero word is the deepest the stack has been.
    const words = stackBytes / 4;
    const out = await dev.qemu!.command(`xp /${words}wx 0x20000000`);
    const w: number[] = [];
    for (const line of out.split('\n')) {
      const m = line.match(/^[0-9a-f]+:((?:\s+0x[0-9a-f]+)+)/);
      if (m) w.push(...m[1]!.trim().split(/\s+/).map((x) => parseInt(x, 16)));
    }
    assert.is(w.length, words, out);
    const used = (words - w.findIndex((x) => x !== 0)) * 4;
    console.log(`  ${board}: stack used ${used} of ${stackBytes} B (sealed calls, ops counters, OPEN/ACCEPT, resets)`);
    assert.ok(used <= stackBytes - 256, `stack used ${used} of ${stackBytes}`);
  });

  t(board === 'mps2-an385'
    ? 'power cycle (a new qemu on the same backing file): the boot counter still grows'
    : 'power cycle: the counter pages are RAM, the boot counter starts again (documented: not a secure target)', async () => {
    const before = dev.host!.opened[dev.host!.opened.length - 1]!;
    await dev.powerCycle();
    const s = await dev.host!.waitOpened(0, 10_000).catch((e: Error) => { throw new Error(`${e.message}${dev.diag()}`); });
    if (board === 'mps2-an385') assert.ok(s.bootCounter > before.bootCounter, `${s.bootCounter} after ${before.bootCounter}`);
    else assert.is(s.bootCounter, 0, 'the .noinit pages came up zeroed: a blank counter');
    const r = await dev.host!.read(1);
    assert.is(r.seq, 1);
    console.log(`  ${board}: after power cycle boot counter ${s.bootCounter} (was ${before.bootCounter})`);
  });

  t.run();
}

if ('skip' in built || typeof SerialPort === 'string') {
  const why = 'skip' in built ? built.skip : (SerialPort as string);
  console.log(`\n  thermo-secure under qemu: SKIPPED — ${why.split('\n').join('\n    ')}\n`);
  const s = suite('thermo-secure under qemu');
  s.skip('sealed read, reset and power cycle on mps2-an385 and lm3s6965evb', () => {});
  s.run();
} else {
  for (const row of built.rows) {
    console.log(`  thermo-secure-${row.board}: wasm ${row.wasmBytes} B, flash ${row.flash} B, RAM ${row.ram} B`);
  }
  for (const board of ['mps2-an385', 'lm3s6965evb'] as const) {
    // The footprint rows carry the stack size (scripts/build-firmware.mjs footprint()).
    const row = built.rows.find((r) => r.board === board) as unknown as { stack: number };
    boardSuite(SerialPort, board, built.elfs[board], row.stack);
  }
}
