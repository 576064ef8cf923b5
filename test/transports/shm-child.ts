// The other process of test/transports/shm-native.test.ts: maps the parent's segment with
// open(), says it is ready (word 1), waits for "go" (word 2), then does `count` Atomics.add on
// word 0 while the parent does the same. Also writes 0x0c0ffee0 to word 3 for the parent to see.
// Usage: node --import tsx test/transports/shm-child.ts <name> <bytes> <count>
import { loadShmAddon } from '../../src/transports/shm/native.ts';

const [name, bytesArg, countArg] = process.argv.slice(2);
const addon = loadShmAddon();
if (addon === null || name === undefined) {
  console.error('shm-child: no addon or no name');
  process.exit(2);
}
const ab = addon.open(name, Number(bytesArg));
const words = new Int32Array(ab);
const count = Number(countArg);
Atomics.store(words, 3, 0x0c0ffee0);
Atomics.store(words, 1, 1);
const deadline = Date.now() + 30_000;
while (Atomics.load(words, 2) !== 1) {
  if (Date.now() > deadline) {
    console.error('shm-child: no "go" from the parent within 30 s');
    process.exit(3);
  }
}
for (let i = 0; i < count; i++) Atomics.add(words, 0, 1);
addon.unmap(ab);
process.stdout.write(words.length === 0 ? 'unmapped\n' : 'still mapped\n');
