// A boot counter in a file, for a Node program that plays a secured device (docs/security.md §3):
// each start takes the next value, persisted (written, fsynced, renamed) before it is used, so a
// crash at any point skips a value but never hands one out twice. The firmware keeps the same
// promise in flash (firmware/shared/boot-counter.ts).
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, constants as fsc } from 'node:fs';
import { dirname } from 'node:path';
import { CellError } from '../wire/cell-error.ts';
import { ERR_SECURE_KEY_FILE } from '../wire/errors.ts';

/** Take the next boot counter from `path` (created with 0600 on first use); returns it. */
export function nextBootCounter(path: string): number {
  let last = -1;
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (!/^\d+$/.test(text)) throw new CellError(ERR_SECURE_KEY_FILE, `boot counter file ${path} does not hold a number`);
    last = Number(text);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const next = last + 1;
  if (next > 0xfffffffe) throw new CellError(ERR_SECURE_KEY_FILE, `boot counter file ${path} is used up: provision a new device key`);
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  try { writeSync(fd, `${next}\n`); fsyncSync(fd); } finally { closeSync(fd); }
  renameSync(tmp, path);
  const dfd = openSync(dirname(path), fsc.O_RDONLY);
  try { fsyncSync(dfd); } finally { closeSync(dfd); }
  return next;
}
