// unix link (length-framed socket): the compliance suite, plus chunk-boundary parsing.
import { unixPair } from './helpers.ts';
import { complianceSuite } from './compliance.ts';

complianceSuite('unix', { pair: unixPair });
