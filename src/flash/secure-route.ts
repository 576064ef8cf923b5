// Flashing a secured device (docs/flash.md §4.1, docs/security.md §5 "Boot commands"): its app
// takes boot-channel requests (INFO, ENTER_BOOT, RESET, CONFIRM) only sealed with the link key,
// so that a stranger on the wire cannot take it down; its bootloader has no link key and speaks
// plaintext — what it accepts is what it verifies itself (the image's signature, board and
// security version), so the link adds nothing there.
//
// One serial line carries both. Frames the device sealed, and the session's REQUEST / ACCEPT, go
// to a SecureLink in the host role; everything else to a plain BootClient. The two clients use
// separate call-id ranges. INFO goes out on the plain route and, once a session is open, on the
// sealed one too: whichever answers says who runs now (the app, sealed; the bootloader or a plain
// app, plaintext), and the other requests follow the route of the last INFO answer. The flow in
// src/flash/flash.ts needs nothing else: it already asks INFO after every reset.
import { CellError } from '../wire/cell-error.ts';
import { ERR_LINK_CLOSED, ERR_RPC_TIMEOUT } from '../wire/errors.ts';
import { FLAG_AUTH, FLAG_ENCRYPTED } from '../wire/header.ts';
import { LINK_OP_SEC_ACCEPT, LINK_OP_SEC_REQUEST } from '../wire/layouts.ts';
import { secOpOf } from '../secure/device.ts';
import type { Link, LinkHandlers } from '../transports/link.ts';
import { SecureLink, type SecureEvent } from '../transports/secure-link.ts';
import type { KeyRing } from '../transports/secure-keys.ts';
import { BootClient } from './client.ts';
import { OP_INFO } from './boot-wire.ts';

/** What the flash flow asks of a boot client (BootClient, or this one for a secured device). */
export interface BootRequester {
  readonly closedWith: CellError | null;
  request(op: number, payload: Uint8Array | null, timeoutMs: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** The sealed client's call ids start here (the plain one's at 1). */
const SEALED_FIRST_CALL_ID = 0x40000000;

/** A frame for the secured route: sealed by the device, or one of the session ops. */
function isSecured(buf: Uint8Array, off: number, len: number): boolean {
  const op = secOpOf(buf, off, len);
  if (op === LINK_OP_SEC_REQUEST || op === LINK_OP_SEC_ACCEPT) return true;
  return len > 2 && (buf[off + 2]! & (FLAG_AUTH | FLAG_ENCRYPTED)) !== 0;
}

/**
 * Two views of one link: frames are handed to the view `route` picks; both send on the link;
 * closing either closes the link (both hear of it).
 */
function splitLink(inner: Link, route: (buf: Uint8Array, off: number, len: number) => 0 | 1): [Link, Link] {
  const handlers: (LinkHandlers | null)[] = [null, null];
  let started = false;
  const startInner = (): void => {
    if (started) return;
    started = true;
    inner.start({
      onFrame: (buf, off, len) => handlers[route(buf, off, len)]?.onFrame(buf, off, len),
      onClose: (err) => { for (const h of handlers) h?.onClose(err); },
      onDrain: () => { for (const h of handlers) h?.onDrain?.(); },
      onBackpressure: () => { for (const h of handlers) h?.onBackpressure?.(); },
    });
  };
  const view = (i: 0 | 1): Link => ({
    get caps() { return inner.caps; },
    get stats() { return inner.stats; },
    get closed() { return inner.closed; },
    start(h: LinkHandlers) {
      if (handlers[i] !== null) throw new Error('link already started');
      handlers[i] = h;
      startInner();
    },
    send: (frame: Uint8Array, len?: number) => inner.send(frame, len),
    close: () => inner.close(),
  });
  return [view(0), view(1)];
}

export class SecureBootClient implements BootRequester {
  /** The device's plaintext side (its bootloader, or an app without a key). */
  private readonly plain: BootClient;
  /** The app's sealed side. */
  private readonly sealed: BootClient;
  readonly secure: SecureLink;
  /** Where requests other than INFO go: the route of the last INFO answer. */
  route: 'plain' | 'sealed' = 'plain';
  private readonly inner: Link;

  constructor(link: Link, keys: KeyRing, onEvent?: (e: SecureEvent) => void) {
    this.inner = link;
    const [plainView, sealedView] = splitLink(link, (buf, off, len) => (isSecured(buf, off, len) ? 1 : 0));
    this.plain = new BootClient(plainView);
    this.secure = new SecureLink(sealedView, { role: 'host', keys, onEvent });
    this.sealed = new BootClient(this.secure, SEALED_FIRST_CALL_ID);
  }

  get closedWith(): CellError | null {
    return this.plain.closedWith ?? this.sealed.closedWith;
  }

  request(op: number, payload: Uint8Array | null, timeoutMs: number): Promise<Uint8Array> {
    if (op === OP_INFO) return this.info(timeoutMs);
    return (this.route === 'sealed' ? this.sealed : this.plain).request(op, payload, timeoutMs);
  }

  /**
   * INFO on both routes (the sealed one as soon as a session is open, within the same deadline);
   * the first answer wins and sets `route`. While the sealed app answers, INFO goes sealed only:
   * each plaintext frame would make the app ask for a new session (REQUEST). When that goes
   * unanswered (the device reset), the next INFO goes both ways again. Rejects with the link's
   * close error, else a device's refusal, else Timeout.
   */
  private info(timeoutMs: number): Promise<Uint8Array> {
    const t0 = performance.now();
    const sealedOnly = this.route === 'sealed' && this.secure.isOpen;
    return new Promise<Uint8Array>((resolve, reject) => {
      let done = false;
      let refusal: unknown = null;
      const finish = (err: unknown, payload?: Uint8Array, route?: 'plain' | 'sealed'): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err === null) { this.route = route!; resolve(payload!); return; }
        if (sealedOnly) this.route = 'plain';
        reject(err);
      };
      const timer = setTimeout(() => finish(refusal ?? new CellError(ERR_RPC_TIMEOUT, `no answer to boot request ${OP_INFO} within ${timeoutMs} ms`, { op: OP_INFO })), timeoutMs);
      const ask = (client: BootClient, route: 'plain' | 'sealed', ms: number): void => {
        client.request(OP_INFO, null, ms).then((p) => finish(null, p, route), (e: unknown) => {
          const code = (e as { code?: number }).code;
          if (client.closedWith !== null || code === ERR_LINK_CLOSED) finish(e);
          else if (code !== ERR_RPC_TIMEOUT) refusal ??= e;
        });
      };
      if (!sealedOnly) ask(this.plain, 'plain', timeoutMs);
      // Only into an open session: before one opens, sealed frames would wait in the link's queue.
      if (this.secure.isOpen) ask(this.sealed, 'sealed', timeoutMs);
      else {
        // open()'s own deadline lies past ours: whatever rejects it within ours is a refusal.
        this.secure.open(timeoutMs + 1000).then(() => {
          const left = timeoutMs - (performance.now() - t0);
          if (!done && left > 20) ask(this.sealed, 'sealed', left);
        }, (e: unknown) => {
          // A key that does not fit (unknown device, an ACCEPT that does not verify): what to
          // report when nothing answers by the deadline.
          refusal ??= e;
        });
      }
    });
  }

  /** Close the link; resolves when the port is released (as BootClient.close). */
  async close(): Promise<void> {
    this.secure.close();
    const io = (this.inner as { io?: { closed?: Promise<void> } }).io;
    if (io?.closed !== undefined) await io.closed;
  }
}
