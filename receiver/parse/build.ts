// Shared record construction: every shape module fills a record through these helpers so resource attributes,
// carrier data (syslog prefix, journald fields), context attributes and fallbacks are applied in one place.
import type { Attributes, KataLogRecord, ParseContext } from '../model/record.js';
import {
  ATTR_HOST_NAME,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_JOURNAL_CURSOR,
  ATTR_KATA_JOURNAL_IDENTIFIER,
  ATTR_KATA_JOURNAL_UNIT,
  ATTR_KATA_LOG_CARRIER,
  ATTR_KATA_LOG_FORMAT,
  ATTR_KATA_LOG_PARSE_ERROR,
  ATTR_LOG_IOSTREAM,
  ATTR_LOG_RECORD_ORIGINAL,
  ATTR_LOG_RECORD_UID,
  ATTR_PROCESS_PID,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_NAMESPACE,
  KATA_COMPONENT_VALUE_AGENT,
  KATA_COMPONENT_VALUE_CONTAINERD,
  KATA_COMPONENT_VALUE_GUEST_KERNEL,
  KATA_COMPONENT_VALUE_HYPERVISOR,
  KATA_COMPONENT_VALUE_MONITOR,
  KATA_COMPONENT_VALUE_RUNTIME,
  KATA_COMPONENT_VALUE_UNKNOWN,
  KATA_COMPONENT_VALUE_VIRTIOFSD,
  ATTR_LOG_FILE_NAME,
  ATTR_LOG_FILE_PATH,
} from '../semconv/generated.js';
import { syslogTime } from './time.js';

/**
 * A journal entry's `log.record.uid`: its cursor's sequence-number id and sequence number (`s=…;i=…`), which
 * identify the entry in the journal; a re-read (after a crash) gives the same uid, so a backend can drop it.
 */
export function journalUid(cursor: string): string {
  const s = cursorField(cursor, 's=');
  const i = cursorField(cursor, 'i=');
  return s !== undefined && i !== undefined ? `${s}-${i}` : cursor;
}

/** The first `name=<lower-case hex>` of a cursor at its start or after a `;` (what `/(?:^|;)s=([0-9a-f]+)/`
 *  finds), without a regex match per record. */
function cursorField(cursor: string, name: string): string | undefined {
  for (let at = cursor.indexOf(name); at >= 0; at = cursor.indexOf(name, at + 1)) {
    if (at > 0 && cursor.charCodeAt(at - 1) !== 59) continue; // ';'
    const from = at + name.length;
    let end = from;
    for (; end < cursor.length; end++) {
      const c = cursor.charCodeAt(end);
      if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) break;
    }
    if (end > from) return cursor.slice(from, end);
  }
  return undefined;
}

export const SERVICE_NAMESPACE = 'kata-containers';

/** `service.name` = `kata-<component>`, built once per component rather than per record. */
const SERVICE_NAMES: Record<string, string> = {};
for (const c of [
  KATA_COMPONENT_VALUE_RUNTIME,
  KATA_COMPONENT_VALUE_AGENT,
  KATA_COMPONENT_VALUE_HYPERVISOR,
  KATA_COMPONENT_VALUE_GUEST_KERNEL,
  KATA_COMPONENT_VALUE_VIRTIOFSD,
  KATA_COMPONENT_VALUE_MONITOR,
  KATA_COMPONENT_VALUE_CONTAINERD,
  KATA_COMPONENT_VALUE_UNKNOWN,
])
  SERVICE_NAMES[c] = 'kata-' + c;

/**
 * What the carrier of a line said about it: a syslog/journal prefix, a PRI, journald fields, a JSON wrapper.
 * Lower priority than what the record itself says.
 */
