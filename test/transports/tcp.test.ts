// tcp link (length-framed socket): the compliance suite, plus chunk-boundary parsing.
import { tcpPair } from './helpers.ts';
import { complianceSuite } from './compliance.ts';

complianceSuite('tcp', { pair: tcpPair });
