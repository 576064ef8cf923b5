// systemd as PID 1 for the tests: the machine running them is a container (systemd is installed
// but not running), so a unit can only be checked offline there. This boots Debian's kernel in the
// same qemu micro-VM as the CAN suites (test/helpers/can-vm.ts: its kernel and initramfs builder,
// with overlay.ko instead of vcan) and hands over to the host's /lib/systemd/systemd:
//
//   host root over 9p, read-only ──┐
//                                  ├─ overlayfs (lower 9p, upper a tmpfs) = the guest's /
//   tmpfs (the guest's writes) ────┘
//   /cell-job: a host temp directory over 9p, read-write (set-up scripts in, results out)
//
// The initramfs's /init mounts that overlay, sources <job>/pre.sh (busybox: bind mounts from the
// host's root, e.g. a checkout at the place `npm install -g` would put it), runs <job>/setup.sh
// chrooted in the new root with the host's tools (useradd, install, systemctl), writes the units
// given, masks the units that only cost time under TCG (gettys, timers, apparmor, hwdb …) and
// switch_roots into `/lib/systemd/systemd` with `systemd.unit=<target>`. The target's units do the
// checks, write their results into /cell-job and power the machine off (SuccessAction=poweroff).
//
//   const r = await runSystemdVm({ target: 'cell-test.target', units: {...}, files: {...}, setup: '...' });
//   r.files['cases'] (what the guest wrote to /cell-job/cases), r.console, r.totalMs
//
// Skips as the CAN suites do (canVmAvailable(): no qemu, kernel or busybox, or CELL_CAN_VM=0),
// plus no overlay module, no /lib/systemd/systemd.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { canVmAvailable, ensureVmImage, findKernel, microVmArgs, timeParams, type VmImage } from './can-vm.ts';

const IMAGE_VERSION = 2; // bump when INIT or MODULES change
const MODULES = ['overlay', '9p', '9pnet_virtio', 'virtio_mmio'];
const SWITCH = 'CELL-SYSTEMD-VM-SWITCH';
/** Where the job directory is in the guest (not under /tmp: systemd-tmpfiles empties /tmp at boot). */
export const GUEST_JOB = '/cell-job';

const INIT = `#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mount -t devtmpfs dev /dev
for m in $($B cat /modules.order); do $B insmod /lib/modules/$m 2>/dev/null || echo "cell-systemd-vm: insmod $m failed"; done
fail() { echo "cell-systemd-vm: $*"; $B sync; $B poweroff -f; }
L=/mnt/host N=/newroot J=${GUEST_JOB}
$B mkdir -p $N /mnt/rw
$B mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000 host $L || fail "cannot mount the host root over 9p"
$B mount -t tmpfs -o mode=0755 rw /mnt/rw && $B mkdir -p /mnt/rw/upper /mnt/rw/work
$B mount -t overlay overlay -o lowerdir=$L,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work $N || fail "cannot mount the overlay"
$B mkdir -p $N$J
$B mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 job $N$J || fail "cannot mount the job directory"
# A fresh /tmp and /run, as on a machine that just booted (the host's are not the guest's), and
# no /.dockerenv: systemd would take the guest for a container (and ignore the kernel command line).
$B mount -t tmpfs -o mode=1777 tmp $N/tmp
$B mount -t tmpfs -o mode=0755 run $N/run
$B rm -f $N/.dockerenv $N/run/.containerenv
. $N$J/pre.sh || fail "pre.sh failed"
$B mount --move /dev $N/dev
$B mount --move /proc $N/proc
$B mount --move /sys $N/sys
if ! $B chroot $N /bin/sh $J/setup.sh > $N$J/setup.log 2>&1; then $B cat $N$J/setup.log; fail "set-up failed"; fi
echo ${SWITCH}
exec $B switch_root $N /lib/systemd/systemd
`;

/**
 * Units that are pulled in by sysinit.target/basic.target (or by the console= on the command line)
 * and only cost time in a throw-away TCG guest, or wait for hardware it does not have.
 */
export const MASKED_UNITS = [
  'getty.target', 'serial-getty@ttyS0.service', 'console-getty.service', 'getty@tty1.service',
  'timers.target', 'apparmor.service', 'systemd-timesyncd.service', 'systemd-pstore.service',
  'systemd-hwdb-update.service', 'ldconfig.service', 'systemd-journal-catalog-update.service',
  'systemd-firstboot.service', 'systemd-networkd-wait-online.service', 'systemd-udev-settle.service',
  'e2scrub_reap.service', 'systemd-binfmt.service', 'proc-sys-fs-binfmt_misc.automount',
];

let availability: { ok: boolean; reason: string } | undefined;

/** Can the systemd VM run here? If not, why (and how to fix it). */
export function systemdVmAvailable(): { ok: boolean; reason: string } {
  if (availability !== undefined) return availability;
  const vm = canVmAvailable();
  if (!vm.ok) return (availability = { ok: false, reason: vm.reason.replace('the CAN micro-VM suites are', 'the micro-VM suites (CAN, systemd) are') });
  const k = findKernel()!;
  if (spawnSync('modprobe', ['-S', k.kver, '--show-depends', 'overlay'], { encoding: 'utf8' }).status !== 0) {
    return (availability = { ok: false, reason: `no overlay module for ${k.kver} (the guest's root is an overlay over the host's)` });
  }
  if (!existsSync('/lib/systemd/systemd')) return (availability = { ok: false, reason: 'no /lib/systemd/systemd: apt-get install systemd' });
  return (availability = { ok: true, reason: 'qemu-system-x86_64, a kernel with overlay, busybox-static and systemd are here' });
}

