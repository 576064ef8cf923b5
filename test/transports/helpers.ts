// Pairs of real links for the compliance specs.
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Link } from '../../src/transports/link.ts';
import { SocketLink } from '../../src/transports/socket.ts';
import { connectUnix, listenUnix } from '../../src/transports/unix.ts';
import { connectTcp, listenTcp } from '../../src/transports/tcp.ts';
import { StreamLink } from '../../src/transports/stream.ts';
import type { LinkPair } from './compliance.ts';

let n = 0;
export function sockPath(tag: string): string {
  return join(tmpdir(), `cell-test-${process.pid}-${tag}-${n++}.sock`);
}

function accepted(l: { onLink: ((link: Link) => void) | null }): Promise<Link> {
  return new Promise((res) => { l.onLink = res; });
}

export async function unixPair(): Promise<LinkPair> {
  const path = sockPath('unix');
  const l = await listenUnix(path);
  const bP = accepted(l);
  const a = await connectUnix(path);
  const b = (await bP) as SocketLink;
  return { a, b, killB: () => b.destroy(), garbageToA: (bytes) => b.writeRaw(bytes), cleanup: () => l.close() };
}

export async function tcpPair(): Promise<LinkPair> {
  const l = await listenTcp(0);
  const bP = accepted(l);
  const a = await connectTcp(l.port);
  const b = (await bP) as SocketLink;
  return { a, b, killB: () => b.destroy(), garbageToA: (bytes) => b.writeRaw(bytes), cleanup: () => l.close() };
}

/** Two raw connected sockets (a socketpair through a Unix listener). */
export async function rawSocketPair(): Promise<[net.Socket, net.Socket, () => Promise<void>]> {
  const path = sockPath('raw');
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(path, r));
  const bP = new Promise<net.Socket>((r) => server.once('connection', r));
  const a = net.connect(path);
  await new Promise((r) => a.once('connect', r));
  const b = await bP;
  return [a, b, () => new Promise<void>((r) => server.close(() => r()))];
}

export async function streamPair(): Promise<LinkPair> {
  const [sa, sb, close] = await rawSocketPair();
  const a = new StreamLink(sa, { reliable: true, mtu: 65536 });
  const b = new StreamLink(sb, { reliable: true, mtu: 65536 });
  return { a, b, killB: () => { sb.destroy(); }, garbageToA: (bytes) => b.writeRaw(bytes), cleanup: close };
}
