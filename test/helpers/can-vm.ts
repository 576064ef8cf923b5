// Real kernel SocketCAN for the tests: the host kernel has no CAN, Debian's kernel has vcan. One
// call boots that kernel in a qemu micro-VM (`-M microvm -accel tcg`, no KVM), with an initramfs
// of busybox-static, an /init and the needed modules; the guest mounts the host's root over 9p
// read-only, chroots into it, creates the vcan interfaces asked for, runs the commands one after
// another (as root, with this process's node), and powers off. Recipe: ../shared/notes/platform.md
// §"Real SocketCAN inside a micro-VM".
//
//   const r = await runInCanVm({ interfaces: [{ name: 'vcan0', fd: true }], commands: [{ argv: [...] }] });
//   r.outputs[i] = { code, stdout, stderr, ms } per command; r.bootMs, r.totalMs, r.console.
//
// - Writable scratch: the guest's /tmp is a tmpfs; each run has a host temp directory shared
//   read-write over a second 9p mount at the same path, where each command's stdout, stderr and
//   exit code land (the console is only for boot messages and progress markers).
// - The kernel (uncompressed vmlinux: boots in ~2 s instead of ~5 s for the bzImage) and the
//   initramfs are built once per machine and kernel version into $TMPDIR/cell-can-vm-<kver>-v<N>-<uid>;
//   two processes building at once each build in their own directory and rename it into place.
// - `canVmAvailable()` says why a VM cannot run here (no qemu-system-x86_64, no kernel with vcan,
//   no busybox, CELL_CAN_VM=0); tests skip with that reason.
// - The image builder (`ensureVmImage`: other modules, another /init), `findKernel` and the clock
//   parameters (`timeParams`) are shared with test/helpers/systemd-vm.ts (systemd as PID 1).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { skipDeclared } from './skip.ts';
import { buildSync } from 'esbuild';

/** A vcan interface created in the guest before the commands run. */
export interface CanVmInterface {
  /** e.g. 'vcan0'. */
  readonly name: string;
  /** CAN FD: `ip link set <name> mtu 72`; else mtu 16 (classic; Debian 6.1's vcan defaults to 72). */
  readonly fd?: boolean;
  /** `ip link set <name> txqueuelen N`. */
  readonly txqueuelen?: number;
  /** A qdisc: the arguments of `tc qdisc add dev <name> …`, e.g. 'root tbf rate 500kbit burst 1000 limit 200'. */
  readonly qdisc?: string;
}

export interface CanVmCommand {
  /**
   * The program and its arguments, e.g. ['ip', '-d', 'link']. With `script`, the arguments after
   * the script.
   */
  readonly argv?: readonly string[];
  /**
   * A TypeScript (or JS) entry file: bundled on the host with esbuild into one ESM file and run
   * with this process's node (`node <bundle> ...argv`). tsx under TCG costs ~8 s per process;
   * a bundle starts in ~2 s. In the bundle `import.meta.url` is the entry file's URL for every
   * module (so a loader that walks up to package.json still finds the package). The script must
   * not import this helper statically (esbuild would bundle esbuild, which hangs in the guest):
   * use `await import(computedSpecifier)` for a host-only path, as bench/can/raw.ts does.
   */
  readonly script?: string;
  /** Working directory in the guest (the host's paths are the guest's). Default: this process's cwd. */
  readonly cwd?: string;
  /** Extra environment (the guest starts from PATH, HOME=/tmp, CELL_IN_CAN_VM=1). */
  readonly env?: Readonly<Record<string, string>>;
  /** Kill this command (SIGKILL, exit code 137) after this long, so the next ones still run. */
  readonly timeoutMs?: number;
}

export interface CanVmOutput {
  /** Exit code; -1 when the command did not finish (the VM timed out or died first). */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Guest wall time of the command (10 ms resolution). */
  readonly ms: number;
}

export interface CanVmResult {
  /** Every command ran and exited 0, and the interfaces were set up. */
  readonly ok: boolean;
  readonly outputs: CanVmOutput[];
  /** Host time from starting qemu (the boot that ran the commands) until the guest was ready. */
  readonly bootMs: number;
  readonly totalMs: number;
  /** The guest console (kernel messages, set-up errors, markers): for failure messages. */
  readonly console: string;
  /** Why the run failed (timeout, set-up error, qemu error), '' when ok. */
  readonly reason: string;
}

