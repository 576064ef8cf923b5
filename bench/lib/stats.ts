// Small statistics and number-formatting helpers.

export function median(a: readonly number[]): number {
  if (a.length === 0) return NaN;
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const min = (a: readonly number[]): number => (a.length ? Math.min(...a) : NaN);
export const max = (a: readonly number[]): number => (a.length ? Math.max(...a) : NaN);

/** 3 significant digits with k/M/G suffix: 1634000 -> "1.63M". */
export function si(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  if (a >= 1e9) return sig(n / 1e9) + 'G';
  if (a >= 1e6) return sig(n / 1e6) + 'M';
  if (a >= 1e3) return sig(n / 1e3) + 'k';
  return sig(n);
}

/** 3 significant digits, no exponent. */
export function sig(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  if (a >= 100) return n.toFixed(0);
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  if (a === 0) return '0';
  return n.toPrecision(2);
}

export const ratio = (r: number): string => (Number.isFinite(r) ? sig(r) + '×' : '–');
export const range = (a: readonly number[]): string => (a.length ? `[${sig(min(a))}–${sig(max(a))}]` : '');

export function bytes(n: number): string {
  if (n >= 1024 * 1024) return (n / 1024 / 1024).toFixed(2) + ' MiB';
  if (n >= 1024) return (n / 1024).toFixed(1) + ' KiB';
  return `${n} B`;
}
