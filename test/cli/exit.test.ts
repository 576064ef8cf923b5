// src/cli/exit.ts: what runCli ends when a command is done (the mesh node of `cell call <name>`).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { atCommandEnd, commandEnded } from '../../src/cli/exit.ts';

const test = suite('cli: atCommandEnd / commandEnded');

test('every registered hook runs once, in parallel; one registered twice runs once', async () => {
  const ran: string[] = [];
  const a = async (): Promise<void> => { await new Promise((r) => setTimeout(r, 5)); ran.push('a'); };
  atCommandEnd(a);
  atCommandEnd(a);
  atCommandEnd(async () => { ran.push('b'); });
  await commandEnded();
  assert.equal(ran.sort(), ['a', 'b']);
  await commandEnded();
  assert.equal(ran.sort(), ['a', 'b'], 'forgotten once run');
});

test('an unregistered hook does not run; a failing one does not stop the others', async () => {
  const ran: string[] = [];
  const off = atCommandEnd(async () => { ran.push('off'); });
  atCommandEnd(async () => { throw new Error('boom'); });
  atCommandEnd(async () => { ran.push('ok'); });
  off();
  await commandEnded();
  assert.equal(ran, ['ok']);
});

test('a hook that never settles does not hold the exit beyond the bound', async () => {
  atCommandEnd(() => new Promise<void>(() => {}));
  let done = false;
  await commandEnded(20).then(() => { done = true; });
  assert.ok(done);
});

test.run();
