// Server process of bench/rpc/rpc.bench.ts: a raw UDS echo, the Cell echo cell over UDS, a
// minimal msgpack-RPC over UDS (as in shared/bench-baseline/rpc-servers.mjs) and grpc-js Echo.
// Prints one JSON line {ready, msgpack, grpc} when listening; exits when stdin ends.
// PEER_SERVERS (comma list of raw, cell, msgpack, grpc) picks some: rpc.bench.ts runs grpc-js in a
// process of its own (see startPeer there for why).
import net from 'node:net';
import { unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { serve } from '../../src/rpc/index.ts';
import { listenUnix } from '../../src/transports/unix.ts';
import type { Infer } from '../../src/codec/index.ts';
import { EchoCell, Msg } from './echo-cell.ts';

const dir = process.argv[2]!;
const req = createRequire(new URL('./thirdparty/package.json', import.meta.url));
const rm = (p: string) => { try { unlinkSync(p); } catch { /* none */ } };
// PEER_SERVERS=cell,raw,...: only these (probes); default all.
const only = process.env.PEER_SERVERS?.split(',');
const want = (name: string): boolean => only === undefined || only.includes(name);

// raw echo
if (want('raw')) {
  rm(`${dir}/raw.sock`);
  const raw = net.createServer((s) => { s.setNoDelay?.(true); s.on('data', (d) => s.write(d)); s.on('error', () => {}); });
  await new Promise<void>((r) => raw.listen(`${dir}/raw.sock`, r));
}

// Cell
if (want('cell')) {
  const l = await listenUnix(`${dir}/cell.sock`);
  serve(EchoCell, { ping: (m: Infer<typeof Msg>) => m }, l, { heartbeatMs: 0 });
}

// msgpack-RPC
let msgpack = false;
if (want('msgpack')) try {
  const { Packr } = req('msgpackr');
  const packr = new Packr({ useRecords: false });
  rm(`${dir}/msgpack.sock`);
  const srv = net.createServer((s) => {
    let acc: Buffer | null = null;
    s.on('data', (d: Buffer) => {
      const buf = acc ? Buffer.concat([acc, d]) : d;
      let off = 0;
      const out: Buffer[] = [];
      while (buf.length - off >= 4) {
        const len = buf.readUInt32LE(off);
        if (buf.length - off - 4 < len) break;
        const m = packr.unpack(buf.subarray(off + 4, off + 4 + len));
        off += 4 + len;
        const resp: Buffer = packr.pack([1, m[1], null, m[3]]);
        const hdr = Buffer.allocUnsafe(4);
        hdr.writeUInt32LE(resp.length, 0);
        out.push(hdr, resp);
      }
      acc = off < buf.length ? buf.subarray(off) : null;
      if (out.length) s.write(Buffer.concat(out));
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(`${dir}/msgpack.sock`, r));
  msgpack = true;
} catch { /* not installed */ }

// grpc-js
let grpc: string | null = null;
if (want('grpc')) try {
  const g = req('@grpc/grpc-js');
  const pl = req('@grpc/proto-loader');
  const def = pl.loadSync(new URL('./echo.proto', import.meta.url).pathname, { keepCase: true });
  const pkg = g.loadPackageDefinition(def);
  const server = new g.Server();
  server.addService(pkg.bench.Echo.service, { Ping: (call: { request: unknown }, cb: (e: null, r: unknown) => void) => cb(null, call.request) });
  rm(`${dir}/grpc.sock`);
  await new Promise<void>((res, rej) => server.bindAsync(`unix:${dir}/grpc.sock`, g.ServerCredentials.createInsecure(), (e: Error | null) => (e ? rej(e) : res())));
  grpc = `unix:${dir}/grpc.sock`;
} catch { /* not installed */ }

process.stdout.write(JSON.stringify({ ready: true, msgpack, grpc }) + '\n');
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
