// Findings as OTel events (EventName kata.config.finding) for the receiver's pipeline: one record each, under
// kata-otel's own resource, so the backend sees which nodes drift from their profile.
import { hostname } from 'node:os';
import { nowUnixNano, type Attributes, type KataLogRecord } from '../model/record.js';
import { SERVICE_NAMESPACE } from '../parse/build.js';
import {
  ATTR_HOST_NAME,
  ATTR_KATA_CONFIG_FILE,
  ATTR_KATA_CONFIG_FINDING_ID,
  ATTR_KATA_CONFIG_FINDING_SEVERITY,
  ATTR_KATA_CONFIG_FIX,
  ATTR_KATA_CONFIG_KEY,
  ATTR_KATA_CONFIG_LINE,
  ATTR_KATA_CONFIG_PROFILE,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_NAMESPACE,
  EVENT_KATA_CONFIG_FINDING,
} from '../semconv/generated.js';
import type { Finding, ProfileName, Severity } from './types.js';

const SEVERITY_NUMBER: Record<Severity, number> = { info: 9, warning: 13, error: 17 };
export const FINDING_SERVICE_NAME = 'kata-otel';

export function findingRecords(findings: readonly Finding[], profile: ProfileName, host = hostname()): KataLogRecord[] {
  const now = nowUnixNano();
  return findings.map((f) => {
    const attributes: Attributes = {
      [ATTR_SERVICE_NAME]: FINDING_SERVICE_NAME,
      [ATTR_SERVICE_NAMESPACE]: SERVICE_NAMESPACE,
      [ATTR_HOST_NAME]: host,
      [ATTR_KATA_CONFIG_FINDING_ID]: f.id,
      [ATTR_KATA_CONFIG_FINDING_SEVERITY]: f.severity,
      [ATTR_KATA_CONFIG_PROFILE]: profile,
      [ATTR_KATA_CONFIG_FIX]: f.fix,
    };
    if (f.file) attributes[ATTR_KATA_CONFIG_FILE] = f.file;
    if (f.line !== undefined) attributes[ATTR_KATA_CONFIG_LINE] = f.line;
    if (f.key) attributes[ATTR_KATA_CONFIG_KEY] = f.key;
    return {
      timeUnixNano: now,
      observedTimeUnixNano: now,
      severityNumber: SEVERITY_NUMBER[f.severity],
      severityText: f.severity,
      body: f.message,
      attributes,
      eventName: EVENT_KATA_CONFIG_FINDING,
    };
  });
}
