import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runFuzz } from './harness.ts';
import { runCanExpandFuzz, runCanReassemblyFuzz } from './can.ts';

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

fuzz('CAN reassembler, 60 000 random frames (the storm block included): no exception, bounded slots, valid transfers intact', () => {
  // 60 000 frames: the quiet first block of 50 000 and the start of a storm block.
  const r = runCanReassemblyFuzz(60_000, 0xce11);
  assert.equal(r.failures, []);
  assert.ok(r.maxOpen <= 16 && r.maxPerSource <= 2, `open ${r.maxOpen}, per source ${r.maxPerSource}`);
  assert.ok(r.validDelivered > 1000, `delivered ${r.validDelivered}`);
  assert.is(r.corruptedAcceptedMulti, 0);
  for (const k of ['CanTransferOrphan', 'CanTransferSequence', 'CanBadFrame', 'CanReassemblyFull']) assert.ok((r.results[k] ?? 0) > 0, k);
});

fuzz('canExpand, 50 000 random ids and prefixes: no exception, consistent headers, canCompress round trips', () => {
  const r = runCanExpandFuzz(50_000, 0xce11);
  assert.equal(r.failures, []);
  assert.ok(r.roundTrips > 5000, `round trips ${r.roundTrips}`);
  for (const k of ['explicit', 'compact request', 'compact', 'CanBadFrame', 'CanStaleEntry']) assert.ok((r.results[k] ?? 0) > 0, k);
});

fuzz.run();