export interface CanVmOptions {
  readonly interfaces?: readonly CanVmInterface[];
  readonly commands: readonly CanVmCommand[];
  /** The whole run, boot included; qemu is killed after it. Default 60 000. */
  readonly timeoutMs?: number;
  /** Guest memory. Default 1024 MiB. */
  readonly memoryMb?: number;
  /** Boot again (once) when the guest is not ready for the commands by then. Default 30 000. */
  readonly bootTimeoutMs?: number;
}

const HARNESS_VERSION = 2; // bump when the initramfs contents change
const MODULES = ['vcan', 'can-raw', 'can-dev', 'can-gw', 'can-isotp', '9p', '9pnet_virtio', 'virtio_mmio', 'sch_tbf'];
const READY = 'CELL-CAN-VM-READY';
const DONE = 'CELL-CAN-VM-DONE';

export interface Kernel { kver: string; vmlinuz: string; modules: string }

export function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** The newest /boot/vmlinuz-<kver> whose /lib/modules/<kver> has vcan. */
export function findKernel(): Kernel | null {
  let names: string[] = [];
  try { names = readdirSync('/boot').filter((n) => n.startsWith('vmlinuz-')); } catch { return null; }
  const found = names.map((n) => n.slice('vmlinuz-'.length)).filter((kver) => {
    const dir = `/lib/modules/${kver}/kernel/drivers/net/can`;
    return existsSync(dir) && readdirSync(dir).some((f) => f.startsWith('vcan.ko'));
  }).sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  const kver = found[0];
  return kver === undefined ? null : { kver, vmlinuz: `/boot/vmlinuz-${kver}`, modules: `/lib/modules/${kver}` };
}

export function busyboxPath(): string | null {
  for (const p of ['/bin/busybox', '/usr/bin/busybox']) {
    if (!existsSync(p)) continue;
    // The guest has no libraries before the 9p mount: only a static busybox will do.
    const r = spawnSync('file', ['-L', p], { encoding: 'utf8' });
    if (r.status !== 0 || /statically linked|static-pie/.test(r.stdout)) return p;
  }
  return null;
}

let availability: { ok: boolean; reason: string } | undefined;

/** Can a CAN VM run here? If not, why (and how to fix it). */
export function canVmAvailable(): { ok: boolean; reason: string } {
  if (availability !== undefined) return availability;
  const no = (reason: string) => (availability = { ok: false, reason });
  if (process.env['CELL_CAN_VM'] === '0') return no('the CAN micro-VM suites are turned off by CELL_CAN_VM=0 (they run once, under the CI\'s Node 20 pass)');
  if (process.platform !== 'linux' || process.arch !== 'x64') return no(`the CAN micro-VM needs an x86_64 Linux host (this is ${process.platform}/${process.arch})`);
  if (which('qemu-system-x86_64') === null) return no('no qemu-system-x86_64: apt-get install qemu-system-x86 (bash scripts/setup.sh)');
  if (findKernel() === null) return no('no kernel with vcan in /boot and /lib/modules: apt-get install linux-image-amd64 (bash scripts/setup.sh)');
  if (busyboxPath() === null) return no('no static busybox: apt-get install busybox-static (bash scripts/setup.sh)');
  for (const tool of ['cpio', 'modprobe', 'gzip']) {
    if (which(tool) === null) return no(`no ${tool}: apt-get install cpio kmod gzip (bash scripts/setup.sh)`);
  }
  return (availability = { ok: true, reason: 'qemu-system-x86_64, a vcan kernel and busybox-static are here' });
}

