// Go runtime records (logrus): the shim `containerd-shim-kata-v2`, the `kata-runtime` CLI, kata-monitor,
// Kata 1.x kata-proxy, and containerd's own shim-lifecycle lines, in logfmt, logrus JSON or logrus terminal
// format; all arrive here as key/value pairs. Records that carry another component's record are unpacked:
// `reading guest console` (vmconsole=), Kata 1.x kata-proxy `source=agent`, `read firecracker fifo`
// (contents=), and QEMU stderr re-logged by the shim (qemuPid=).
import type { KataLogRecord } from '../model/record.js';
import { severityFromLevel } from '../model/severity.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_FIELD,
  ATTR_KATA_HYPERVISOR_NAME,
  ATTR_KATA_LOG_FORMAT,
  ATTR_KATA_SANDBOX_ID,
  KATA_COMPONENT_VALUE_AGENT,
  KATA_COMPONENT_VALUE_CONTAINERD,
  KATA_COMPONENT_VALUE_HYPERVISOR,
  KATA_COMPONENT_VALUE_MONITOR,
  KATA_COMPONENT_VALUE_RUNTIME,
  KATA_COMPONENT_VALUE_UNKNOWN,
  KATA_COMPONENT_VALUE_VIRTIOFSD,
  KATA_HYPERVISOR_NAME_VALUE_QEMU,
  KATA_LOG_CARRIER_VALUE_FIRECRACKER_FIFO,
  KATA_LOG_CARRIER_VALUE_KATA_PROXY,
  KATA_LOG_CARRIER_VALUE_SHIM_STDERR,
  KATA_LOG_CARRIER_VALUE_VMCONSOLE,
  KATA_LOG_FORMAT_VALUE_LOGFMT,
  KATA_LOG_FORMAT_VALUE_LOGRUS_JSON,
  KATA_LOG_FORMAT_VALUE_QEMU,
} from '../semconv/generated.js';
import { addParseError, adopt, identComponent, newRecord, setCarrier } from './build.js';
import { applyField, jsonValueString, setHypervisorFromSubsystem } from './fields.js';
import { child, type Frame, type ObjectShape, type Shape } from './frame.js';
import { looksLikeLogfmt, tokenizeLogfmt } from './logfmt.js';
import { qemuPrefixEnd } from './qemu.js';
import { parseTimestamp } from './time.js';

/** containerd's own messages about a shim (runtime/v2 shim manager and shim library). */
const CONTAINERD_SHIM_MSGS = new Set([
  'starting signal loop',
  'shim disconnected',
  'cleaning up after shim disconnected',
  'failed to clean up after shim disconnected',
  'cleaning up dead shim',
  'failed to delete dead shim',
  'shim exited',
]);

/**
 * Build the record for one logrus entry given as alternating key/value pairs. `format` is the shape it was
 * read in (logfmt, logrus-json, logrus-terminal); `tokError` a tokenizer complaint to record.
 */
