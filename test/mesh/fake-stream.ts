// A stand-in for a libp2p v3 stream (event based: 'message', 'close', 'remoteCloseWrite', 'drain').
import type { MeshStreamLike } from '../../src/mesh/index.ts';

export class FakeStream extends EventTarget implements MeshStreamLike {
  status = 'open';
  writeStatus = 'writable';
  readonly sent: Uint8Array[] = [];

  send(data: Uint8Array): boolean { this.sent.push(data.slice()); return true; }
  async close(): Promise<void> { this.writeStatus = 'closed'; }
  abort(_err: Error): void { this.status = 'aborted'; this.writeStatus = 'closed'; }

  /** Data arrives; `split` hands it as a list of two chunks (like a Uint8ArrayList). */
  deliver(data: Uint8Array, split = false): void {
    const ev = new Event('message') as Event & { data: unknown };
    if (split && data.length > 1) {
      const h = data.length >> 1;
      ev.data = { bufs: [data.subarray(0, h), data.subarray(h)], byteLength: data.length };
    } else ev.data = data;
    this.dispatchEvent(ev);
  }

  remoteEnd(): void { this.dispatchEvent(new Event('remoteCloseWrite')); }

  reset(): void {
    this.status = 'reset';
    const ev = new Event('close') as Event & { error?: Error };
    ev.error = Object.assign(new Error('stream reset'), { name: 'StreamResetError' });
    this.dispatchEvent(ev);
  }
}