export interface Outer {
  host?: string;
  ident?: string;
  /** The pid of the prefix / journald entry (`ident[pid]`, `_PID`). */
  pid?: number;
  /** The carrier's time (prefix, journald); 0n when none. */
  timeNs: bigint;
  /**
   * A syslog short prefix's date (month 0-11, day, h, m, s, fraction ns), turned into a time only when the record
   * has none of its own (its year is a guess): most lines carry their own time, and the conversion is not free.
   */
  syslogDate?: number[];
  /** Severity from a PRI / journald PRIORITY when the record has no level of its own. */
  severity?: number;
  severityText?: string;
  unit?: string;
  cursor?: string;
  iostream?: string;
}

/** A new record with the shape's format and component; attributes are filled by the caller. */
export function newRecord(ctx: ParseContext, body: string, format: string, component: string): KataLogRecord {
  const attributes: Attributes = {};
  attributes[ATTR_KATA_COMPONENT] = component;
  attributes[ATTR_KATA_LOG_FORMAT] = format;
  return {
    timeUnixNano: 0n,
    observedTimeUnixNano: ctx.observedTimeUnixNano,
    severityNumber: 0,
    severityText: '',
    body,
    attributes,
  };
}

export function addParseError(rec: KataLogRecord, why: string): void {
  const prev = rec.attributes[ATTR_KATA_LOG_PARSE_ERROR];
  rec.attributes[ATTR_KATA_LOG_PARSE_ERROR] = prev === undefined ? why : `${String(prev)}; ${why}`;
}

export function setCarrier(rec: KataLogRecord, carrier: string): void {
  rec.attributes[ATTR_KATA_LOG_CARRIER] = carrier;
}

/** Identifier → component of its lines, for text the line itself does not identify. */
export function identComponent(ident: string | undefined): string | undefined {
  if (ident === undefined) return undefined;
  switch (ident) {
    case 'kata':
    case 'kata-runtime':
    case 'containerd-shim-kata-v2':
    case 'kata-shim':
    case 'kata-proxy':
      return KATA_COMPONENT_VALUE_RUNTIME;
    case 'containerd':
      return KATA_COMPONENT_VALUE_CONTAINERD;
    case 'virtiofsd':
    case 'nydusd':
      return KATA_COMPONENT_VALUE_VIRTIOFSD;
    case 'kata-monitor':
      return KATA_COMPONENT_VALUE_MONITOR;
    case 'kata-agent':
      return KATA_COMPONENT_VALUE_AGENT;
    case 'cloud-hypervisor':
    case 'firecracker':
    case 'kata-hypervisor':
      return KATA_COMPONENT_VALUE_HYPERVISOR;
  }
  return ident.startsWith('qemu') ? KATA_COMPONENT_VALUE_HYPERVISOR : undefined;
}

/** A guess from the name of the file a line was read from (only used for lines nothing else identifies). */
export function fileComponent(ctx: ParseContext): string | undefined {
  const a = ctx.attributes;
  if (a === undefined) return undefined;
  const p = a[ATTR_LOG_FILE_NAME] ?? a[ATTR_LOG_FILE_PATH];
  if (typeof p !== 'string') return undefined;
  const name = p.slice(p.lastIndexOf('/') + 1).toLowerCase();
  if (
    name.includes('qemu') ||
    name.includes('clh') ||
    name.includes('cloud-hypervisor') ||
    name.includes('firecracker')
  )
    return KATA_COMPONENT_VALUE_HYPERVISOR;
  if (name.includes('console') || name.includes('dmesg')) return KATA_COMPONENT_VALUE_GUEST_KERNEL;
  if (name.includes('agent')) return KATA_COMPONENT_VALUE_AGENT;
  if (name.includes('virtiofsd')) return KATA_COMPONENT_VALUE_VIRTIOFSD;
  if (name.includes('monitor')) return KATA_COMPONENT_VALUE_MONITOR;
  if (name.includes('containerd') && !name.includes('shim')) return KATA_COMPONENT_VALUE_CONTAINERD;
  if (name.includes('kata') || name.includes('runtime') || name.includes('shim')) return KATA_COMPONENT_VALUE_RUNTIME;
  return undefined;
}

