// The README's example, kept here so that tsc checks it (test/readme.test.ts keeps both equal).
import { struct, u8, u32, f32, string } from '../src/codec/index.ts';
import { defineCell, method, appError, serve, connect } from '../src/rpc/index.ts';
import { listenUnix, connectUnix } from '../src/transports/index.ts';

const ReadReq = struct('ReadReq', { channel: u8 });
const Reading = struct('Reading', { channel: u8, celsius: f32, seq: u32 });
const Fault = struct('Fault', { reason: string(32) });
const Thermo = defineCell({ name: 'thermo', methods: {
  read: method(ReadReq, Reading, { errors: { sensorFault: appError(1001, Fault) } }) } });

serve(Thermo, { read: (req, ctx) => req.channel > 3 ? ctx.fail('sensorFault', { reason: 'no such channel' })
                                                   : { channel: req.channel, celsius: 21.5, seq: 1 } },
      await listenUnix('/tmp/thermo.sock'));
const thermo = await connect(Thermo, await connectUnix('/tmp/thermo.sock'));
console.log(await thermo.read({ channel: 2 }));   // typed: { channel: number; celsius: number; seq: number }
thermo.read.send({ channel: 3 }, (err, r) => { if (err === null) console.log(r.celsius); });  // pipelined: no Promise, no allocation
