// A simulated thermo device for the gateway tests: the thermo firmware's wasm in Node
// (hw-tests/lib/sim.ts) on one end of a socat pty pair; the gateway opens the other end
// (`hostPath`) exactly as it would /dev/ttyUSB0. Same recipe as test/firmware/thermo-sim.test.ts.
import { startPtyPair, ptyUnavailable, type PtyPair } from '../lib/pty.ts';
import { startSim, type Sim } from '../lib/sim.ts';
import { loadSerialPort } from '../lib/targets.ts';
import { buildFirmwareWasm } from '../../test/helpers/firmware-wasm.ts';

/**
 * Build the thermo wasm (a no-op when up to date): its path, or why it cannot be built here.
 * `app` 'thermo-secure': the same cell with link security (docs/security.md).
 */
export function buildThermoWasm(app: 'thermo' | 'thermo-secure' = 'thermo'): string | { skip: string } {
  return buildFirmwareWasm(app);
}

/** Why the simulated device cannot run here (no socat, no serialport, no asc), or null. */
export async function deviceSimUnavailable(): Promise<string | null> {
  const pty = ptyUnavailable();
  if (pty !== null) return pty;
  const sp = await loadSerialPort();
  if (typeof sp === 'string') return sp;
  const w = buildThermoWasm();
  return typeof w === 'string' ? null : w.skip;
}

export interface DeviceSim {
  /** The host's end of the line (stable across unplug()/plug()). */
  readonly hostPath: string;
  readonly sim: Sim;
  readonly pty: PtyPair;
  /** Pull the cable: socat stops, the host's port goes away. */
  unplug(): Promise<void>;
  /** Put it back: socat again, the device (a new simulator process) boots on it. */
  plug(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A secured device: the thermo-secure firmware provisioned with the 64-byte record in `record`
 * (`cell keys device --record`), its boot counter pages in `flash` (created erased).
 */
export interface DeviceSimSecurity { record: string; flash: string }

/** Start a thermo simulator on a new pty pair (call deviceSimUnavailable() first). */
export async function startDeviceSim(dir?: string, security?: DeviceSimSecurity): Promise<DeviceSim> {
  const wasm = buildThermoWasm(security !== undefined ? 'thermo-secure' : 'thermo');
  if (typeof wasm !== 'string') throw new Error(wasm.skip);
  const pty = await startPtyPair(dir !== undefined ? { dir } : {});
  const sec = security !== undefined ? { secRecord: security.record, secFlash: security.flash } : {};
  let sim = await startSim({ ptyPath: pty.pathA, wasm, ...sec });
  return {
    hostPath: pty.pathB,
    get sim() { return sim; },
    pty,
    async unplug() { await sim.kill(); await pty.kill(); },
    async plug() { await pty.restart(); sim = await startSim({ ptyPath: pty.pathA, wasm, ...sec }); },
    async stop() { await sim.kill(); await pty.close(); },
  };
}
