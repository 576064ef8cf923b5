// `cell call --can <interface>:<node>` (docs/cli.md "cell call", docs/can.md): a device node on a
// CAN bus as a call target. The driver (SocketCAN for an interface name, slcan for
// "slcan:<path>") is imported and opened only here, on first use; one bus is shared by the links
// of one command (describe, then the call) and closed shortly after the last one closes.
import type { Link, LinkCapabilities, LinkHandlers, LinkStats } from '../transports/link.ts';
import type { CanBus } from '../transports/can/bus.ts';
import { CliError, EXIT_USAGE } from './errors.ts';

/** The caller's own node id on the bus unless --can-node says otherwise (docs/cli.md). */
export const DEFAULT_CAN_CALLER_NODE = 1;

export interface CanCallTarget {
  readonly kind: 'can';
  /** "can0" or "slcan:/dev/ttyACM0". */
  readonly iface: string;
  /** The device's node id. */
  readonly node: number;
  /** This command's node id on the bus. */
  readonly localNode: number;
  readonly fd: boolean;
  readonly bitrate?: number;
  readonly text: string;
}

/** Parse `--can can0:10` (`--can-node`, `--can-fd`, `--can-bitrate` from their flags). Usage errors exit 2. */
export async function canTarget(text: string, o: { localNode?: number; fd?: boolean; bitrate?: number } = {}): Promise<CanCallTarget> {
  const { parseCanTarget } = await import('../can/open.ts');
  let t;
  try {
    t = parseCanTarget(text, true);
  } catch (e) {
    throw new CliError(`--can ${text}: ${(e as Error).message}`, { exit: EXIT_USAGE, name: 'BadTarget', fix: 'give --can <interface>:<node>, e.g. --can can0:10 or --can slcan:/dev/ttyACM0:10' });
  }
  const localNode = o.localNode ?? DEFAULT_CAN_CALLER_NODE;
  if (!Number.isInteger(localNode) || localNode < 0 || localNode > 126) throw new CliError(`--can-node ${localNode} is not a CAN node id`, { exit: EXIT_USAGE, name: 'BadTarget', fix: 'give 0-126 (default 1)' });
  if (localNode === t.node) throw new CliError(`--can-node ${localNode} is the device's own node id`, { exit: EXIT_USAGE, name: 'BadTarget', fix: `give this command another id: --can-node ${localNode === DEFAULT_CAN_CALLER_NODE ? 2 : DEFAULT_CAN_CALLER_NODE}` });
  if (o.bitrate !== undefined && t.kind !== 'slcan') throw new CliError(`--can-bitrate applies to slcan adapters only (${t.iface} is SocketCAN: its bitrate is set by ip link)`, { exit: EXIT_USAGE, name: 'BadTarget' });
  return { kind: 'can', iface: t.iface, node: t.node!, localNode, fd: o.fd ?? false, text, ...(o.bitrate !== undefined ? { bitrate: o.bitrate } : {}) };
}

let shared: { key: string; bus: Promise<CanBus>; users: number; timer: ReturnType<typeof setTimeout> | null } | null = null;

/** A link to the target's node; closing it releases the bus (closed 100 ms after its last link). */
export async function openCanLink(t: CanCallTarget): Promise<Link> {
  const key = `${t.iface}|${t.localNode}|${t.fd}|${t.bitrate ?? ''}`;
  if (shared === null || shared.key !== key) {
    const { openCanDriver } = await import('../can/open.ts');
    const { CanBus } = await import('../transports/can/bus.ts');
    const { canOpenError } = await import('./commands/gateway.ts');
    const bus = openCanDriver(t.iface, { fd: t.fd, ...(t.bitrate !== undefined ? { bitrate: t.bitrate } : {}) }).then((driver) => {
      const b = new CanBus(driver, { node: t.localNode, fd: t.fd });
      b.onPeer = (_n, l) => queueMicrotask(() => l.close()); // late frames after a link closed
      b.start();
      return b;
    }, (e: unknown) => { shared = null; throw canOpenError(e, t.iface); });
    shared = { key, bus, users: 0, timer: null };
  }
  const s = shared;
  const bus = await s.bus;
  s.users++;
  if (s.timer !== null) { clearTimeout(s.timer); s.timer = null; }
  return new ReleasingLink(bus.peer(t.node), () => {
    if (--s.users > 0) return;
    s.timer = setTimeout(() => { if (s.users === 0) { bus.close(); if (shared === s) shared = null; } }, 100);
  });
}

/** A peer link that tells its owner when it closed. */
class ReleasingLink implements Link {
  readonly caps: LinkCapabilities;
  private released = false;
  constructor(private readonly link: Link, private readonly release: () => void) { this.caps = link.caps; }
  get stats(): LinkStats { return this.link.stats; }
  get closed(): boolean { return this.link.closed; }
  start(h: LinkHandlers): void {
    this.link.start({ ...h, onClose: (err) => { this.done(); h.onClose(err); } });
  }
  send(frame: Uint8Array, len?: number): boolean { return this.link.send(frame, len); }
  close(): void { this.link.close(); this.done(); }
  private done(): void { if (!this.released) { this.released = true; this.release(); } }
}