function sh(script: string): string {
  const r = spawnSync('bash', ['-eo', 'pipefail', '-c', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`can-vm: ${script.split('\n')[0]} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The guest's /tmp is a tmpfs over the host's: a working directory under /tmp (a fresh CI clone,
 * a temp worktree) is handed to the init script to keep visible (cell.keep=).
 */
function keepParam(opts: CanVmOptions): string {
  const dirs = [process.cwd(), ...opts.commands.map((c) => c.cwd ?? process.cwd())];
  const under = dirs.find((d) => d.startsWith('/tmp/') && !/\s/.test(d));
  return under === undefined ? '' : ` cell.keep=${resolve(under)}`;
}

/** The uncompressed vmlinux inside a bzImage (its xz payload), or null when it cannot be had. */
function extractVmlinux(vmlinuz: string, out: string): boolean {
  if (which('xz') === null) return false;
  const img = readFileSync(vmlinuz);
  const at = img.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  if (at < 0) return false;
  const r = spawnSync('xz', ['-dc', '--single-stream'], { input: img.subarray(at), maxBuffer: 512 * 1024 * 1024 });
  if (r.stdout === null || r.stdout.length < 1024 * 1024 || r.stdout.readUInt32BE(0) !== 0x7f454c46) return false; // not an ELF
  writeFileSync(out, r.stdout);
  return true;
}

const INIT = `#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mount -t devtmpfs dev /dev
for m in $($B cat /modules.order); do $B insmod /lib/modules/$m 2>/dev/null || echo "cell-vm: insmod $m failed"; done
JOB=$($B sed -n 's/.*cell.job=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
H=/mnt/host
if ! $B mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000 host $H; then echo "cell-vm: cannot mount the host root over 9p"; $B poweroff -f; fi
$B mount -t proc proc $H/proc
$B mount -t sysfs sys $H/sys
$B mount -t devtmpfs dev $H/dev
# A checkout under /tmp (a CI clone, a temp worktree) stays visible through the tmpfs: bind it
# aside, mount the tmpfs, put it back at its path.
KEEP=$($B sed -n 's/.*cell.keep=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
if [ -n "$KEEP" ]; then $B mkdir -p /mnt/keep && $B mount --bind $H$KEEP /mnt/keep; fi
$B mount -t tmpfs -o mode=1777 tmp $H/tmp
if [ -n "$KEEP" ]; then $B mkdir -p $H$KEEP && $B mount --move /mnt/keep $H$KEEP; fi
$B mount -t tmpfs run $H/run 2>/dev/null
$B mkdir -p $H/dev/shm && $B mount -t tmpfs shm $H/dev/shm
$B mkdir -p $H$JOB
if ! $B mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 job $H$JOB; then echo "cell-vm: cannot mount the job directory"; $B poweroff -f; fi
$B ip link set lo up 2>/dev/null
$B chroot $H /bin/sh $JOB/job.sh
echo ${DONE}
$B sync
$B poweroff -f
`;

/** What goes into a micro-VM image besides the kernel and busybox (ensureVmImage). */
export interface VmImageSpec {
  /** Directory name prefix under $TMPDIR, e.g. 'cell-can-vm'. */
  readonly prefix: string;
  /** Bump when the initramfs contents change (part of the directory name). */
  readonly version: number;
  /** Modules (modprobe names) put into the initramfs with their dependencies, in load order. */
  readonly modules: readonly string[];
  /** A module file name prefix that must be among them (e.g. 'vcan.ko'), else the build fails. */
  readonly required: string;
  /** The initramfs's /init (busybox sh); it loads /lib/modules/<each line of /modules.order>. */
  readonly init: string;
}

export interface VmImage { dir: string; kernel: string; initrd: string; kver: string }

/**
 * Builds (once per machine, kernel and spec version) the vmlinux + initramfs into
 * $TMPDIR/<prefix>-<kver>-v<version>-<uid>; returns their paths.
 */
export function ensureVmImage(spec: VmImageSpec): VmImage {
  const k = findKernel();
  if (k === null) throw new Error('can-vm: no kernel with vcan');
  const dir = join(tmpdir(), `${spec.prefix}-${k.kver}-v${spec.version}-${process.getuid?.() ?? 0}`);
  const initrd = join(dir, 'initramfs.cpio.gz');
  const kernelOf = (d: string) => (existsSync(join(d, 'vmlinux')) ? join(d, 'vmlinux') : k.vmlinuz);
  if (existsSync(initrd)) return { dir, kernel: kernelOf(dir), initrd, kver: k.kver };

  const work = mkdtempSync(`${dir}.build-`);
  try {
    const root = join(work, 'root');
    for (const d of ['bin', 'proc', 'sys', 'dev', 'mnt/host', 'lib/modules']) mkdirSync(join(root, d), { recursive: true });
    copyFileSync(busyboxPath()!, join(root, 'bin/busybox'));
    chmodSync(join(root, 'bin/busybox'), 0o755);
    // Modules in dependency order (modprobe --show-depends lists a module's dependencies first).
    const files: string[] = [];
    for (const m of spec.modules) {
      const r = spawnSync('modprobe', ['-S', k.kver, '--show-depends', m], { encoding: 'utf8' });
      if (r.status !== 0) continue; // built in, or absent (can-isotp on an old kernel): not needed
      for (const line of r.stdout.split('\n')) {
        const f = line.match(/^insmod (\S+)/)?.[1];
        if (f !== undefined && !files.includes(f)) files.push(f);
      }
    }
    if (!files.some((f) => basename(f).startsWith(spec.required))) throw new Error(`can-vm: modprobe -S ${k.kver} --show-depends listed no ${spec.required}`);
    const order: string[] = [];
    for (const f of files) {
      let name = basename(f);
      const dst = join(root, 'lib/modules');
      if (name.endsWith('.ko.xz')) { name = name.slice(0, -3); sh(`xz -dc ${q(f)} > ${q(join(dst, name))}`); }
      else if (name.endsWith('.ko.zst')) { name = name.slice(0, -4); sh(`zstd -dcq ${q(f)} > ${q(join(dst, name))}`); }
      else if (name.endsWith('.ko.gz')) { name = name.slice(0, -3); sh(`gzip -dc ${q(f)} > ${q(join(dst, name))}`); }
      else copyFileSync(f, join(dst, name));
      order.push(name);
    }
    writeFileSync(join(root, 'modules.order'), order.join('\n') + '\n');
    writeFileSync(join(root, 'init'), spec.init, { mode: 0o755 });
    sh(`cd ${q(root)} && find . | cpio -o -H newc --quiet | gzip -1 > ${q(join(work, 'initramfs.cpio.gz'))}`);
    rmSync(root, { recursive: true, force: true });
    extractVmlinux(k.vmlinuz, join(work, 'vmlinux')); // else the bzImage boots, only slower
    try {
      renameSync(work, dir);
    } catch {
      // Another process renamed its build first: use that one.
      rmSync(work, { recursive: true, force: true });
    }
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
  return { dir, kernel: kernelOf(dir), initrd, kver: k.kver };
}

/** Builds (once per machine and kernel) the CAN VM's vmlinux + initramfs; returns their directory. */
function ensureImage(): VmImage {
  return ensureVmImage({ prefix: 'cell-can-vm', version: HARNESS_VERSION, modules: MODULES, required: 'vcan.ko', init: INIT });
}

function jobScript(job: string, opts: CanVmOptions): string {
  const lines = [
    'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp CELL_IN_CAN_VM=1 LANG=C.UTF-8',
    `J=${q(job)}`,
    'up() { cut -d" " -f1 /proc/uptime | tr -d .; }',
    'setup() {',
    '  set -e',
  ];
  for (const i of opts.interfaces ?? []) {
    lines.push(`  ip link add dev ${q(i.name)} type vcan`);
    lines.push(`  ip link set ${q(i.name)} mtu ${i.fd === true ? 72 : 16}`);
    if (i.txqueuelen !== undefined) lines.push(`  ip link set ${q(i.name)} txqueuelen ${Math.floor(i.txqueuelen)}`);
    if (i.qdisc !== undefined) lines.push(`  tc qdisc add dev ${q(i.name)} ${i.qdisc}`);
    lines.push(`  ip link set ${q(i.name)} up`);
  }
  lines.push('}');
  lines.push('if ! ( setup ) > "$J/setup.log" 2>&1; then echo "cell-vm: interface set-up failed:"; cat "$J/setup.log"; echo fail > "$J/setup.failed"; exit 1; fi');
  lines.push(`echo ${READY}`);
  opts.commands.forEach((c, n) => {
    const env = Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${q(v)}`).join(' ');
    const cwd = c.cwd ?? process.cwd();
    const argv = c.script !== undefined ? [process.execPath, join(job, `${n}.bundle.mjs`), ...(c.argv ?? [])] : c.argv ?? [];
    const limit = c.timeoutMs !== undefined ? `timeout -s KILL ${Math.max(1, Math.ceil(c.timeoutMs / 1000))} ` : '';
    lines.push(`t0=$(up); ( cd ${q(cwd)} && exec ${limit}env ${env} ${argv.map(q).join(' ')} ) > "$J/${n}.out" 2> "$J/${n}.err" < /dev/null; echo "$? $(( ($(up) - t0) * 10 ))" > "$J/${n}.code"`);
    lines.push(`echo "cell-vm: command ${n} done"`);
  });
  return lines.join('\n') + '\n';
}

/**
 * Kernel parameters that make the guest's clock independent of host load. Under TCG the guest
 * TSC runs at the host's TSC rate, but the kernel's calibration against the PIT fails when the
 * host is busy (other VMs, a parallel test run): the TSC is then marked unstable, microvm has no
 * HPET or ACPI PM timer to fall back on, and the boot hangs with the clock at 0.000000. Giving
 * the frequency (tsc_early_khz), a preset delay loop (lpj, HZ=250) and no watchdog (the host's
 * TSC is the reference) boots the same in ~2 s whatever the load.
 */
export function timeParams(): string {
  let khz = 0;
  try {
    const mhz = readFileSync('/proc/cpuinfo', 'utf8').match(/^cpu MHz\s*:\s*([\d.]+)/m)?.[1];
    if (mhz !== undefined) khz = Math.round(Number(mhz) * 1000);
  } catch { /* no /proc/cpuinfo: calibrate */ }
  return khz > 0 ? `tsc_early_khz=${khz} tsc=reliable lpj=${khz * 4} no_timer_check` : '';
}


/**
 * qemu-system-x86_64's arguments for one micro-VM (TCG, one vCPU, serial console on stdio): the
 * kernel and initramfs of `image`, the host's root read-only over 9p (tag "host") and `jobDir`
 * read-write (tag "job"), the kernel command line `append`.
 */
export function microVmArgs(image: { kernel: string; initrd: string }, memoryMb: number, jobDir: string, append: string): string[] {
  return [
    '-M', 'microvm,rtc=on', '-accel', 'tcg', '-cpu', 'max', '-m', String(memoryMb), '-smp', '1',
    '-nodefaults', '-no-reboot', '-display', 'none', '-serial', 'stdio',
    '-kernel', image.kernel, '-initrd', image.initrd,
    '-fsdev', 'local,id=host,path=/,security_model=none,readonly=on,multidevs=remap',
    '-device', 'virtio-9p-device,fsdev=host,mount_tag=host',
    '-fsdev', `local,id=job,path=${jobDir},security_model=none,multidevs=remap`,
    '-device', 'virtio-9p-device,fsdev=job,mount_tag=job',
    '-append', append,
  ];
}

/** Boots the VM, sets up the interfaces, runs the commands one after another, returns their output. */
export async function runInCanVm(opts: CanVmOptions): Promise<CanVmResult> {
  const t0 = performance.now();
  const avail = canVmAvailable();
  if (!avail.ok) throw new Error(`can-vm: ${avail.reason}`);
  const image = ensureImage();
  const job = mkdtempSync(join(tmpdir(), 'cell-can-job-'));
  try {
    opts.commands.forEach((c, n) => {
      if (c.script === undefined) return;
      const entry = resolve(c.script);
      buildSync({
        entryPoints: [entry], outfile: join(job, `${n}.bundle.mjs`), bundle: true, platform: 'node', format: 'esm',
        target: `node${process.versions.node.split('.')[0]}`, logLevel: 'error', sourcemap: 'inline',
        define: { 'import.meta.url': JSON.stringify(pathToFileURL(entry).href) },
        banner: { js: "import { createRequire as __cellCreateRequire } from 'node:module'; const require = __cellCreateRequire(import.meta.url);" },
      });
    });
    writeFileSync(join(job, 'job.sh'), jobScript(job, opts));
    const args = microVmArgs(image, opts.memoryMb ?? 1024, job, `console=ttyS0 quiet panic=-1 ${timeParams()} cell.job=${job}${keepParam(opts)}`);
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const bootLimitMs = Math.min(opts.bootTimeoutMs ?? 30_000, timeoutMs);
    let consoleText = '';
    let bootMs = -1;
    let reason = '';
    // One boot, and a second one if the first never reached the commands within bootLimitMs (a
    // guest kernel that hangs early on a very busy host); the commands run at most once.
    for (let attempt = 1; attempt <= 2; attempt++) {
      consoleText = '';
      reason = '';
      let bootHung = false;
      const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const started = performance.now();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          reason = `the VM did not finish within ${timeoutMs} ms`;
          child.kill('SIGKILL');
        }, timeoutMs - (started - t0));
        const bootTimer = setTimeout(() => {
          if (bootMs >= 0) return;
          bootHung = true;
          reason = `the guest did not boot within ${bootLimitMs} ms`;
          child.kill('SIGKILL');
        }, bootLimitMs);
        const onData = (b: Buffer) => {
          consoleText += b.toString('utf8');
          if (bootMs < 0 && consoleText.includes(READY)) bootMs = performance.now() - started;
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.on('error', (err) => { reason = `qemu did not start: ${err.message}`; });
        child.on('close', () => { clearTimeout(timer); clearTimeout(bootTimer); resolve(); });
      });
      if (!bootHung || attempt === 2 || performance.now() - t0 + bootLimitMs > timeoutMs) break;
      process.stderr.write(`can-vm: ${reason}; booting again (console: ${consoleText.trim().split('\n').slice(-2).join(' | ')})\n`);
    }
    const outputs: CanVmOutput[] = opts.commands.map((_, n) => {
      const read = (f: string) => { try { return readFileSync(join(job, f), 'utf8'); } catch { return ''; } };
      const m = read(`${n}.code`).trim().match(/^(\d+) (\d+)$/);
      return { code: m ? Number(m[1]) : -1, stdout: read(`${n}.out`), stderr: read(`${n}.err`), ms: m ? Number(m[2]) : -1 };
    });
    if (reason === '' && existsSync(join(job, 'setup.failed'))) reason = `interface set-up failed: ${readFileSync(join(job, 'setup.log'), 'utf8').trim()}`;
    if (reason === '' && !consoleText.includes(DONE)) reason = 'the VM stopped before the commands finished (see console)';
    if (reason === '') {
      const bad = outputs.findIndex((o) => o.code !== 0);
      if (bad >= 0) reason = `command ${bad} (${opts.commands[bad]!.script ?? ''} ${(opts.commands[bad]!.argv ?? []).join(' ')}) exited ${outputs[bad]!.code}`;
    }
    return { ok: reason === '', outputs, bootMs, totalMs: performance.now() - t0, console: consoleText, reason };
  } finally {
    rmSync(job, { recursive: true, force: true });
  }
}

