// `npm run fuzz [-- --iterations N --seed S --json --target T]`: the long fuzz run (default
// 1 000 000 cases, seed 0xCE11). Prints counts per outcome; exits 1 on any exception or unknown
// error code. Targets: the receive path (runFuzz), then "secure-aead-diff" (src/secure against
// @noble/ciphers, runSecureAeadDiff) on min(N, 100 000) cases; `--target secure-aead-diff` runs
// only that one, on N cases.
import { runFuzz, runSecureAeadDiff, type FuzzReport, type SecureDiffReport } from './harness.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.lastIndexOf(`--${name}`); // the last one wins: npm run fuzz -- --iterations N
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}
const iterations = Number(arg('iterations', '1000000'));
const seed = Number(arg('seed', String(0xce11)));
const json = process.argv.includes('--json');
const only = arg('target', '');
if (only !== '' && only !== 'secure-aead-diff') {
  console.error(`unknown --target ${only} (known: secure-aead-diff)`);
  process.exit(2);
}

const t0 = performance.now();
const tty = process.stderr.isTTY === true;
const progressTo = (total: number) => (done: number) => {
  const pct = Math.round((done / total) * 100);
  if (!tty && pct % 10 !== 0) return; // a log file gets a line per 10 %, a terminal a live bar
  const bar = '#'.repeat(pct >> 2).padEnd(25, '.');
  process.stderr.write(`${tty ? '\r' : ''}fuzz [${bar}] ${pct}% ${done}/${total}${tty ? '' : '\n'}`);
};
const report: FuzzReport | undefined = only === '' ? runFuzz(iterations, seed, json ? undefined : progressTo(iterations)) : undefined;
if (report && !json && tty) process.stderr.write('\n');
const secureIterations = only === '' ? Math.min(iterations, 100_000) : iterations;
const secure: SecureDiffReport = runSecureAeadDiff(secureIterations, seed, json ? undefined : progressTo(secureIterations));
if (!json && tty) process.stderr.write('\n');
const seconds = (performance.now() - t0) / 1000;
const failures = [...(report?.failures ?? []), ...secure.failures];

if (json) {
  console.log(JSON.stringify({ ...report, secureAeadDiff: secure, seconds }, null, 2));
} else if (report) {
  console.log(`fuzz: ${iterations} cases, seed ${seed}, ${seconds.toFixed(1)} s`);
  console.log(`  frames delivered by the deframer: ${report.framesDelivered}`);
  console.log(`  deframer: ok ${report.deframer.ok}, bad CRC ${report.deframer.crc}, bad COBS ${report.deframer.cobs}, oversize ${report.deframer.oversize}, too short ${report.deframer.tooShort}`);
  console.log(`  header:   ${Object.entries(report.header).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`  codec:    ${Object.entries(report.codec).map(([k, v]) => `${k} ${v}`).join(', ')}`);
} else {
  console.log(`fuzz --target secure-aead-diff: ${iterations} cases, seed ${seed}, ${seconds.toFixed(1)} s`);
}
if (!json) {
  console.log(`  secure-aead-diff: ${secure.iterations} cases against @noble/ciphers, ${secure.bytes} bytes sealed and opened, ${secure.rejected} tampered frames refused`);
  console.log(`  failures: ${failures.length}`);
  for (const f of failures.slice(0, 10)) console.log(`    ${f}`);
}
process.exit(failures.length === 0 ? 0 : 1);
