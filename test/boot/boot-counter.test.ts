// The device's boot counter (firmware/shared/boot-counter.ts) under tsc, over the RAM flash of the
// bootloader tests: monotonic over thousands of boots and page switches, and never a repeated
// value when the power goes after any single erase or program (a torn operation), then again and
// again at random. A "boot" is a new BootCounter over the same flash and one next().
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MemFlash, PowerCut } from './mem-flash.ts';
import { BootCounter, BOOT_COUNTER_NONE } from '../../firmware/shared/boot-counter.ts';
import { writeU32LE } from '../../src/wire/bytes.ts';
import { Prng } from '../helpers/prng.ts';

/** A flash whose torn erase clears the second half of the page and keeps the first (the header). */
class HeaderKeepingFlash extends MemFlash {
  override erase(page: number): number {
    if (page < 0 || page >= this.pages) return -1;
    if (this.budget === 0) {
      const a = page * this.pageBytes;
      this.mem.fill(0xff, a + (this.pageBytes >> 1), a + this.pageBytes);
      this.ops++;
      throw new PowerCut('erase (header kept)');
    }
    return super.erase(page);
  }
}

/** One boot: the value, or null when the power went during it. */
function boot(f: MemFlash): number | null {
  try {
    const v = new BootCounter(f, 1, 2).next();
    assert.is.not(v, BOOT_COUNTER_NONE, 'next() failed');
    return v;
  } catch (e) {
    if (e instanceof PowerCut) return null;
    throw e;
  }
}

/**
 * Boot `n` times; every value returned is larger than every one before (so none repeats).
 * `cutAt(i)`: the flash's operation budget for boot i (-1: no cut), or undefined to leave the
 * budget running across boots (MemFlash counts it down over every erase and program).
 */
function history(f: MemFlash, n: number, cutAt: (i: number) => number | undefined = () => -1): { values: number[]; cuts: number } {
  const values: number[] = [];
  let cuts = 0;
  for (let i = 0; i < n; i++) {
    const b = cutAt(i);
    if (b !== undefined) f.budget = b;
    const v = boot(f);
    if (v === null) { cuts++; f.budget = -1; continue; }
    if (values.length) assert.ok(v > values[values.length - 1]!, `boot ${i}: ${v} after ${values[values.length - 1]}`);
    values.push(v);
  }
  assert.is(f.overwrites, 0, 'never programs a bit that is not erased');
  return { values, cuts };
}

const t = suite('boot counter (firmware/shared/boot-counter.ts)');

t('5000 boots on 1 KiB pages: 0, 1, 2, … 4999 without a gap, across 19 page switches', () => {
  const f = new MemFlash(1024, 4);
  const { values } = history(f, 5000);
  assert.equal(values, Array.from({ length: 5000 }, (_, i) => i));
  // 254 values per page: the other page is erased, the current one holds base 4826 = 19 × 254.
  assert.ok(new BootCounter(f, 1, 2).perPage === 254);
  const hdr = [1, 2].map((p) => f.mem[p * 1024]! | (f.mem[p * 1024 + 1]! << 8) | (f.mem[p * 1024 + 2]! << 16) | (f.mem[p * 1024 + 3]! << 24));
  assert.ok(hdr.includes(19 * 254), `headers ${hdr}`);
  assert.ok(f.mem.subarray(0, 1024).every((b) => b === 0xff) && f.mem.subarray(3072).every((b) => b === 0xff), 'pages 0 and 3 untouched');
});

t('5000 boots on 16-byte pages (2 values per page: a switch every other boot)', () => {
  const { values } = history(new MemFlash(16, 3), 5000);
  assert.equal(values, Array.from({ length: 5000 }, (_, i) => i));
});

t('one boot after another: next() twice in one boot gives two values', () => {
  const f = new MemFlash(32, 3);
  const c = new BootCounter(f, 1, 2);
  assert.equal([c.next(), c.next(), c.next(), c.next(), c.next(), c.next(), c.next()], [0, 1, 2, 3, 4, 5, 6]);
  assert.is(c.last, 6);
  assert.is(new BootCounter(f, 1, 2).next(), 7);
});

t('a zero-filled flash (a fresh qemu backing file) is blank: the counter starts at 0', () => {
  const f = new MemFlash(64, 3);
  f.mem.fill(0);
  assert.is(boot(f), 0);
  assert.is(boot(f), 1);
});

for (const [name, make] of [['torn erase clears the first half', (pb: number) => new MemFlash(pb, 3)], ['torn erase keeps the header', (pb: number) => new HeaderKeepingFlash(pb, 3)]] as const) {
  t(`power cut at every single flash operation (${name}), then reboot: no value repeats`, () => {
    for (const pageBytes of [16, 24, 64]) {
      // Operations of a clean run of 40 boots (marks, headers, erases).
      const clean = make(pageBytes);
      history(clean, 40);
      const total = clean.ops;
      assert.ok(total > 40, `ops ${total}`);
      for (let k = 0; k <= total; k++) {
        const f = make(pageBytes);
        // The cut happens once, at operation k of the whole history; the boots after it run clean.
        f.budget = k;
        const { values, cuts } = history(f, 45, () => undefined);
        assert.is(cuts, 1, `k=${k}: the cut happened`);
        assert.ok(values.length >= 44, `k=${k}`);
      }
    }
  });
}

t('3000 boots with a power cut in one boot of three, at a random operation: strictly increasing', () => {
  for (const [pageBytes, seed] of [[16, 1], [40, 2], [1024, 3]] as const) {
    const r = new Prng(seed);
    const f = new HeaderKeepingFlash(pageBytes, 3);
    const { values, cuts } = history(f, 3000, () => (r.below(3) === 0 ? r.below(4) : -1));
    assert.ok(cuts > 150, `cuts ${cuts}`);
    // Skips only where a cut hit (a torn mark, or a switch that started over).
    assert.ok(values[values.length - 1]! - values.length < cuts * (pageBytes / 4), `last ${values[values.length - 1]} of ${values.length}`);
  }
});

t('the counter ends before BOOT_COUNTER_NONE instead of wrapping', () => {
  const f = new MemFlash(16, 3); // 2 values per page
  const base = 0xfffffff8;
  writeU32LE(f.mem, 16, base);
  writeU32LE(f.mem, 20, (~base) >>> 0);
  const c = new BootCounter(f, 1, 2);
  const got: number[] = [];
  for (let i = 0; i < 10; i++) got.push(c.next());
  assert.equal(got.slice(0, 6), [0xfffffff8, 0xfffffff9, 0xfffffffa, 0xfffffffb, 0xfffffffc, 0xfffffffd]);
  assert.ok(got.slice(6).every((v) => v === BOOT_COUNTER_NONE), got.map((v) => v.toString(16)).join());
});

t('a flash that cannot be read is not taken for a blank one', () => {
  const f = new MemFlash(64, 3);
  assert.is(boot(f), 0);
  assert.is(boot(f), 1);
  const bad = Object.assign(Object.create(MemFlash.prototype) as MemFlash, f, { read: () => -708 });
  assert.is(new BootCounter(bad, 1, 2).next(), BOOT_COUNTER_NONE);
  assert.is(boot(f), 2, 'nothing was erased or rewritten');
});

t.run();
