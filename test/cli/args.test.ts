import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closest, formatHelp, parseArgs, type CommandSpec } from '../../src/cli/args.ts';
import { CliError, EXIT_USAGE } from '../../src/cli/errors.ts';
import { strs } from '../../src/cli/io.ts';

const spec: CommandSpec = {
  name: 'call',
  summary: 'Call.',
  args: [{ name: 'target', desc: 'where' }, { name: 'method', desc: 'what', optional: true }],
  flags: {
    deadline: { type: 'number', arg: 'ms', desc: 'deadline' },
    json: { type: 'boolean', desc: 'json' },
    out: { type: 'string', short: 'o', desc: 'out' },
  },
};

const usageError = (fn: () => unknown, re: RegExp): void => {
  try { fn(); } catch (e) {
    assert.ok(e instanceof CliError, 'a CliError');
    assert.is((e as CliError).exit, EXIT_USAGE);
    assert.match((e as CliError).message, re);
    return;
  }
  assert.unreachable('expected a usage error');
};

const parse = suite('parseArgs');

parse('reads positionals, --flag value, --flag=value, -x value and booleans', () => {
  const p = parseArgs(spec, ['dir', 'read', '--deadline', '250', '--json', '-o', 'x']);
  assert.equal(p.positionals, ['dir', 'read']);
  assert.equal(p.flags, { deadline: 250, json: true, out: 'x' });
  assert.is(parseArgs(spec, ['dir', '--deadline=5']).flags.deadline, 5);
});

parse('everything after -- is positional, and negative numbers are not flags', () => {
  assert.equal(parseArgs(spec, ['dir', '--', '--json']).positionals, ['dir', '--json']);
  assert.equal(parseArgs(spec, ['-5']).positionals, ['-5']);
});

parse('an unknown flag is a usage error that suggests the near one', () => {
  usageError(() => parseArgs(spec, ['dir', '--dedline', '5']), /unknown option --dedline \(did you mean --deadline\?\)/);
});

parse('a missing or surplus positional is a usage error', () => {
  usageError(() => parseArgs(spec, []), /missing <target>/);
  usageError(() => parseArgs(spec, ['a', 'b', 'c']), /unexpected argument "c"/);
});

parse('a number flag needs a number, a string flag a value', () => {
  usageError(() => parseArgs(spec, ['d', '--deadline', 'soon']), /non-negative number/);
  usageError(() => parseArgs(spec, ['d', '--out']), /--out needs a value/);
});

parse('--help skips the positional checks', () => {
  assert.is(parseArgs(spec, ['--help']).flags.help, true);
  assert.is(parseArgs(spec, ['-h']).flags.help, true);
});

parse('a `multiple` flag collects every value in order (strs() reads it; none given: [])', () => {
  const multi: CommandSpec = { ...spec, flags: { ...spec.flags, uart: { type: 'string', multiple: true, desc: 'port' } } };
  const p = parseArgs(multi, ['dir', '--uart', '/dev/a', '--uart=/dev/b']);
  assert.equal(p.flags.uart, ['/dev/a', '/dev/b']);
  assert.equal(strs(p, 'uart'), ['/dev/a', '/dev/b']);
  assert.equal(strs(parseArgs(multi, ['dir']), 'uart'), []);
  assert.match(formatHelp(multi), '--uart <string>...');
});

const help = suite('formatHelp');

help('lists arguments, options and the exit codes', () => {
  const h = formatHelp(spec);
  assert.match(h, /cell call <target> \[method\] \[options\]/);
  assert.match(h, /--deadline <ms>/);
  assert.match(h, /-o, --out <string>/);
  assert.match(h, /Exit codes: 0 ok, 1 call or cell error, 2 usage error, 3 breaking schema change/);
});

help('closest finds names within two edits', () => {
  assert.is(closest('raed', ['read', 'samples']), 'read');
  assert.is(closest('zzzzzz', ['read']), undefined);
});

parse.run();
help.run();
