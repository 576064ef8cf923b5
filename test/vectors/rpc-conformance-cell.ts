// The cell of the RPC conformance vectors (test/vectors/rpc-conformance.json): small enough that
// a device core can serve it by hand, wide enough to reach every RPC frame kind.
//   add({a, b}) → {sum}; a + b over 2^32 - 1 → overflow (1001) with {limit: 0xffffffff}
//   count({n}) stream → {i} for i = 0..n-1, one per credit
import { struct, u8, u32 } from '../../src/codec/index.ts';
import { appError, defineCell, method, stream } from '../../src/rpc/index.ts';

export const AddReq = struct('AddReq', { a: u32, b: u32 });
export const AddRes = struct('AddRes', { sum: u32 });
export const Overflow = struct('Overflow', { limit: u32 });
export const CountReq = struct('CountReq', { n: u8 });
export const CountItem = struct('CountItem', { i: u8 });

export const OVERFLOW_CODE = 1001;

export const ConformDef = defineCell({
  name: 'conform',
  version: '1.0.0',
  methods: {
    add: method(AddReq, AddRes, { errors: { overflow: appError(OVERFLOW_CODE, Overflow) } }),
  },
  streams: {
    count: stream(CountReq, CountItem),
  },
});

/** Largest frame both sides of the vectors accept (header included): announced in HELLO. */
export const CONFORM_MAX_FRAME_BYTES = 512;
