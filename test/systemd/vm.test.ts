// systemd/cell-gateway.service under a real systemd: systemd 252 as PID 1 in the qemu micro-VM
// (test/helpers/systemd-vm.ts; the host's root read-only under an overlay), the unit installed as
// docs/gateway.md §4 "Service" says — `useradd --system … cell`, `usermod -aG dialout cell`, the
// checkout where `npm install -g` puts a package (/usr/local/lib/node_modules/cell, bound
// read-only from the host) and its bin as /usr/local/bin/cell, so the shipped ExecStart
// `/usr/bin/env cell …` runs unchanged, /etc/cell/gateway.toml, `systemctl enable --now`.
// No drop-in: the device is the thermo firmware simulated on a socat pty (group dialout), which
// DevicePolicy=closed allows (systemd always allows char-pts; checked against /dev/kmsg, refused).
// test/systemd/vm-driver.ts, run by a oneshot unit, checks; each test here reports one check.
// One boot for the file, ~2–3 min under TCG. Skipped with the reason when the VM cannot run here
// (no qemu, kernel, overlay module, busybox, systemd; CELL_CAN_VM=0), dist/ is not built, or the
// simulated device (socat, serialport, firmware toolchain) or libp2p is missing.
import { test } from 'uvu';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';
import { GUEST_JOB, runSystemdVm, systemdVmAvailable, type SystemdVmResult } from '../helpers/systemd-vm.ts';
import { buildThermoWasm, deviceSimUnavailable } from '../../hw-tests/mesh/device-sim.ts';
import { describeCell } from '../../src/codec/schema-json.ts';
import { ThermoDef } from '../../firmware/thermo/schema.ts';
import { skipDeclared } from '../helpers/skip.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** Where the guest sees this checkout: where `sudo npm install -g cell` would have put it. */
const PKG = '/usr/local/lib/node_modules/cell';

const CASES: [string, string][] = [
  ['boot', 'systemd is PID 1 in the VM'],
  ['device', 'the device\'s pty is group dialout; DevicePolicy=closed refuses /dev/kmsg but lets cell open the pty (char-pts)'],
  ['running', '`systemctl enable --now`: active (running) as user cell with dialout among its groups, key in /var/lib/cell'],
  ['call', '`cell call greenhouse-thermo read` from another process answers; the metrics count it'],
  ['restart', '`systemctl kill -s SIGKILL`: systemd restarts it (NRestarts 1) and it announces again'],
  ['badConfig', 'a bad gateway.toml (exit 2) is not restarted (RestartPreventExitStatus=2), its `fatal` line is in the journal'],
  ['stop', '`systemctl stop`: SIGTERM, stopping < withdrawn < drained < stopped in the journal, Result=success, status 0'],
];

async function libp2pUnavailable(): Promise<string | null> {
  try { await import('libp2p'); return null; } catch (e) { return `libp2p is not installed (optional peer dependency): ${(e as Error).message.split('\n')[0]}`; }
}

const vm = systemdVmAvailable();
const skipReason = !vm.ok ? vm.reason
  : !existsSync(join(root, 'dist/cli/main.js')) ? 'dist/ is not built (npm run build): the unit runs the installed, built CLI'
    : (await deviceSimUnavailable()) ?? (await libp2pUnavailable()) ?? '';

/** The gateway's settings: the test's pty, loopback only, a fixed port, metrics on. */
const GATEWAY_TOML = `# /etc/cell/gateway.toml of test/systemd/vm.test.ts (examples/gateway.toml has every key)
dir = "/var/lib/cell"
log = "json"
drain_ms = 2000
max_frame = 512
metrics = "127.0.0.1:9464"

[mesh]
listen = ["/ip4/127.0.0.1/tcp/4001"]
mdns = false
quic = false
dht = "off"

[[device]]
path = "/run/cell-dev/ttyB"
name = "greenhouse-thermo"
schema = "/etc/cell/thermo.json"
`;

