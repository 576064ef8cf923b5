// A small progress indicator on stderr (stdout stays clean for the tables).
// On a TTY it redraws one line; otherwise it prints a line at most every ~2 s.
export class Progress {
  private total = 0;
  private done = 0;
  private label = '';
  private t0 = 0;
  private lastPrint = 0;
  private readonly tty = Boolean(process.stderr.isTTY);

  start(label: string, total: number): void {
    this.label = label;
    this.total = total;
    this.done = 0;
    this.t0 = Date.now();
    this.lastPrint = 0;
    this.draw('');
  }

  tick(detail = '', n = 1): void {
    this.done += n;
    this.draw(detail);
  }

  note(detail: string): void {
    this.draw(detail);
  }

  finish(detail = 'done'): void {
    const s = ((Date.now() - this.t0) / 1000).toFixed(1);
    if (this.tty) process.stderr.write('\r\x1b[2K');
    process.stderr.write(`[bench] ${this.label}: ${detail} (${s} s)\n`);
  }

  private draw(detail: string): void {
    const now = Date.now();
    const pct = this.total ? Math.floor((100 * this.done) / this.total) : 0;
    const el = ((now - this.t0) / 1000).toFixed(0);
    const eta = this.done && this.total ? (((now - this.t0) / this.done) * (this.total - this.done)) / 1000 : NaN;
    const msg = `[bench] ${this.label} ${pct}% (${this.done}/${this.total}) ${el}s${Number.isFinite(eta) ? `, ~${eta.toFixed(0)}s left` : ''}${detail ? ' · ' + detail : ''}`;
    if (this.tty) {
      const cols = process.stderr.columns || 100;
      process.stderr.write('\r\x1b[2K' + msg.slice(0, cols - 1));
    } else if (now - this.lastPrint >= 2000 || this.done === this.total) {
      this.lastPrint = now;
      process.stderr.write(msg + '\n');
    }
  }
}

export const progress = new Progress();
