// A cell served on a CAN bus the way the firmware serves it (docs/can.md §"Devices"): the
// device end, for Node devices, simulators and tests. Like the firmware it
//   - broadcasts one HELLO (unflagged, to node 127) when it starts, so a gateway learns it is there;
//   - answers every HELLO it gets with its own HELLO, flagged ANSWER, and keeps no session state:
//     a caller (a gateway's new session, a probe) always gets a HELLO back, and never takes an
//     answer for a restart (src/can/sessions.ts).
// Every node that sends it frames gets its own Connection (CanBus.onPeer).
import { serve, type Impl, type Server, type ServeOptions } from '../rpc/api.ts';
import type { CellDef } from '../rpc/define.ts';
import { encodeHello, helloIsAnswer, HELLO_FLAG_SERVING, markHelloAnswer, PROTOCOL_VERSION } from '../rpc/payloads.ts';
import type { Link, LinkCapabilities, LinkHandlers, LinkListener, LinkStats } from '../transports/link.ts';
import { CanPeerLink, type CanBus } from '../transports/can/bus.ts';
import { CAN_NODE_BROADCAST } from '../wire/layouts.ts';
import { frameKind, Header, HEADER_BYTES, KIND_HELLO, writeHeader } from '../wire/header.ts';

export interface CanServeOptions extends ServeOptions {
  /** Broadcast the boot HELLO at start. @default true */
  announce?: boolean;
}

/** A cell served on a CAN bus. */
export interface CanServer<D extends CellDef> {
  readonly server: Server<D>;
  readonly bus: CanBus;
  /** Send an event to every node with a connection. Returns how many it went to. */
  emit: Server<D>['emit'];
  /** Broadcast the HELLO again (what a firmware does when it boots). */
  announce(): void;
  /** Stop serving: calls in flight are answered Closed. The bus stays open. */
  close(): Promise<void>;
}

/** One node's link, answering each HELLO with ours, flagged, as the firmware does. */
class AnsweringLink implements Link {
  readonly caps: LinkCapabilities;
  private ownHello: Uint8Array | null = null;
  /** Our HELLO went out at start, before any frame came: it answers the first frame (the HELLO that opened this link). */
  private answeredFirst = false;
  private frames = 0;
  constructor(private readonly link: CanPeerLink) { this.caps = link.caps; }
  get stats(): LinkStats { return this.link.stats; }
  get closed(): boolean { return this.link.closed; }
  start(handlers: LinkHandlers): void {
    this.link.start({
      onFrame: (buf, off, len) => {
        const first = this.frames++ === 0;
        if (frameKind(buf, off) === KIND_HELLO && !helloIsAnswer(buf, off, len) && this.ownHello !== null && !(first && this.answeredFirst)) this.link.send(this.ownHello);
        handlers.onFrame(buf, off, len);
      },
      onClose: (err) => handlers.onClose(err),
      onDrain: () => handlers.onDrain?.(),
      onBackpressure: () => handlers.onBackpressure?.(),
    });
  }
  send(frame: Uint8Array, len: number = frame.length): boolean {
    if (frameKind(frame, 0) === KIND_HELLO) {
      // The Connection's own HELLO goes out when it starts, in answer to the frame that opened
      // this link (a HELLO, as a rule): flagged, like every later one.
      const f = frame.slice(0, len);
      markHelloAnswer(f);
      this.ownHello = f;
      if (this.frames === 0) this.answeredFirst = true;
      return this.link.send(f);
    }
    return this.link.send(frame, len);
  }
  close(): void { this.link.close(); }
}

/**
 * Serve `impl` on `bus` as a device: one Connection per node that talks to it, every HELLO
 * answered, a HELLO broadcast at start. Takes the bus's `onPeer`; starts the bus.
 */
export function serveCan<D extends CellDef>(def: D, impl: Impl<D>, bus: CanBus, opts: CanServeOptions = {}): CanServer<D> {
  const listener: LinkListener & { onLink: ((l: Link) => void) | null } = {
    isListener: true, onLink: null, address: `${bus.driver.name}:${bus.node}`, close: async () => {},
  };
  const server = serve(def, impl, listener, opts);
  bus.onPeer = (_node, link) => {
    if (listener.onLink !== null) listener.onLink(new AnsweringLink(link));
    else link.close();
  };
  bus.start();
  const hello = encodeHello({
    version: PROTOCOL_VERSION,
    flags: HELLO_FLAG_SERVING,
    heartbeatMs: Math.min(opts.heartbeatMs ?? 0, 0xffff),
    maxFrameBytes: bus.maxFrameBytes,
    cellName: def.name,
    entries: def.entries,
  });
  const frame = new Uint8Array(HEADER_BYTES + hello.length);
  const h = new Header();
  h.kind = KIND_HELLO; h.length = hello.length;
  writeHeader(h, frame, 0);
  frame.set(hello, HEADER_BYTES);
  const announce = (): void => {
    if (bus.closed) return;
    // A link to the broadcast address, for this one frame (CanBus.peer takes device ids only).
    const b = new CanPeerLink(bus, CAN_NODE_BROADCAST);
    b.start({ onFrame: () => {}, onClose: () => {} });
    if (HEADER_BYTES + hello.length <= b.caps.mtu) b.send(frame);
    b.close();
  };
  if (opts.announce ?? true) announce();
  return {
    server,
    bus,
    emit: ((ev: never, v: never) => server.emit(ev, v)) as Server<D>['emit'],
    announce,
    async close() {
      bus.onPeer = null;
      await server.close();
    },
  };
}