export interface SystemdVmOptions {
  /** The unit systemd boots to (`systemd.unit=`); one of `units`, whose units power off when done. */
  readonly target: string;
  /** Unit files written to /etc/systemd/system before systemd starts: name → text (drop-ins: 'x.service.d/y.conf'). */
  readonly units: Readonly<Record<string, string>>;
  /** Files put into the job directory (the guest's /cell-job): name → contents. */
  readonly files?: Readonly<Record<string, string>>;
  /** Host paths bind-mounted read-only into the guest: guest path → host path (a file or a directory). */
  readonly binds?: Readonly<Record<string, string>>;
  /** sh run as root chrooted in the guest's root before systemd starts (the host's tools). */
  readonly setup?: string;
  /** More units to mask (besides MASKED_UNITS). */
  readonly mask?: readonly string[];
  /** The whole run; qemu is killed after it. Default 240 000. */
  readonly timeoutMs?: number;
  /** Guest memory. Default 1536 MiB. */
  readonly memoryMb?: number;
}

export interface SystemdVmResult {
  /** The guest powered off by itself (did not time out, qemu did not fail). */
  readonly ok: boolean;
  /** Why not ok, '' when ok. */
  readonly reason: string;
  /** Every regular file of the job directory after the run (the guest's results), by name. */
  readonly files: Record<string, string>;
  /** Host time from starting qemu to the switch into systemd. */
  readonly switchMs: number;
  readonly totalMs: number;
  /** The guest console (kernel, systemd's status lines, units with StandardOutput=…+console). */
  readonly console: string;
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function ensureImage(): VmImage {
  return ensureVmImage({ prefix: 'cell-systemd-vm', version: IMAGE_VERSION, modules: MODULES, required: 'overlay.ko', init: INIT });
}

/** Boots systemd as PID 1 in the micro-VM with these units; resolves once the guest is off. */
export async function runSystemdVm(opts: SystemdVmOptions): Promise<SystemdVmResult> {
  const t0 = performance.now();
  const avail = systemdVmAvailable();
  if (!avail.ok) throw new Error(`systemd-vm: ${avail.reason}`);
  const image = ensureImage();
  const job = mkdtempSync(join(tmpdir(), 'cell-systemd-job-'));
  try {
    for (const [name, text] of Object.entries(opts.files ?? {})) writeFileSync(join(job, name), text);
    mkdirSync(join(job, 'units'));
    for (const [name, text] of Object.entries(opts.units)) {
      mkdirSync(join(job, 'units', dirname(name)), { recursive: true });
      writeFileSync(join(job, 'units', name), text);
    }
    // pre.sh: busybox, before the chroot. $B, $L (the host root) and $N (the new root) are set.
    const pre = Object.entries(opts.binds ?? {}).map(([guest, host]) => {
      const file = !statSync(host).isDirectory();
      return [
        `$B mkdir -p $N${q(dirname(guest))}`,
        file ? `$B rm -f $N${q(guest)} && $B touch $N${q(guest)}` : `$B mkdir -p $N${q(guest)}`,
        `$B mount --bind $L${q(host)} $N${q(guest)}`,
      ].join('\n');
    });
    writeFileSync(join(job, 'pre.sh'), pre.join('\n') + '\n');
    const units = Object.keys(opts.units);
    writeFileSync(join(job, 'setup.sh'), [
      'set -e',
      'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8',
      `cp -r ${GUEST_JOB}/units/. /etc/systemd/system/`,
      ...[...MASKED_UNITS, ...(opts.mask ?? [])].filter((u) => !units.includes(u)).map((u) => `ln -sf /dev/null /etc/systemd/system/${q(u)}`),
      opts.setup ?? '',
    ].join('\n') + '\n');

    // systemd.show_status=error: failed units on the console, not every started one.
    const args = microVmArgs(image, opts.memoryMb ?? 1536, job, `console=ttyS0 quiet panic=-1 ${timeParams()} systemd.unit=${opts.target} systemd.show_status=error`);
    const timeoutMs = opts.timeoutMs ?? 240_000;
    let consoleText = '';
    let switchMs = -1;
    let reason = '';
    const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const started = performance.now();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        reason = `the VM did not power off within ${timeoutMs} ms`;
        child.kill('SIGKILL');
      }, timeoutMs - (started - t0));
      const onData = (b: Buffer) => {
        consoleText += b.toString('utf8');
        if (switchMs < 0 && consoleText.includes(SWITCH)) switchMs = performance.now() - started;
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('error', (err) => { reason = `qemu did not start: ${err.message}`; });
      child.on('close', (code) => {
        clearTimeout(timer);
        if (reason === '' && code !== 0) reason = `qemu exited ${code}`;
        resolve();
      });
    });
    if (reason === '' && switchMs < 0) reason = 'the guest never switched to systemd (see console)';
    return { ok: reason === '', reason, files: readAll(job), switchMs, totalMs: performance.now() - t0, console: consoleText };
  } finally {
    rmSync(job, { recursive: true, force: true });
  }
}

/** The job directory's regular files (top level), as text. */
function readAll(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    try { if (statSync(p).isFile()) out[name] = readFileSync(p, 'utf8'); } catch { /* gone */ }
  }
  return out;
}
