import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runFuzz } from './harness.ts';

const fuzz = suite('fuzz (short run of npm run fuzz)');

fuzz('20 000 mutated and random streams: no exception, every outcome a known code', () => {
  const report = runFuzz(20_000, 0xce11);
  assert.equal(report.failures, []);
  // The valid frame before each mutation always comes through (the stream before it ended on a
  // delimiter). The one after may merge with an unterminated mutated frame and fail its CRC —
  // that is why links send a 0x00 before the first frame after idle (docs/wire-format.md §3).
  assert.ok(report.framesDelivered >= 20_000, `delivered ${report.framesDelivered}`);
  assert.ok((report.codec['ok'] ?? 0) > 0);
  assert.ok(Object.keys(report.codec).length > 2, `codec outcomes: ${JSON.stringify(report.codec)}`);
});

fuzz.run();
