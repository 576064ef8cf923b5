// A cell in another process for the shm tests: serves the test Thermo cell on the Unix socket
// argv[2], taking shared-memory offers (argv[3] === 'refuse': refusing them). Prints "ready".
import { listenUnix } from '../../src/transports/unix.ts';
import { acceptShm } from '../../src/shm/index.ts';
import { serve } from '../../src/rpc/index.ts';
import { Thermo } from '../rpc/fixtures/thermo.ts';
import { thermoImpl } from '../rpc/fixtures/impl.ts';

const listener = await listenUnix(process.argv[2]!);
serve(Thermo, thermoImpl(), acceptShm(listener, process.argv[3] === 'refuse' ? { refuse: 'turned off for the test' } : {}), { heartbeatMs: 200 });
process.stdout.write('ready\n');
