// Cloud Hypervisor's logger: `cloud-hypervisor: 19.762449ms: <vcpu0> INFO:vmm/src/vm.rs:392 -- msg`; older
// builds have no `<thread>`; the fallback origin is the log target (`INFO:vmm::vm -- msg`). Levels are Rust `log`
// names (ERROR WARN INFO DEBUG TRACE). The elapsed time since the VMM started is kept as an attribute.
import type { KataLogRecord, ParseContext } from '../model/record.js';
import {
  ATTR_CODE_FILE_PATH,
  ATTR_CODE_LINE_NUMBER,
  ATTR_KATA_FIELD,
  ATTR_KATA_HYPERVISOR_NAME,
  ATTR_KATA_LOG_FORMAT,
  ATTR_THREAD_NAME,
  KATA_COMPONENT_VALUE_HYPERVISOR,
  KATA_HYPERVISOR_NAME_VALUE_CLOUD_HYPERVISOR,
  KATA_LOG_FORMAT_VALUE_CLOUD_HYPERVISOR,
  KATA_LOG_FORMAT_VALUE_TEXT,
} from '../semconv/generated.js';
import { severityFromLevel } from '../model/severity.js';
import { newRecord } from './build.js';
import { toInt } from './fields.js';
import type { Shape } from './frame.js';

const PREFIX = 'cloud-hypervisor: ';
const ATTR_ELAPSED = ATTR_KATA_FIELD('elapsed');
const ATTR_TARGET = ATTR_KATA_FIELD('target');

export function isClhLine(s: string, i = 0): boolean {
  return s.startsWith(PREFIX, i);
}

/** A Cloud Hypervisor record from s[i..] (which starts with `cloud-hypervisor: `). */
export function clhRecord(s: string, i: number, ctx: ParseContext): KataLogRecord {
  const line = s.slice(i).trimEnd();
  const rec = newRecord(ctx, line, KATA_LOG_FORMAT_VALUE_CLOUD_HYPERVISOR, KATA_COMPONENT_VALUE_HYPERVISOR);
  const a = rec.attributes;
  a[ATTR_KATA_HYPERVISOR_NAME] = KATA_HYPERVISOR_NAME_VALUE_CLOUD_HYPERVISOR;
  let j = PREFIX.length;
  const e = line.indexOf(': ', j);
  const sep = line.indexOf(' -- ', j);
  if (e < 0 || sep < 0 || e > sep) {
    a[ATTR_KATA_LOG_FORMAT] = KATA_LOG_FORMAT_VALUE_TEXT;
    rec.body = line.slice(PREFIX.length);
    return rec;
  }
  a[ATTR_ELAPSED] = line.slice(j, e);
  j = e + 2;
  if (line.charCodeAt(j) === 60) {
    // <thread>
    const close = line.indexOf('> ', j);
    if (close > 0 && close < sep) {
      a[ATTR_THREAD_NAME] = line.slice(j + 1, close);
      j = close + 2;
    }
  }
  const colon = line.indexOf(':', j);
  if (colon > 0 && colon < sep) {
    const level = line.slice(j, colon);
    rec.severityText = level;
    rec.severityNumber = severityFromLevel(level);
    const origin = line.slice(colon + 1, sep);
    const lc = origin.lastIndexOf(':');
    const lineNo = lc > 0 ? toInt(origin.slice(lc + 1)) : undefined;
    if (lineNo !== undefined) {
      a[ATTR_CODE_FILE_PATH] = origin.slice(0, lc);
      a[ATTR_CODE_LINE_NUMBER] = lineNo;
    } else if (origin.length > 0) {
      a[ATTR_TARGET] = origin;
    }
  }
  rec.body = line.slice(sep + 4);
  return rec;
}

export const CLH: Shape = {
  weak: true,
  name: 'cloud-hypervisor',
  first: (c) => c === 99,
  parse: (s, i, f) => (isClhLine(s, i) ? clhRecord(s, i, f.ctx) : undefined),
};
