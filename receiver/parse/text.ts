// Text without a shape of its own, and the two wrappers that are removed before dispatching again (ANSI colours,
// a byte-order mark). The fallbacks of the shape sets live here: what a line, a console line, or a hypervisor
// stream line is when no shape took it.
import type { KataLogRecord } from '../model/record.js';
import {
  ATTR_KATA_HYPERVISOR_NAME,
  KATA_COMPONENT_VALUE_GUEST_KERNEL,
  KATA_COMPONENT_VALUE_HYPERVISOR,
  KATA_COMPONENT_VALUE_UNKNOWN,
  KATA_HYPERVISOR_NAME_VALUE_CLOUD_HYPERVISOR,
  KATA_HYPERVISOR_NAME_VALUE_FIRECRACKER,
  KATA_HYPERVISOR_NAME_VALUE_QEMU,
  KATA_LOG_CARRIER_VALUE_RUNTIME_RS,
  KATA_LOG_FORMAT_VALUE_QEMU,
  KATA_LOG_FORMAT_VALUE_TEXT,
} from '../semconv/generated.js';
import { addParseError, fileComponent, identComponent, isQemuFile, newRecord } from './build.js';
import { again, child, type Frame, type Shape } from './frame.js';
import { embeddedRecord, fragmentRecord } from './embedded.js';
import { qemuRecord } from './qemu.js';

/** Remove ANSI escape sequences (logrus colours on a TTY, guest programs' colours). */
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

/** A line in colour: the same line without the escapes, dispatched again in the same shape set. */
export const ANSI: Shape = {
  name: 'ansi',
  first: (c) => c === 27,
  parse: (s, i, f) => again(stripAnsi(s.slice(i)), 0, f),
};

export const BOM: Shape = {
  name: 'bom',
  first: (c) => c === 0xfeff,
  parse: (s, i, f) => again(s, i + 1, f),
};

/** A record kata-otel did not understand: the raw text is the body, nothing is lost. */
export function unrecognised(s: string, i: number, f: Frame, why: string): KataLogRecord {
  const component = identComponent(f.outer.ident) ?? fileComponent(f.ctx) ?? KATA_COMPONENT_VALUE_UNKNOWN;
  const rec = newRecord(f.ctx, s.slice(i).trimEnd(), KATA_LOG_FORMAT_VALUE_TEXT, component);
  addParseError(rec, why);
  return rec;
}

/**
 * A line with no structure of its own. Who wrote it is known from the identifier (runtime-rs ≥ 3.20 under `kata`
 * writes plain messages, which may carry another component's line; virtiofsd, containerd), else it is
 * unrecognised. QEMU continuation lines (`Protected boot has failed: 0xa02` after a `qemu-system-…:` line) cannot
 * be tied to QEMU from the line alone: a line is taken as QEMU stderr (error) when its file's name says qemu.
 */
export function plainText(s: string, i: number, f: Frame): KataLogRecord {
  const ident = f.outer.ident;
  const byIdent = identComponent(ident);
  if (ident === 'kata') {
    const nested = f.next.match(s.slice(i).trimEnd(), 0, child(f, 'runtime-rs', KATA_LOG_CARRIER_VALUE_RUNTIME_RS));
    if (nested !== undefined) return nested;
  }
  const found = embeddedRecord(s, i, f) ?? fragmentRecord(s, i, f) ?? cliRecord(s, i, f, byIdent);
  if (found !== undefined) return found;
  if (byIdent !== undefined) {
    if (byIdent === KATA_COMPONENT_VALUE_HYPERVISOR && ident?.startsWith('qemu')) return qemuRecord(s, i, f.ctx);
    return newRecord(f.ctx, s.slice(i).trimEnd(), KATA_LOG_FORMAT_VALUE_TEXT, byIdent);
  }
  if (isQemuFile(f.ctx)) {
    const rec = newRecord(f.ctx, s.slice(i).trimEnd(), KATA_LOG_FORMAT_VALUE_QEMU, KATA_COMPONENT_VALUE_HYPERVISOR);
    rec.attributes[ATTR_KATA_HYPERVISOR_NAME] = KATA_HYPERVISOR_NAME_VALUE_QEMU;
    rec.severityNumber = 17;
    return rec;
  }
  return unrecognised(s, i, f, 'unrecognised line');
}

/** Plain CLI messages (`kata-runtime`, `kata-ctl`, scripts): the level word they start with. */
const CLI_LEVELS: Record<string, number> = { ERROR: 17, Error: 17, FATAL: 21, Fatal: 21, WARNING: 13, Warning: 13 };

function cliRecord(s: string, i: number, f: Frame, byIdent: string | undefined): KataLogRecord | undefined {
  const colon = s.indexOf(': ', i);
  if (colon < 0 || colon - i > 7) return undefined;
  const word = s.slice(i, colon);
  const sev = CLI_LEVELS[word];
  if (sev === undefined) return undefined;
  const component = byIdent ?? fileComponent(f.ctx) ?? KATA_COMPONENT_VALUE_UNKNOWN;
  const rec = newRecord(f.ctx, s.slice(colon + 2).trimEnd(), KATA_LOG_FORMAT_VALUE_TEXT, component);
  rec.severityNumber = sev;
  rec.severityText = word;
  return rec;
}

/** Other guest console output (systemd, guest programs): guest text without a level of its own. */
export function guestText(s: string, _i: number, f: Frame): KataLogRecord {
  const rec = newRecord(f.ctx, s.trimEnd(), KATA_LOG_FORMAT_VALUE_TEXT, KATA_COMPONENT_VALUE_GUEST_KERNEL);
  if (f.outer.severity === undefined) rec.severityNumber = 9;
  return rec;
}

function hypervisorText(s: string, hypervisor: string, f: Frame): KataLogRecord {
  const rec = newRecord(f.ctx, s.trimEnd(), KATA_LOG_FORMAT_VALUE_TEXT, KATA_COMPONENT_VALUE_HYPERVISOR);
  rec.attributes[ATTR_KATA_HYPERVISOR_NAME] = hypervisor;
  return rec;
}

/** A Cloud Hypervisor output line that is not its logger's format. */
export const chText = (s: string, _i: number, f: Frame): KataLogRecord =>
  hypervisorText(s, KATA_HYPERVISOR_NAME_VALUE_CLOUD_HYPERVISOR, f);

/** Firecracker output that is not its logger's format. */
export const fcText = (s: string, _i: number, f: Frame): KataLogRecord =>
  hypervisorText(s, KATA_HYPERVISOR_NAME_VALUE_FIRECRACKER, f);
