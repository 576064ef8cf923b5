// Stream link over a real child process's stdio (COBS + CRC-32C over pipes): the peer is
// test/transports/child-peer.ts, started with `node --import tsx`; peer death = SIGKILL.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { StreamLink } from '../../src/transports/stream.ts';
import { remoteComplianceSuite } from './compliance.ts';

const peerScript = fileURLToPath(new URL('./child-peer.ts', import.meta.url));

remoteComplianceSuite('stream link over a child process\'s stdio', {
  async spawn() {
    const child = spawn(process.execPath, ['--import', 'tsx', peerScript], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise((r) => child.once('exit', r));
    await new Promise<void>((res, rej) => { child.once('spawn', res); child.once('error', rej); });
    const link = new StreamLink({ readable: child.stdout!, writable: child.stdin! }, { reliable: true, mtu: 65536 });
    return { link, kill: (sig = 'SIGKILL') => { child.kill(sig); }, exited };
  },
});
