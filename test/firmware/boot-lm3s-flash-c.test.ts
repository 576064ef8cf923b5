// The silicon flash backend of the lm3s6965evb bootloader (firmware/boot/lm3s/flash-lm3s.c: the
// LM3S6965 flash controller, FMA/FMD/FMC/FCRIS/FCMISC, from the data sheet) built with the host
// cc against the register-level model of the controller in firmware/boot/lm3s/flash-model.c:
// program and erase, bit-clear semantics, the busy poll, the range of addresses it may touch, and
// the error paths (access error ARIS on a protected page, a controller that never finishes, a
// word or page that reads back wrong). This is the only check it gets: it has not run on a chip
// (docs/flash.md §10.5). Each check of the harness is one test here. Skipped without cc.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { haveCc, tempDirOnce } from '../helpers/c-tools.ts';
import { skipDeclared } from '../helpers/skip.ts';

const dir = fileURLToPath(new URL('../../firmware/boot/lm3s/', import.meta.url));
const s = suite('lm3s6965evb silicon flash backend against a flash-controller model');

if (!haveCc) {
  skipDeclared(s, 'flash-lm3s.c against the model', 'no host C compiler (cc)');
} else {
  const exe = join(tempDirOnce('boot-lm3s-flash')(), 'flash-model');
  // The poll bound shrunk so the "never completes" checks end quickly; the rest as on the target.
  const cc = spawnSync('cc', ['-std=c99', '-pedantic', '-O2', '-Wall', '-Wextra', '-Werror', '-Wno-int-to-pointer-cast', '-DLM3S_FLASH_MODEL',
    '-DBOOT_LM3S_POLLS=1000', '-I.', '-I..', '-o', exe, 'flash-model.c', 'flash-lm3s.c'], { cwd: dir, encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`cc flash-model.c flash-lm3s.c failed:\n${cc.stdout}${cc.stderr}`);
  const run = spawnSync(exe, [], { encoding: 'utf8' });
  const lines = run.stdout.trim().split('\n');
  s('the harness ran to the end', () => {
    assert.is(lines.at(-1), 'all ok', run.stdout + run.stderr);
    assert.is(run.status, 0);
  });
  for (const line of lines.slice(0, -1)) {
    const m = /^(ok|FAIL) ([^:]+)(?:: (.*))?$/.exec(line);
    s(m === null ? line : m[2]!, () => {
      assert.ok(m !== null, `unexpected harness output: ${line}`);
      assert.is(m![1], 'ok', m![3]);
    });
  }
}
s.run();
