// The cell both benchmark processes share: ping(Msg) -> Msg with a 64-byte payload.
import { struct, array, u8 } from '../../src/codec/index.ts';
import { defineCell, method } from '../../src/rpc/index.ts';

export const PAYLOAD_BYTES = 64;
export const Msg = struct('Msg', { payload: array(u8, PAYLOAD_BYTES) });
export const EchoCell = defineCell({ name: 'bench', methods: { ping: method(Msg, Msg) } });
