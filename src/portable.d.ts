// AssemblyScript's primitive type names, as seen by tsc. The portable core (src/wire, src/framing
// and generated codecs) is compiled both by tsc and by asc; asc has these types built in and
// never reads this file. Every alias is `number` (or `boolean`), so code must be written so that
// it gives the same result under JS number semantics and under wasm integer semantics — see
// docs/portable-subset.md.
declare type i8 = number;
declare type i16 = number;
declare type i32 = number;
declare type u8 = number;
declare type u16 = number;
declare type u32 = number;
declare type isize = number;
declare type usize = number;
declare type f32 = number;
declare type f64 = number;
declare type bool = boolean;
// asc's compile-time constant (0 = optimise for speed): src/framing picks its wasm fast paths
// with `IN_WASM && ASC_SHRINK_LEVEL == 0`, so tsc-compiled code never evaluates it.
declare const ASC_SHRINK_LEVEL: i32;