/** One `CASE <json>` line of a script run in the VM. */
export interface CanVmCase { name: string; ok: boolean; error?: string; ms?: number; [k: string]: unknown }

/** The CASE lines of a command's stdout, by name. */
export function canVmCases(out: CanVmOutput | undefined): Map<string, CanVmCase> {
  const cases = new Map<string, CanVmCase>();
  for (const line of out?.stdout.split('\n') ?? []) {
    if (!line.startsWith('CASE ')) continue;
    const r = JSON.parse(line.slice(5)) as CanVmCase;
    cases.set(r.name, r);
  }
  return cases;
}

type UvuTest = ((title: string, fn: () => void | Promise<void>) => void) & {
  before: (fn: () => Promise<void>) => void;
  skip: (title: string, fn: () => void) => void;
};

/**
 * A suite whose tests each check one case of a script run once in the VM (one boot for the file):
 * `cases` are [case name, test title]; the script prints a `CASE <json>` line per case. When
 * `skipReason` is not '' every test is declared skipped with it (skipDeclared).
 */
export function canVmCaseTests(test: UvuTest, opts: {
  readonly label: string;
  readonly cases: readonly (readonly [string, string])[];
  readonly run: CanVmOptions;
  readonly skipReason: string;
}): void {
  if (opts.skipReason !== '') {
    for (const [, title] of opts.cases) skipDeclared(test, `${opts.label}: ${title}`, opts.skipReason);
    return;
  }
  let run: CanVmResult | undefined;
  let results = new Map<string, CanVmCase>();
  test.before(async () => {
    run = await runInCanVm(opts.run);
    results = canVmCases(run.outputs[0]);
    const figures = [...results.values()].map(({ name, ok, error, ...rest }) => { void ok; void error; return `${name} ${JSON.stringify(rest)}`; });
    console.log(`\n  ${opts.label}: boot ${Math.round(run.bootMs)} ms, total ${Math.round(run.totalMs)} ms\n  ${figures.join('\n  ')}`);
  });
  for (const [name, title] of opts.cases) {
    test(`${opts.label}: ${title}`, () => {
      const r = results.get(name);
      if (r === undefined) {
        const out = run?.outputs[0];
        throw new Error(`case ${name} did not report: ${run?.reason}\nstdout: ${out?.stdout.slice(-2000)}\nstderr: ${out?.stderr.slice(-3000)}\nconsole: ${run?.console.slice(-1500)}`);
      }
      if (!r.ok) throw new Error(`${name}: ${r.error}`);
    });
  }
}
