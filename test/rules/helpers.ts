// Shared helpers for the rules tests: hand-built records (the rule engine only needs KataLogRecords) and
// a tiny rule-file loader around loadRules.
import type { Attributes, KataLogRecord } from '../../receiver/model/record.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_HOST_NAME,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_SANDBOX_ID,
  ATTR_LOG_RECORD_UID,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_NAMESPACE,
} from '../../receiver/semconv/generated.js';
import { loadRules } from '../../receiver/rules/load.js';
import type { RuleSet } from '../../receiver/rules/types.js';

export const SEC = 1_000_000_000n;
/** A fixed epoch for tests: 2025-11-20T16:00:00Z. */
export const T0 = 1_763_654_400n * SEC;

let uid = 0;
export function rec(
  body: string,
  attrs: Attributes = {},
  opts: { t?: bigint; severity?: number; uid?: boolean } = {},
): KataLogRecord {
  const attributes: Attributes = {
    [ATTR_SERVICE_NAME]: 'kata-agent',
    [ATTR_SERVICE_NAMESPACE]: 'kata-containers',
    [ATTR_KATA_COMPONENT]: 'agent',
    [ATTR_KATA_SANDBOX_ID]: 'sb1',
    [ATTR_HOST_NAME]: 'node1',
    ...attrs,
  };
  if (opts.uid !== false) attributes[ATTR_LOG_RECORD_UID] = `uid-${++uid}`;
  return {
    timeUnixNano: opts.t ?? T0,
    observedTimeUnixNano: T0,
    severityNumber: opts.severity ?? 9,
    severityText: 'INFO',
    body,
    attributes,
  };
}

export const sandbox = (id: string, container?: string): Attributes =>
  container ? { [ATTR_KATA_SANDBOX_ID]: id, [ATTR_CONTAINER_ID]: container } : { [ATTR_KATA_SANDBOX_ID]: id };

export function rules(yaml: string, file = 'test-rules.yaml'): RuleSet {
  return loadRules([{ file, text: yaml }]);
}