const UNITS = (wasm: string): Record<string, string> => ({
  'cell-test.target': `[Unit]
Description=Cell: the gateway unit under systemd (test/systemd/vm.test.ts)
Requires=basic.target
After=basic.target
Wants=cell-test-driver.service
AllowIsolate=yes
`,
  'cell-test-driver.service': `[Unit]
Description=Cell: checks of the gateway unit (test/systemd/vm-driver.ts)
After=basic.target

[Service]
Type=oneshot
ExecStart=/usr/local/bin/node ${GUEST_JOB}/driver.mjs
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=280
FailureAction=poweroff-force
`,
  'cell-test-device.service': `[Unit]
Description=Cell: the thermo firmware simulated on a socat pty pair (the gateway's end: group dialout)

[Service]
ExecStart=/bin/sh -c 'mkdir -p /run/cell-dev && { socat pty,raw,echo=0,link=/run/cell-dev/ttyA pty,raw,echo=0,link=/run/cell-dev/ttyB,group=dialout,perm=0660 & } && while [ ! -e /run/cell-dev/ttyA ] || [ ! -e /run/cell-dev/ttyB ]; do sleep 0.1; done && exec /usr/local/bin/node ${PKG}/hw-tests/lib/sim-device.mjs --wasm ${wasm} --pty /run/cell-dev/ttyA'
`,
});

/** The install steps of docs/gateway.md §4 "Service", chrooted in the guest before systemd starts. */
const SETUP = `
useradd --system --user-group --home-dir /var/lib/cell --no-create-home --shell /usr/sbin/nologin cell
usermod -aG dialout cell
# /usr/local/bin/cell as \`npm install -g\` makes it (a symlink to the package's bin): the unit's
# ExecStart=/usr/bin/env cell … runs unchanged; bin/cell.mjs runs the built dist/ with the node
# on PATH (/usr/local/bin/node: the node running this test, bound from the host).
ln -sf ../lib/node_modules/cell/bin/cell.mjs /usr/local/bin/cell
install -d -m 0755 /etc/cell
install -m 0640 -g cell ${GUEST_JOB}/gateway.toml /etc/cell/gateway.toml
install -m 0640 -g cell ${GUEST_JOB}/thermo.json /etc/cell/thermo.json
install -m 0644 ${PKG}/systemd/cell-gateway.service /etc/systemd/system/
`;

let run: SystemdVmResult | undefined;
const results = new Map<string, { name: string; ok: boolean; error?: string; [k: string]: unknown }>();

if (skipReason !== '') {
  for (const [, title] of CASES) skipDeclared(test, `systemd VM: ${title}`, skipReason);
} else {
  test.before(async () => {
    const wasm = buildThermoWasm();
    if (typeof wasm !== 'string') throw new Error(wasm.skip);
    const driver = fileURLToPath(new URL('./vm-driver.ts', import.meta.url));
    const bundle = buildSync({
      entryPoints: [driver], write: false, bundle: true, platform: 'node', format: 'esm', logLevel: 'error',
      target: `node${process.versions.node.split('.')[0]}`, define: { 'import.meta.url': JSON.stringify(pathToFileURL(driver).href) },
    });
    run = await runSystemdVm({
      target: 'cell-test.target',
      units: UNITS(join(PKG, relative(root, wasm))),
      files: {
        'driver.mjs': bundle.outputFiles[0]!.text,
        'gateway.toml': GATEWAY_TOML,
        'thermo.json': JSON.stringify(describeCell(ThermoDef)),
      },
      binds: { [PKG]: root.replace(/\/$/, ''), '/usr/local/bin/node': process.execPath },
      setup: SETUP,
      timeoutMs: 300_000,
    });
    for (const line of (run.files['cases'] ?? '').split('\n')) {
      if (!line.startsWith('CASE ')) continue;
      const r = JSON.parse(line.slice(5)) as { name: string; ok: boolean };
      results.set(r.name, r);
    }
    const figures = [...results.values()].map(({ name, ok, error, ...rest }) => { void ok; void error; return `${name} ${JSON.stringify(rest).slice(0, 400)}`; });
    if (!run.ok) console.log(`\n  systemd VM: ${run.reason}; the console's end:\n${run.console.slice(-3000)}`);
    console.log(`\n  systemd VM: switch to systemd at ${Math.round(run.switchMs)} ms, total ${Math.round(run.totalMs)} ms${run.ok ? '' : ` (${run.reason})`}\n  ${figures.join('\n  ')}`);
  });
  for (const [name, title] of CASES) {
    test(`systemd VM: ${title}`, () => {
      const r = results.get(name);
      if (r === undefined) {
        throw new Error(`check ${name} did not report: ${run?.reason}\nset-up: ${run?.files['setup.log']?.slice(-1500)}\njournal: ${run?.files['journal.txt']?.slice(-3000)}\nconsole: ${run?.console.slice(-4000)}`);
      }
      if (!r.ok) throw new Error(`${name}: ${r.error}\njournal: ${run?.files['journal.txt']?.slice(-3000)}`);
    });
  }
}

test.run();
