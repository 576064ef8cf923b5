// Pretty tables on stdout: GitHub-markdown pipes, padded so they also read well in a terminal.

export type Cell = string | number;
export type Align = 'l' | 'r';

export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[], align?: readonly Align[]): string {
  const text = rows.map((r) => r.map((c) => String(c)));
  const w = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const al = headers.map((_, i) => align?.[i] ?? (i === 0 ? 'l' : 'r'));
  const pad = (s: string, i: number) => (al[i] === 'l' ? s.padEnd(w[i]!) : s.padStart(w[i]!));
  const line = (cells: readonly string[]) => '| ' + cells.map((c, i) => pad(c, i)).join(' | ') + ' |';
  const sep = '|' + w.map((n, i) => (al[i] === 'l' ? ':' + '-'.repeat(n + 1) : '-'.repeat(n + 1) + ':')).join('|') + '|';
  return [line(headers), sep, ...text.map(line)].join('\n');
}

export function printTable(title: string, headers: readonly string[], rows: readonly (readonly Cell[])[], opts: { align?: readonly Align[]; notes?: readonly string[] } = {}): void {
  console.log(`\n### ${title}\n`);
  console.log(formatTable(headers, rows, opts.align));
  for (const n of opts.notes ?? []) console.log(n);
}
