// A peer process for the child-process compliance spec (test/transports/child.test.ts): serves
// the test Thermo cell over its own stdin/stdout with the stream link (COBS + CRC-32C), the way a
// cell behind a UART or a subprocess is reached. Writes nothing else to stdout. Exits when the
// connection closes. Run: node --import tsx test/transports/child-peer.ts
import { serve } from '../../src/rpc/index.ts';
import { StreamLink } from '../../src/transports/stream.ts';
import { Thermo } from '../rpc/fixtures/thermo.ts';
import { thermoImpl } from '../rpc/fixtures/impl.ts';

const link = new StreamLink({ readable: process.stdin, writable: process.stdout }, { reliable: true, mtu: 65536 });
const server = serve(Thermo, thermoImpl(), link, { heartbeatMs: 0 });
for (const c of server.connections) void c.closed.then(() => process.exit(0));
