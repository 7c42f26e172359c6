// The shape detector: a cheap first-character / prefix dispatch over one logical entry (no regex, no trial
// parses on the common paths). Carrier prefixes (syslog, journal, PRI) fill `outer` and the dispatch repeats on
// the rest of the line.
import type { KataLogRecord, ParseContext } from '../model/record.js';
import {
  ATTR_KATA_HYPERVISOR_NAME,
  KATA_COMPONENT_VALUE_HYPERVISOR,
  KATA_COMPONENT_VALUE_UNKNOWN,
  KATA_HYPERVISOR_NAME_VALUE_QEMU,
  KATA_LOG_FORMAT_VALUE_LOGFMT,
  KATA_LOG_FORMAT_VALUE_QEMU,
  KATA_LOG_FORMAT_VALUE_TEXT,
} from '../semconv/generated.js';
import { addParseError, fileComponent, identComponent, isQemuFile, newRecord, type Outer } from './build.js';
import { clhRecord, isClhLine } from './clh.js';
import { firecrackerRecord, isFirecrackerLine } from './firecracker.js';
import { goRecord } from './goshim.js';
import { jsonRecord } from './json.js';
import { kernelPrefixEnd, kernelRecord } from './kernel.js';
import { looksLikeLogfmt, tokenizeLogfmt } from './logfmt.js';
import { panicRecord, panicStart } from './panic.js';
import { qemuPrefixEnd, qemuRecord } from './qemu.js';
import { runtimeRsNested } from './runtimers.js';
import { parseBsdPrefix, parseIsoPrefix, parsePriPrefix } from './syslog.js';
import { isTerminalLine, terminalRecord } from './terminal.js';

const MAX_DEPTH = 8;

/** Remove ANSI escape sequences (logrus colours on a TTY). */
export function stripAnsi(s: string): string {
  let out = '';
  let from = 0;
  for (let i = s.indexOf('\x1b'); i >= 0; i = s.indexOf('\x1b', from)) {
    out += s.slice(from, i);
    let j = i + 1;
    if (s.charCodeAt(j) === 91) {
      j++;
      while (j < s.length) {
        const c = s.charCodeAt(j++);
        if (c >= 0x40 && c <= 0x7e) break;
      }
    } else j++;
    from = j;
  }
  return out + s.slice(from);
}

/** The record for s[i..]; `outer` collects what carrier prefixes said. Not finished (see finish()). */
export function parseBody(s: string, i: number, outer: Outer, ctx: ParseContext, depth: number): KataLogRecord {
  const n = s.length;
  while (i < n && (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 9)) i++;
  if (i >= n) return unrecognised(s, i, outer, ctx, 'empty line');
  if (depth > MAX_DEPTH) return unrecognised(s, i, outer, ctx, 'nested too deeply');
  const c = s.charCodeAt(i);
  if (c === 123) return jsonRecord(i === 0 ? s : s.slice(i), outer, ctx, depth);
  if ((c === 116 || c === 108 || c === 109) && looksLikeLogfmt(s, i)) {
    const t = tokenizeLogfmt(s, i);
    return goRecord(t.kv, i === 0 ? s : s.slice(i), outer, ctx, KATA_LOG_FORMAT_VALUE_LOGFMT, depth, t.error);
  }
  if (c === 91) {
    const k = kernelPrefixEnd(s, i);
    if (k > 0) return kernelRecord(s, i, k, outer, ctx);
  } else if (c === 60) {
    const j = parsePriPrefix(s, i, outer);
    if (j >= 0) return parseBody(s, j, outer, ctx, depth + 1);
  } else if (c >= 48 && c <= 57) {
    if (isFirecrackerLine(s, i)) {
      const r = firecrackerRecord(s, i, ctx);
      if (r !== undefined) return r;
    }
    const j = parseIsoPrefix(s, i, outer);
    if (j >= 0) return parseBody(s, j, outer, ctx, depth + 1);
  } else if (c === 27) {
    return parseBody(stripAnsi(s.slice(i)), 0, outer, ctx, depth + 1);
  } else if (c === 0xfeff) {
    return parseBody(s, i + 1, outer, ctx, depth + 1);
  }
  if (isClhLine(s, i)) return clhRecord(s, i, ctx);
  if (qemuPrefixEnd(s, i) > 0) return qemuRecord(s, i, ctx);
  if (c >= 65 && c <= 90 && isTerminalLine(s, i)) return terminalRecord(s, i, outer, ctx, depth);
  const pk = panicStart(s, i);
  if (pk !== undefined) return panicRecord(s, i, pk, outer, ctx);
  if (c > 64) {
    const j = parseBsdPrefix(s, i, outer);
    if (j >= 0) return parseBody(s, j, outer, ctx, depth + 1);
  }
  return plainText(s, i, outer, ctx, depth);
}

/**
 * Text with no structure of its own. Who wrote it is known from the identifier (runtime-rs ≥ 3.20 under `kata`
 * writes plain messages; virtiofsd, containerd), else it is unrecognised. QEMU continuation lines (`Protected
 * boot has failed: 0xa02` after a `qemu-system-…:` line) cannot be tied to QEMU from the line alone: a line is
 * taken as QEMU stderr (error) when its file's name says qemu, the only stateless signal there is.
 */
function plainText(s: string, i: number, outer: Outer, ctx: ParseContext, depth: number): KataLogRecord {
  const byIdent = identComponent(outer.ident);
  if (byIdent !== undefined) {
    if (outer.ident === 'kata' && depth < MAX_DEPTH) {
      const nested = runtimeRsNested(s.slice(i).trimEnd(), undefined, undefined, outer, ctx, depth);
      if (nested !== undefined) return nested;
    }
    if (byIdent === KATA_COMPONENT_VALUE_HYPERVISOR && outer.ident?.startsWith('qemu')) return qemuRecord(s, i, ctx);
    return newRecord(ctx, s.slice(i).trimEnd(), KATA_LOG_FORMAT_VALUE_TEXT, byIdent);
  }
  if (isQemuFile(ctx)) {
    const rec = newRecord(ctx, s.slice(i).trimEnd(), KATA_LOG_FORMAT_VALUE_QEMU, KATA_COMPONENT_VALUE_HYPERVISOR);
    rec.attributes[ATTR_KATA_HYPERVISOR_NAME] = KATA_HYPERVISOR_NAME_VALUE_QEMU;
    rec.severityNumber = 17;
    return rec;
  }
  return unrecognised(s, i, outer, ctx, 'unrecognised line');
}

/** A record kata-otel did not understand: the raw text is the body, nothing is lost. */
export function unrecognised(s: string, i: number, outer: Outer, ctx: ParseContext, why: string): KataLogRecord {
  const component = identComponent(outer.ident) ?? fileComponent(ctx) ?? KATA_COMPONENT_VALUE_UNKNOWN;
  const rec = newRecord(ctx, s.slice(i).trimEnd(), KATA_LOG_FORMAT_VALUE_TEXT, component);
  addParseError(rec, why);
  return rec;
}
