// Flash throughput (docs/flash.md §9): time to flash a 64 KiB image into the simulator target
// over a socat pty, with the host paced at 115200 and 921600 baud, as a percentage of the
// line-rate minimum (64 KiB × 10 bits per byte ÷ baud; target ≥ 85 %). The device answers
// unpaced (its answers are 28 bytes per KiB sent; a real UART is full duplex, so they cost no
// line time in the host → device direction that bounds the transfer).
//   node --import tsx bench/flash/flash.bench.ts [--runs 3] [--window 4] [--baud N] [--json out.json]
// Verifies before it times: each run must end with the device running the new image (INFO).
import { writeFileSync } from 'node:fs';
import { startDevice, stampWasm, thermoWasm } from '../../test/flash/helpers.ts';
import { buildManifest } from '../../src/flash/manifest.ts';
import { deviceInfo, flashImage } from '../../src/flash/flash.ts';

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] ?? 3) || 3;
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
/** CHUNKs in flight the simulated device allows (its INFO window). @default 4 */
const window = Number(args[args.indexOf('--window') + 1] ?? 4) || 4;
const bauds = args.includes('--baud') ? [Number(args[args.indexOf('--baud') + 1])] : [115200, 921600];
const IMAGE_BYTES = 64 * 1024;

const wasm = thermoWasm();
if ('skip' in wasm) { console.error(`flash bench: ${wasm.skip}`); process.exit(0); }
const bench = await startDevice({ window });
const rows: Record<string, unknown>[] = [];
try {
  let n = 0;
  const image = (v: string): Uint8Array => {
    // Pad the custom section so the whole module is exactly 64 KiB (its LEB128 size field grows).
    let pad = IMAGE_BYTES - stampWasm(wasm, v).length;
    for (let k = 0; k < 8; k++) {
      const img = stampWasm(wasm, v, pad);
      if (img.length === IMAGE_BYTES) return img;
      pad += IMAGE_BYTES - img.length;
    }
    throw new Error('cannot make a 64 KiB image');
  };
  // First image (blank device): not timed.
  const first = image('0.0.1');
  await flashImage({ port: bench.port, image: first, manifest: buildManifest(first, { version: '0.0.1', board: 'sim' }) });
  for (const baud of bauds) {
    const minMs = (IMAGE_BYTES * 10 * 1000) / baud;
    for (let r = 0; r < runs; r++) {
      n++;
      const v = `1.${n}.0`;
      const img = image(v);
      const res = await flashImage({ port: bench.port, image: img, manifest: buildManifest(img, { version: v, board: 'sim' }), paceBaud: baud });
      const d = await deviceInfo({ port: bench.port });
      if (d.mode !== 'app' || d.slots[d.runningSlot!]!.version !== v) throw new Error(`run ${n}: the device does not run ${v}`);
      const row = {
        baud, run: r + 1, lineMinMs: Math.round(minMs), transferMs: Math.round(res.transferMs), totalMs: Math.round(res.totalMs),
        transferPct: Math.round((minMs / res.transferMs) * 1000) / 10, totalPct: Math.round((minMs / res.totalMs) * 1000) / 10,
        retransmits: res.retransmits,
      };
      rows.push(row);
      console.error(`  ${baud} baud run ${r + 1}: transfer ${row.transferMs} ms (${row.transferPct} %), whole flash ${row.totalMs} ms (${row.totalPct} %)`);
    }
  }
} finally {
  await bench.close();
}
const med = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
console.log('| baud | line minimum | transfer (median) | % of line rate | whole flash (median) | % of line rate | target |');
console.log('|---|---|---|---|---|---|---|');
for (const baud of bauds) {
  const rs = rows.filter((r) => r.baud === baud);
  const t = med(rs.map((r) => r.transferMs as number));
  const w = med(rs.map((r) => r.totalMs as number));
  const min = rs[0]!.lineMinMs as number;
  const pt = Math.round((min / t) * 1000) / 10;
  const pw = Math.round((min / w) * 1000) / 10;
  console.log(`| ${baud} | ${min} ms | ${t} ms | ${pt} % | ${w} ms | ${pw} % | ≥ 85 %: ${pw >= 85 ? 'PASS' : 'FAIL'} (whole), ${pt >= 85 ? 'PASS' : 'FAIL'} (transfer) |`);
}
if (jsonOut !== undefined) writeFileSync(jsonOut, JSON.stringify(rows, null, 1));
process.exit(0);
