// `npm run fuzz [-- --iterations N --seed S --json --target T]`: the long fuzz run (default
// 1 000 000 cases, seed 0xCE11). Prints counts per outcome; exits 1 on any exception or unknown
// error code. Targets: the receive path (runFuzz), then "secure-aead-diff" (src/secure against
// @noble/ciphers, runSecureAeadDiff) on min(N, 100 000) cases, then the CAN profile's
// "can-reassembly" (N random frames into one reassembler) and "can-expand" (N canExpand /
// canCompress cases) of test/fuzz/can.ts; `--target T` runs only that one, on N cases.
import { runFuzz, runSecureAeadDiff, type FuzzReport, type SecureDiffReport } from './harness.ts';
import { runCanExpandFuzz, runCanReassemblyFuzz, type CanExpandReport, type CanReassemblyReport } from './can.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.lastIndexOf(`--${name}`); // the last one wins: npm run fuzz -- --iterations N
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}
const iterations = Number(arg('iterations', '1000000'));
const seed = Number(arg('seed', String(0xce11)));
const json = process.argv.includes('--json');
const only = arg('target', '');
const TARGETS = ['secure-aead-diff', 'can-reassembly', 'can-expand'];
if (only !== '' && !TARGETS.includes(only)) {
  console.error(`unknown --target ${only} (known: ${TARGETS.join(', ')})`);
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
const secure: SecureDiffReport | undefined = only === '' || only === 'secure-aead-diff'
  ? runSecureAeadDiff(secureIterations, seed, json ? undefined : progressTo(secureIterations)) : undefined;
if (secure && !json && tty) process.stderr.write('\n');
const canRx: CanReassemblyReport | undefined = only === '' || only === 'can-reassembly'
  ? runCanReassemblyFuzz(iterations, seed, json ? undefined : progressTo(iterations)) : undefined;
if (canRx && !json && tty) process.stderr.write('\n');
const canEx: CanExpandReport | undefined = only === '' || only === 'can-expand'
  ? runCanExpandFuzz(iterations, seed, json ? undefined : progressTo(iterations)) : undefined;
if (canEx && !json && tty) process.stderr.write('\n');
const seconds = (performance.now() - t0) / 1000;
const failures = [...(report?.failures ?? []), ...(secure?.failures ?? []), ...(canRx?.failures ?? []), ...(canEx?.failures ?? [])];

if (json) {
  console.log(JSON.stringify({ ...report, secureAeadDiff: secure, canReassembly: canRx, canExpand: canEx, seconds }, null, 2));
} else if (report) {
  console.log(`fuzz: ${iterations} cases, seed ${seed}, ${seconds.toFixed(1)} s`);
  console.log(`  frames delivered by the deframer: ${report.framesDelivered}`);
  console.log(`  deframer: ok ${report.deframer.ok}, bad CRC ${report.deframer.crc}, bad COBS ${report.deframer.cobs}, oversize ${report.deframer.oversize}, too short ${report.deframer.tooShort}`);
  console.log(`  header:   ${Object.entries(report.header).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`  codec:    ${Object.entries(report.codec).map(([k, v]) => `${k} ${v}`).join(', ')}`);
} else {
  console.log(`fuzz --target ${only}: ${iterations} cases, seed ${seed}, ${seconds.toFixed(1)} s`);
}
const counts = (m: Record<string, number>): string => Object.entries(m).map(([k, v]) => `${k} ${v}`).join(', ');
if (!json) {
  if (secure) console.log(`  secure-aead-diff: ${secure.iterations} cases against @noble/ciphers, ${secure.bytes} bytes sealed and opened, ${secure.rejected} tampered frames refused`);
  if (canRx) {
    console.log(`  can-reassembly: ${canRx.iterations} frames (${canRx.validFrames} of ${canRx.validTransfers} valid transfers, ${canRx.garbageFrames} garbage) in ${canRx.seconds.toFixed(1)} s`);
    console.log(`    results:  ${counts(canRx.results)}`);
    console.log(`    counters: ${counts(canRx.counters)}`);
    console.log(`    valid transfers: ${canRx.validDelivered} delivered intact, ${canRx.validDeliveredAfterFault} intact after a dropped/repeated frame, ${canRx.validLost} lost (refused, timed out, disturbed), ${canRx.disturbedDelivered} delivered after garbage on their id`);
    console.log(`    a flipped bit and still delivered: ${canRx.corruptedAccepted} single frames (no CRC-16), ${canRx.tailFlipAccepted} end frames turned into starts by a tail bit, ${canRx.corruptedAcceptedMulti} multi-frame data flips past the CRC-16; garbage delivered: ${canRx.garbageDelivered}`);
    console.log(`    memory: at most ${canRx.maxOpen} open slots (of 16), ${canRx.maxPerSource} per source (cap 2); slowest 1 000 pushes ${canRx.slowestBlockMs.toFixed(1)} ms`);
  }
  if (canEx) {
    console.log(`  can-expand: ${canEx.iterations} cases in ${canEx.seconds.toFixed(1)} s: ${counts(canEx.results)}; ${canEx.roundTrips} canCompress round trips, ${canEx.outsideContract} explicit answers with the compact-call bit in their call id (outside the contract, skipped)`);
  }
  console.log(`  failures: ${failures.length}`);
  for (const f of failures.slice(0, 10)) console.log(`    ${f}`);
}
process.exit(failures.length === 0 ? 0 : 1);
