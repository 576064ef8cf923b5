// CAN transfers (src/framing/can-transfer.ts, docs/wire-format.md §8.3): segmentation and
// reassembly round trips for every length, classic and FD, interleaved senders, and refusals.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CAN_PENDING, CanReassembler, CanTxTransfer, canCrc16, canFdLength, canFrameCount,
} from '../../src/framing/can-transfer.ts';
import { canId } from '../../src/framing/can-header.ts';
import {
  ERR_CAN_REASSEMBLY_FULL, ERR_CAN_TRANSFER_CRC, ERR_CAN_TRANSFER_ORPHAN, ERR_CAN_TRANSFER_SEQUENCE,
  ERR_CAN_TRANSFER_TOO_LONG,
} from '../../src/wire/errors.ts';
import { isValidCanLength } from '../../src/transports/can/driver.ts';

const t = suite('can transfers');

function frames(prefix: Uint8Array, payload: Uint8Array, fd: boolean, tid: number): Uint8Array[] {
  const tx = new CanTxTransfer();
  tx.begin(prefix, prefix.length, payload, 0, payload.length, fd, tid);
  const out: Uint8Array[] = [];
  const buf = new Uint8Array(64);
  for (let n = tx.next(buf, 0); n > 0; n = tx.next(buf, 0)) out.push(buf.slice(0, n));
  return out;
}

t('CRC-16/CCITT-FALSE check value', () => {
  assert.is(canCrc16(0xffff, new TextEncoder().encode('123456789'), 0, 9), 0x29b1);
});

t('FD lengths', () => {
  assert.equal([0, 8, 9, 12, 13, 33, 49, 64, 65].map(canFdLength), [0, 8, 12, 12, 16, 48, 64, 64, -1]);
});

t('every length round-trips, classic and FD, frames valid and counted', () => {
  for (const fd of [false, true]) {
    const r = new CanReassembler(4, 700, 4, 1000);
    for (let len = 0; len <= 600; len++) {
      const payload = new Uint8Array(len).map((_, i) => (i * 7 + len) & 0xff);
      const fs = frames(new Uint8Array([0xaa]), payload, fd, len & 31);
      assert.is(fs.length, canFrameCount(len + 1, fd), `frames of ${len + 1} bytes fd=${fd}`);
      let got = CAN_PENDING;
      for (let i = 0; i < fs.length; i++) {
        const f = fs[i]!;
        assert.ok(isValidCanLength(f.length, fd), `length ${f.length}`);
        if (!fd) assert.ok(f.length <= 8);
        if (i < fs.length - 1) assert.is(f.length, fd ? 64 : 8, 'non-last frames are full');
        got = r.push(canId(4, 2, 0, 1, 5), f, 0, f.length, 0);
        if (i < fs.length - 1) assert.is(got, CAN_PENDING);
      }
      assert.is(got, len + 1, `len ${len} fd=${fd}`);
      assert.equal(r.buf.subarray(r.off, r.off + got), new Uint8Array([0xaa, ...payload]));
      assert.is(r.tid, len & 31);
    }
  }
});

t('transfers of many senders interleave without mixing', () => {
  const r = new CanReassembler(16, 300, 2, 1000);
  const senders = [3, 9, 20, 77];
  const pending = senders.map((s) => frames(new Uint8Array(0), new Uint8Array(100).fill(s), false, s & 31));
  const done = new Map<number, number>();
  for (let step = 0; pending.some((p) => p.length); step++) {
    for (let k = 0; k < senders.length; k++) {
      const f = pending[k]!.shift();
      if (!f) continue;
      const n = r.push(canId(4, 3, 1, 1, senders[k]!), f, 0, f.length, 0);
      if (n >= 0) {
        assert.ok(r.buf.subarray(r.off, r.off + n).every((b) => b === senders[k]));
        done.set(senders[k]!, n);
      }
    }
  }
  assert.is(done.size, 4);
});

t('refusals: orphan, toggle, CRC, too long, per-source slots', () => {
  const r = new CanReassembler(4, 64, 2, 1000);
  const fs = frames(new Uint8Array(0), new Uint8Array(30).fill(1), false, 3);
  assert.is(r.push(canId(4, 2, 0, 1, 5), fs[1]!, 0, fs[1]!.length, 0), -ERR_CAN_TRANSFER_ORPHAN);
  r.push(canId(4, 2, 0, 1, 5), fs[0]!, 0, 8, 0);
  assert.is(r.push(canId(4, 2, 0, 1, 5), fs[2]!, 0, fs[2]!.length, 0), -ERR_CAN_TRANSFER_SEQUENCE);
  const bad = fs.map((f) => f.slice());
  bad[1]![0] ^= 1;
  let n = 0;
  for (const f of bad) n = r.push(canId(4, 2, 0, 1, 5), f, 0, f.length, 0);
  assert.is(n, -ERR_CAN_TRANSFER_CRC);
  const long = frames(new Uint8Array(0), new Uint8Array(100), false, 0);
  for (const f of long) n = r.push(canId(4, 2, 0, 1, 6), f, 0, f.length, 0);
  assert.ok(r.errTooLong >= 1);
  // Source 7 opens two transfers (ports 0 and 1): a third is refused, another source still gets a slot.
  for (let port = 0; port < 2; port++) r.push(canId(4, 2, port, 1, 7), fs[0]!, 0, 8, 0);
  assert.is(r.push(canId(4, 2, 2, 1, 7), fs[0]!, 0, 8, 0), -ERR_CAN_REASSEMBLY_FULL);
  assert.is(r.push(canId(4, 2, 2, 1, 8), fs[0]!, 0, 8, 0), CAN_PENDING);
  r.sweep(5000);
  assert.is(r.open, 0);
  assert.ok(r.errTimeout >= 3);
  void ERR_CAN_TRANSFER_TOO_LONG;
});

t.run();
