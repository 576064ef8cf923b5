// Device cost of link security in guest instructions: firmware/thermo-secure/bench (the framing
// and SecureDevice code thermo-secure runs, its AEAD in C, timed in loops on the device) under
// `qemu-system-arm -M mps2-an385 -icount shift=3`, where the virtual clock — and so SysTick and
// millis() — advances 2^3 ns per guest instruction. Prints the table of docs/firmware.md
// §"Link security on the device"; asserts only what must hold whatever the code's speed (every
// measurement ran, sealing costs more than framing). Skips when qemu or the toolchain is missing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { closePort, loadSerialPort, openPort, qemuUnavailable } from '../../hw-tests/lib/targets.ts';
import { startQemu } from '../../hw-tests/lib/qemu.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const SHIFT = 3;
const NAMES = [
  'baseline-copy64', 'baseline-copy52', 'seal', 'receive-unseal', 'deframe-plain', 'deframe-sealed',
  'encode-plain', 'encode-sealed', 'read-header', 'open-accept',
] as const;

function build(): string | { skip: string } {
  const r = spawnSync(process.execPath, ['scripts/build-firmware.mjs', 'thermo-secure/bench', '--board', 'mps2-an385', '--json'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) {
    const msg = (r.stderr || '').trim();
    if (/toolchain incomplete/.test(msg)) return { skip: msg.replace(/^build-firmware: /, '') };
    throw new Error(`firmware build failed:\n${msg}`);
  }
  return `${root}${(JSON.parse(r.stdout) as { elf: string }[])[0]!.elf}`;
}

const missing = qemuUnavailable();
const elf = missing ? { skip: missing } : build();
const SerialPort = typeof elf === 'string' ? await loadSerialPort() : elf.skip;

if (typeof elf !== 'string' || typeof SerialPort === 'string') {
  const why = typeof elf !== 'string' ? elf.skip : (SerialPort as string);
  console.log(`\n  thermo-secure bench: SKIPPED — ${why.split('\n').join('\n    ')}\n`);
  const s = suite('thermo-secure bench under qemu -icount');
  s.skip('instructions per sealed frame', () => {});
  s.run();
} else {
  const t = suite('thermo-secure bench under qemu -icount');
  t('instructions per frame with a 32-byte payload: plain framing vs seal / receive+unseal', async () => {
    const qemu = await startQemu({ board: 'mps2-an385', elf, paused: true, icountShift: SHIFT });
    const port = await openPort(SerialPort, qemu.ptyPath);
    let text = '';
    port.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    const t0 = Date.now();
    try {
      await qemu.cont();
      while (!text.includes('bench done') && !text.includes('!panic') && !text.includes('bench error') && Date.now() - t0 < 60_000) {
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await closePort(port);
      await qemu.kill();
    }
    assert.ok(text.includes('bench done'), `bench output: ${JSON.stringify(text.slice(0, 400))}`);
    const insn: Record<string, number> = {};
    for (const l of text.split('\n')) {
      const m = l.match(/^bench (\S+) (\d+) (\d+)/);
      if (m && m[1] !== 'done') insn[m[1]!] = (Number(m[3]) * 1e6) / 2 ** SHIFT / Number(m[2]);
    }
    for (const n of NAMES) assert.ok(insn[n]! > 0, `${n} measured`);
    const seal = insn.seal! - insn['baseline-copy52']!;
    const open = insn['receive-unseal']! - insn['baseline-copy64']!;
    const k = (x: number): string => `${(x / 1000).toFixed(1)}k`;
    console.log([
      `  guest instructions per frame, 32-byte payload (52 B plain, 64 B sealed), qemu -icount shift=${SHIFT}, ${Date.now() - t0} ms:`,
      `    receive: deframe ${k(insn['deframe-plain']!)} plain | deframe ${k(insn['deframe-sealed']!)} + receive/unseal ${k(open)} sealed`,
      `    send:    encode ${k(insn['encode-plain']!)} plain | seal ${k(seal)} + encode ${k(insn['encode-sealed']!)} sealed`,
      `    readHeader ${k(insn['read-header']!)}; OPEN → ACCEPT (HChaCha20 + sealed ACCEPT) ${k(insn['open-accept']!)}`,
    ].join('\n'));
    // With the device's C AEAD (firmware/shared/device-aead.ts) sealing costs about as much as
    // framing, so only what holds for any implementation is asserted.
    assert.ok(seal > 0 && open > 0, 'sealing and opening cost more than copying the frame');
    assert.ok(insn['open-accept']! > seal, 'OPEN → ACCEPT seals a frame and derives a key');
  });
  t.run();
}
