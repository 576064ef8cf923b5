// Stream link (COBS + CRC over any Duplex): compliance over a socket pair.
import { streamPair } from './helpers.ts';
import { complianceSuite } from './compliance.ts';

complianceSuite('stream (COBS over a socket pair)', { pair: streamPair });
