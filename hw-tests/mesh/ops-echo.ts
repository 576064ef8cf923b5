// Ops for the harness's own test (test/mesh-netns/netns.test.ts): plain Node TCP echo servers and
// UDP multicast, so the topology is checked without the mesh — reachability across the bridge,
// through the router and out of the NAT, the NAT's source rewrite, and multicast (what mDNS needs).
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { OpsContext } from './agent.ts';

const servers: Server[] = [];
const udp: UdpSocket[] = [];

export const ops = {
  /** A TCP server that answers each line with "<line> from <peer address>". */
  listen({ port }: { port: number }): Promise<{ port: number }> {
    return new Promise((resolve, reject) => {
      const srv = createServer((s: Socket) => {
        let buf = '';
        s.setEncoding('utf8');
        s.on('data', (d: string) => {
          buf += d;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) { s.write(`${buf.slice(0, nl)} from ${s.remoteAddress}\n`); buf = buf.slice(nl + 1); }
        });
        s.on('error', () => {});
      });
      srv.once('error', reject);
      srv.listen(port, '0.0.0.0', () => { servers.push(srv); resolve({ port }); });
    });
  },
  /** Connect, send one line, return the answer; rejects with the socket error or "timeout". */
  echo({ host, port, text, timeoutMs = 5000 }: { host: string; port: number; text: string; timeoutMs?: number }): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port });
      const timer = setTimeout(() => { s.destroy(); reject(Object.assign(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`), { name: 'Timeout' })); }, timeoutMs);
      let buf = '';
      s.setEncoding('utf8');
      s.on('connect', () => s.write(text + '\n'));
      s.on('data', (d: string) => {
        buf += d;
        const nl = buf.indexOf('\n');
        if (nl >= 0) { clearTimeout(timer); s.end(); resolve(buf.slice(0, nl)); }
      });
      s.on('error', (e) => { clearTimeout(timer); reject(e); });
    });
  },
  /** Join group:port; every datagram received becomes a "mcast" event {text, from}. */
  mcastListen({ group, port }: { group: string; port: number }, ctx: OpsContext): Promise<null> {
    return new Promise((resolve, reject) => {
      const s = createSocket({ type: 'udp4', reuseAddr: true });
      s.on('message', (m, rinfo) => ctx.emit('mcast', { text: m.toString(), from: rinfo.address }));
      s.once('error', reject);
      s.bind(port, () => { s.addMembership(group); udp.push(s); resolve(null); });
    });
  },
  /** Send one datagram to group:port. */
  mcastSend({ group, port, text }: { group: string; port: number; text: string }): Promise<null> {
    return new Promise((resolve, reject) => {
      const s = createSocket({ type: 'udp4', reuseAddr: true });
      s.bind(0, () => {
        s.setMulticastTTL(1);
        s.send(text, port, group, (e) => { s.close(); if (e) reject(e); else resolve(null); });
      });
    });
  },
};

export async function shutdown(): Promise<void> {
  for (const s of servers) s.close();
  for (const s of udp) s.close();
}
