// Skipped tests are reported as skipped, never as passed (scripts/test.mjs prints the closing
// line "N passed, N failed, N skipped" that CI reads).
//
// Two cases:
// - The reason is known when the file loads (no socat, no dist/): register the test with
//   `skipDeclared(test, name, reason)` (uvu's own `test.skip`, which uvu counts as skipped).
// - The reason is found inside the test body (a file missing at run time): call
//   `return skipTest(reason)`. uvu has no skip from inside a test, so the test ends as passed in
//   uvu's count; skipTest prints one marker line, and scripts/test.mjs moves every marker from
//   "passed" to "skipped". Return right after it: a test that prints the marker and then fails
//   would be counted twice.

/** The marker scripts/test.mjs counts, at the start of a line of the test output. */
export const SKIP_MARKER = '[cell:skipped]';

/** Inside a test body: report this test as skipped (then return). */
export function skipTest(reason: string): void {
  process.stdout.write(`\n  ${SKIP_MARKER} ${reason}\n`);
}

/** At load time: register `name` as a skipped test of `test` (counted by uvu) and print why. */
export function skipDeclared(test: { skip(name: string, fn: () => void): void }, name: string, reason: string): void {
  process.stdout.write(`\n  skipped: ${name} — ${reason}\n`);
  test.skip(name, () => {});
}