export function goRecord(kv: string[], raw: string, f: Frame, format: string, tokError?: string): KataLogRecord {
  const { outer, ctx } = f;
  let time: string | undefined;
  let level: string | undefined;
  let msg: string | undefined;
  let name: string | undefined;
  let source: string | undefined;
  let subsystem: string | undefined;
  let sandbox: string | undefined;
  let vmconsole: string | undefined;
  let contents: string | undefined;
  let id: string | undefined;
  let path: string | undefined;
  let cid: string | undefined;
  let qemuPid = false;
  let namespace = false;
  // Fields go straight into the record; it is dropped when the entry turns out to carry another record.
  const rec = newRecord(ctx, '', format, KATA_COMPONENT_VALUE_RUNTIME);
  const ra = rec.attributes;
  for (let i = 0; i + 1 < kv.length; i += 2) {
    const k = kv[i] as string;
    const v = kv[i + 1] as string;
    switch (k) {
      case 'time':
        time = v;
        continue;
      case 'ts':
        if (time === undefined) time = v;
        continue;
      case 'level':
        level = v;
        continue;
      case 'msg':
        msg = v;
        continue;
      case 'vmconsole':
        vmconsole = v;
        continue;
      case 'contents':
        contents = v;
        continue;
      case 'id':
        id = v;
        continue;
      case 'path':
        path = v;
        continue;
      case 'cid':
        cid = v;
        continue;
      case 'name':
        name = v;
        break;
      case 'source':
        source = v;
        break;
      case 'subsystem':
        subsystem = v;
        break;
      case 'sandbox':
        sandbox = v;
        break;
      case 'qemuPid':
        qemuPid = true;
        break;
      case 'namespace':
        namespace = true;
        break;
    }
    applyField(ra, k, v);
  }

  let timeNs = 0n;
  let timeError: string | undefined;
  if (time !== undefined) {
    const t = parseTimestamp(time);
    if (t === undefined) timeError = `invalid time "${time}"`;
    else timeNs = t;
  }
  const severityNumber = level === undefined ? 0 : severityFromLevel(level);
  const severityText = level ?? '';

  // Records that carry another component's record: the payload is dispatched in the carrier's shape set, and
  // keeps the sandbox (and container) this record names.
  if (msg !== undefined) {
    const identity = {
      sandbox,
      container: typeof ra[ATTR_CONTAINER_ID] === 'string' ? ra[ATTR_CONTAINER_ID] : undefined,
    };
    let inner: KataLogRecord | undefined;
    if (vmconsole !== undefined && msg === 'reading guest console') {
      inner = f.next(vmconsole.trimEnd(), 0, child(f, 'console', KATA_LOG_CARRIER_VALUE_VMCONSOLE, identity));
    } else if (source === 'agent' && (name === 'kata-proxy' || name === 'kata-shim')) {
      inner = f.next(msg.trimEnd(), 0, child(f, 'console', KATA_LOG_CARRIER_VALUE_KATA_PROXY, identity));
    } else if (contents !== undefined && msg === 'read firecracker fifo') {
      inner = f.next(contents.trimEnd(), 0, child(f, 'firecracker', KATA_LOG_CARRIER_VALUE_FIRECRACKER_FIFO, identity));
    }
    if (inner !== undefined) {
      // The shim's own level (always debug for console lines) says nothing about the inner record, so it is not a
      // fallback; its time is.
      adopt(inner, timeNs);
      return inner;
    }
  }

  rec.body = msg ?? raw;
  rec.timeUnixNano = timeNs;
  rec.severityNumber = severityNumber;
  rec.severityText = severityText;
  if (tokError !== undefined) addParseError(rec, tokError);
  if (timeError !== undefined) addParseError(rec, timeError);
  if (vmconsole !== undefined) ra[ATTR_KATA_FIELD('vmconsole')] = vmconsole;
  if (contents !== undefined) ra[ATTR_KATA_FIELD('contents')] = contents;
  setHypervisorFromSubsystem(ra, subsystem);
  // clh.go logs the hybrid-vsock CID as `cid`; everywhere else `cid` is a container id.
  if (cid !== undefined) {
    if (subsystem === 'cloudHypervisor') ra[ATTR_KATA_FIELD('cid')] = cid;
    else ra[ATTR_CONTAINER_ID] = cid;
  }

  let component: string;
  if (qemuPid || (msg !== undefined && qemuPrefixEnd(msg) > 0)) {
    // QEMU's own stderr, re-logged by the shim at error/warning (virtcontainers/qemu.go LogAndWait).
    component = KATA_COMPONENT_VALUE_HYPERVISOR;
    ra[ATTR_KATA_LOG_FORMAT] = KATA_LOG_FORMAT_VALUE_QEMU;
    ra[ATTR_KATA_HYPERVISOR_NAME] = KATA_HYPERVISOR_NAME_VALUE_QEMU;
    setCarrier(rec, KATA_LOG_CARRIER_VALUE_SHIM_STDERR);
  } else if (source === 'virtiofsd') {
    component = KATA_COMPONENT_VALUE_VIRTIOFSD; // the shim re-logging virtiofsd's output, whatever the subsystem
  } else if (source === 'kata-monitor') {
    component = KATA_COMPONENT_VALUE_MONITOR;
  } else if (source === 'agent' || name === 'kata-agent') {
    component = KATA_COMPONENT_VALUE_AGENT; // Kata 1.x Go agent (logfmt)
  } else if (name !== undefined || sandbox !== undefined || source !== undefined || subsystem !== undefined) {
    component = KATA_COMPONENT_VALUE_RUNTIME;
  } else if (
    outer.ident === 'containerd' ||
    (msg !== undefined && CONTAINERD_SHIM_MSGS.has(msg)) ||
    (namespace && (id !== undefined || path !== undefined))
  ) {
    component = KATA_COMPONENT_VALUE_CONTAINERD;
  } else {
    component =
      identComponent(outer.ident) ??
      (outer.ident === undefined ? KATA_COMPONENT_VALUE_RUNTIME : KATA_COMPONENT_VALUE_UNKNOWN);
  }
  ra[ATTR_KATA_COMPONENT] = component;

  if (path !== undefined) ra[ATTR_KATA_FIELD('path')] = path;
  if (component === KATA_COMPONENT_VALUE_CONTAINERD && ra[ATTR_KATA_SANDBOX_ID] === undefined) {
    // containerd names the shim by its id: `id=<sandbox>` or the task bundle `path=…/<namespace>/<sandbox>`.
    if (id !== undefined) ra[ATTR_KATA_SANDBOX_ID] = id;
    else if (path !== undefined) {
      const last = path.slice(path.lastIndexOf('/') + 1);
      if (last !== '') ra[ATTR_KATA_SANDBOX_ID] = last;
    }
  } else if (id !== undefined) {
    ra[ATTR_KATA_FIELD('id')] = id;
  }
  return rec;
}

/** A logrus text record (`time="…" level=… msg=…`, the Go shim's syslog and containerd lines). */
export const LOGFMT: Shape = {
  name: 'logfmt',
  first: (c) => c === 116 || c === 108 || c === 109,
  parse(s, i, f) {
    if (!looksLikeLogfmt(s, i)) return undefined;
    const t = tokenizeLogfmt(s, i);
    return goRecord(t.kv, i === 0 ? s : s.slice(i), f, KATA_LOG_FORMAT_VALUE_LOGFMT, t.error);
  },
};

/** logrus JSON (`kata-runtime --log-format=json`): `msg` and `level` without slog's keys. */
export const LOGRUS_JSON: ObjectShape = {
  name: 'logrus-json',
  parse(o, raw, f) {
    if (o.msg === undefined || o.level === undefined) return undefined;
    const kv: string[] = [];
    for (const k in o) kv.push(k, jsonValueString(o[k]));
    return goRecord(kv, raw, f, KATA_LOG_FORMAT_VALUE_LOGRUS_JSON);
  },
};
