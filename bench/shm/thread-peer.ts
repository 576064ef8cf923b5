// The worker thread of bench/shm/shm.bench.ts. Messages from the main thread:
//   {cmd:'serve', sab, opts}: serve Thermo over threadLink(attachThreadSegment(sab), 1, opts);
//     replies {served: true}. The server ends when the main thread closes its side.
//   {cmd:'wait', sab}: answer the raw Atomics.wait ping-pong on sab (spin.ts waitAnswer) until
//     the main thread writes STOP; the worker's event loop is blocked meanwhile. Replies {waited: n}.
import { parentPort } from 'node:worker_threads';
import { serve } from '../../src/rpc/index.ts';
import { attachThreadSegment, threadLink, type ShmLinkOptions } from '../../src/transports/shm/index.ts';
import { Thermo } from '../../test/rpc/fixtures/thermo.ts';
import { thermoImpl } from '../../test/rpc/fixtures/impl.ts';
import { waitAnswer } from './spin.ts';

parentPort!.on('message', (m: { cmd: 'serve' | 'wait'; sab: SharedArrayBuffer; opts?: ShmLinkOptions }) => {
  if (m.cmd === 'serve') {
    serve(Thermo, thermoImpl(), threadLink(attachThreadSegment(m.sab), 1, m.opts), { heartbeatMs: 0 });
    parentPort!.postMessage({ served: true });
  } else if (m.cmd === 'wait') {
    parentPort!.postMessage({ waited: waitAnswer(new Int32Array(m.sab)) });
  }
});
parentPort!.postMessage({ ready: true });
