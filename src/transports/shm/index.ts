// cell/transports/shm — the shared-memory link (docs/shm.md). Threads need nothing more than
// this module; processes need the small addon (native/shm, built by `npm run build:native`),
// which is loaded only here, on first use. The upgrade of a local socket connection to shared
// memory lives above rpc, in cell/shm.
import type { Link } from '../link.ts';
import { LinkDoorbell, ThreadDoorbell } from './doorbell.ts';
import { ShmLink, type ShmLinkOptions } from './link.ts';
import type { ShmSegment } from './segment.ts';

export { ShmLink, type ShmLinkOptions } from './link.ts';
export { LinkDoorbell, ThreadDoorbell, type ShmDoorbell } from './doorbell.ts';
export {
  attachThreadSegment, createProcessSegment, createThreadSegment, DEFAULT_RING_BYTES, openProcessSegment, reclaimStaleSegments,
  unlinkSegment, type SegmentOptions, type ShmSegment,
} from './segment.ts';
export { shmAddonStatus } from './native.ts';
export { ringMaxFrame, segmentBytes } from './layout.ts';

/**
 * A link between two threads over `segment` (made by createThreadSegment on one side and
 * attachThreadSegment on the other; side 0 is the creator). Threads cannot see each other die:
 * call `link.peerGone()` when the worker exits.
 */
export function threadLink(segment: ShmSegment, side: 0 | 1, opts?: ShmLinkOptions): ShmLink {
  return new ShmLink(segment, side, new ThreadDoorbell(new Int32Array(segment.buffer as SharedArrayBuffer), side), opts);
}

/**
 * A link between two processes over a mapped `segment`, woken through `bell` (a link to the same
 * peer, e.g. a Unix socket; started here). The bell closing is the peer's departure.
 */
export function processLink(segment: ShmSegment, side: 0 | 1, bell: Link, opts?: ShmLinkOptions): ShmLink {
  return new ShmLink(segment, side, new LinkDoorbell(bell), opts);
}
