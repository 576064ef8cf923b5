// `npm run fuzz [-- --iterations N --seed S --json]`: the long fuzz run (default 1 000 000 cases,
// seed 0xCE11). Prints counts per outcome; exits 1 on any exception or unknown error code.
import { runFuzz } from './harness.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.lastIndexOf(`--${name}`); // the last one wins: npm run fuzz -- --iterations N
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}
const iterations = Number(arg('iterations', '1000000'));
const seed = Number(arg('seed', String(0xce11)));
const json = process.argv.includes('--json');

const t0 = performance.now();
const tty = process.stderr.isTTY === true;
const report = runFuzz(iterations, seed, json ? undefined : (done) => {
  const pct = Math.round((done / iterations) * 100);
  if (!tty && pct % 10 !== 0) return; // a log file gets a line per 10 %, a terminal a live bar
  const bar = '#'.repeat(pct >> 2).padEnd(25, '.');
  process.stderr.write(`${tty ? '\r' : ''}fuzz [${bar}] ${pct}% ${done}/${iterations}${tty ? '' : '\n'}`);
});
const seconds = (performance.now() - t0) / 1000;
if (!json && tty) process.stderr.write('\n');

if (json) {
  console.log(JSON.stringify({ ...report, seconds }, null, 2));
} else {
  console.log(`fuzz: ${iterations} cases, seed ${seed}, ${seconds.toFixed(1)} s`);
  console.log(`  frames delivered by the deframer: ${report.framesDelivered}`);
  console.log(`  deframer: ok ${report.deframer.ok}, bad CRC ${report.deframer.crc}, bad COBS ${report.deframer.cobs}, oversize ${report.deframer.oversize}, too short ${report.deframer.tooShort}`);
  console.log(`  header:   ${Object.entries(report.header).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`  codec:    ${Object.entries(report.codec).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`  failures: ${report.failures.length}`);
  for (const f of report.failures.slice(0, 10)) console.log(`    ${f}`);
}
process.exit(report.failures.length === 0 ? 0 : 1);
