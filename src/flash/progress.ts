// Progress of `cell flash` on a terminal (docs/flash.md §7): one line redrawn in place on
// stderr — bar, bytes, rate, ETA — and a plain line per state change. `--json` uses
// FlashEvent objects instead (src/flash/flash.ts).
import type { FlashEvent } from './flash.ts';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

export function progressLine(e: Extract<FlashEvent, { type: 'progress' }>, width = 30): string {
  const frac = e.bytesTotal > 0 ? Math.min(1, e.bytesDone / e.bytesTotal) : 0;
  const full = Math.round(frac * width);
  const bar = '#'.repeat(full) + '-'.repeat(width - full);
  const eta = e.bytesDone >= e.bytesTotal ? 'done' : e.rateBytesPerS > 0 ? `ETA ${(e.etaMs / 1000).toFixed(1)} s` : 'ETA --';
  return `[${bar}] ${String(Math.round(frac * 100)).padStart(3)}%  ${formatBytes(e.bytesDone)} / ${formatBytes(e.bytesTotal)}  ${formatBytes(Math.round(e.rateBytesPerS))}/s  ${eta}`;
}

/** An onEvent for humans: redraws the bar when stderr is a terminal, else prints every ~10 %. */
export function humanProgress(write: (s: string) => void, isTty: boolean): (e: FlashEvent) => void {
  let lastTenth = -1;
  let barShown = false;
  return (e) => {
    if (e.type === 'progress') {
      const line = progressLine(e);
      if (isTty) { write(`\r${line}`); barShown = true; return; }
      const tenth = Math.floor((e.bytesDone / Math.max(1, e.bytesTotal)) * 10);
      if (tenth !== lastTenth) { lastTenth = tenth; write(`${line}\n`); }
      return;
    }
    if (barShown) { write('\n'); barShown = false; }
    if (e.type === 'state') write(`${e.state}${e.detail !== undefined ? ` ${JSON.stringify(e.detail)}` : ''}\n`);
    else write(`link lost (${e.reason}): resuming, attempt ${e.attempt}\n`);
  };
}
