// Node cells the mesh scenarios provide (docs/mesh-tests.md §"Scenarios"). `work` answers with the
// number it was given and the replica that ran it, so a load run can check that every call was
// answered exactly once and see where the answers came from.
import { struct, u16, u32, string } from '../../src/codec/index.ts';
import { defineCell, method } from '../../src/rpc/index.ts';

export const WorkReq = struct('WorkReq', { n: u32, delayMs: u16 });
export const WorkRes = struct('WorkRes', { n: u32, replica: string(16) });

/** A cell with a name chosen per scenario (same schema, so each scenario finds only its own). */
export function workCell(name: string) {
  return defineCell({ name, version: '1.0.0', methods: { work: method(WorkReq, WorkRes) } });
}
