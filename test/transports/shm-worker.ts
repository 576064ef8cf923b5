// The worker of test/transports/shm.test.ts: serves the test Thermo cell on side 1 of the thread
// segment it is given (workerData.buffer), and says 'ready'. Nothing else keeps it alive: the
// link itself has to (like a socket would).
import { parentPort, workerData } from 'node:worker_threads';
import { serve } from '../../src/rpc/index.ts';
import { attachThreadSegment, threadLink } from '../../src/transports/shm/index.ts';
import { Thermo } from '../rpc/fixtures/thermo.ts';
import { thermoImpl } from '../rpc/fixtures/impl.ts';

const { buffer, opts } = workerData as { buffer: SharedArrayBuffer; opts?: { wake?: 'park' | 'poll'; spinUs?: number } };
const link = threadLink(attachThreadSegment(buffer), 1, opts);
serve(Thermo, thermoImpl(), link, { heartbeatMs: 0 });
parentPort!.postMessage('ready');