export function isQemuFile(ctx: ParseContext): boolean {
  const a = ctx.attributes;
  if (a === undefined) return false;
  const p = a[ATTR_LOG_FILE_NAME] ?? a[ATTR_LOG_FILE_PATH];
  return (
    typeof p === 'string' &&
    p
      .slice(p.lastIndexOf('/') + 1)
      .toLowerCase()
      .includes('qemu')
  );
}

/**
 * Complete a record: carrier fallbacks (time, severity, host, identifier, pid), resource attributes, context
 * attributes (lower priority than the line, except `log.file.*`), `log.record.original`.
 * containerd relays the shim's lines (`containerd[pid]: … pid=<shim pid>`): its prefix/journal pid is containerd's,
 * not the writer's, so it only becomes `process.pid` on containerd's own lines.
 */
export function finish(rec: KataLogRecord, outer: Outer, ctx: ParseContext, raw: string): KataLogRecord {
  const a = rec.attributes;
  const component = (a[ATTR_KATA_COMPONENT] as string | undefined) ?? KATA_COMPONENT_VALUE_UNKNOWN;
  const relayed = outer.ident === 'containerd' && component !== KATA_COMPONENT_VALUE_CONTAINERD;
  if (rec.timeUnixNano === 0n) {
    const d = outer.syslogDate;
    rec.timeUnixNano =
      outer.timeNs !== 0n || d === undefined
        ? outer.timeNs
        : syslogTime(d[0] ?? 0, d[1] ?? 1, d[2] ?? 0, d[3] ?? 0, d[4] ?? 0, d[5] ?? 0, ctx.observedTimeUnixNano);
  }
  if (rec.severityNumber === 0 && rec.severityText === '' && outer.severity !== undefined) {
    rec.severityNumber = outer.severity;
    rec.severityText = outer.severityText ?? '';
  }
  if (outer.host !== undefined && a[ATTR_HOST_NAME] === undefined) a[ATTR_HOST_NAME] = outer.host;
  if (outer.ident !== undefined) a[ATTR_KATA_JOURNAL_IDENTIFIER] = outer.ident;
  if (outer.unit !== undefined) a[ATTR_KATA_JOURNAL_UNIT] = outer.unit;
  if (outer.cursor !== undefined) {
    a[ATTR_KATA_JOURNAL_CURSOR] = outer.cursor;
    a[ATTR_LOG_RECORD_UID] = journalUid(outer.cursor);
  }
  if (outer.iostream !== undefined && a[ATTR_LOG_IOSTREAM] === undefined) a[ATTR_LOG_IOSTREAM] = outer.iostream;
  if (outer.pid !== undefined && !relayed && a[ATTR_PROCESS_PID] === undefined) a[ATTR_PROCESS_PID] = outer.pid;
  a[ATTR_SERVICE_NAME] = SERVICE_NAMES[component] ?? 'kata-' + component;
  a[ATTR_SERVICE_NAMESPACE] = SERVICE_NAMESPACE;
  const ca = ctx.attributes;
  if (ca !== undefined) {
    for (const k in ca) {
      if (a[k] === undefined || k.startsWith('log.file.')) a[k] = ca[k] as Attributes[string];
    }
  }
  if (ctx.keepOriginal) a[ATTR_LOG_RECORD_ORIGINAL] = raw;
  return rec;
}

/**
 * A carried record inherits what its carrier record knew when it has none of its own: the carrier's time, and
 * (when given) the carrier's level. Identity is not handled here: the frame's sandbox/container win (dispatch.ts).
 */
export function adopt(rec: KataLogRecord, timeNs: bigint, severity?: number, severityText?: string): void {
  if (rec.timeUnixNano === 0n) rec.timeUnixNano = timeNs;
  if (severity !== undefined && rec.severityNumber === 0 && rec.severityText === '') {
    rec.severityNumber = severity;
    rec.severityText = severityText ?? '';
  }
}
