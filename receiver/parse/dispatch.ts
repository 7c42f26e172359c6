// The one dispatcher: which shapes can appear in a text, in which order, inside which carrier. Every shape and
// carrier is registered here as data (SHAPES, SETS, OBJECTS); carriers hand their payload back through the frame's
// `next` (frame.ts), so the recursion, its single depth limit, the carrier label and the identity rule live here
// only. A first-character table per shape set keeps the hot path to one array index and the same cheap predicates
// as before. Adding a shape: one module exporting a Shape, one row in SHAPES, its name in the sets it may appear in.
import type { KataLogRecord, ParseContext } from '../model/record.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_KATA_FIELD,
  ATTR_KATA_LOG_CARRIER,
  ATTR_KATA_LOG_PARSE_ERROR,
  ATTR_KATA_SANDBOX_ID,
} from '../semconv/generated.js';
import type { Outer } from './build.js';
import { CLH } from './clh.js';
import { embeddedRecord } from './embedded.js';
import { FIRECRACKER } from './firecracker.js';
import type { Dispatch, Frame, ObjectShape, Shape, ShapeSetName } from './frame.js';
import { LOGFMT, LOGRUS_JSON } from './goshim.js';
import { GUEST_BRACKET, GUEST_TRACING, SYSTEMD } from './guest.js';
import { JOURNAL_OBJECT, journalRecord } from './journal.js';
import { JSON_TEXT, unknownJson, WRAPPER } from './json.js';
import { KERNEL } from './kernel.js';
import { PANIC } from './panic.js';
import { QEMU } from './qemu.js';
import { RTRS_FC_STDERR, RTRS_QEMU_STDERR, RTRS_VM_CONSOLE } from './runtimers.js';
import { SLOG } from './slog.js';
import { BSD_PREFIX, ISO_PREFIX, PRI_PREFIX } from './syslog.js';
import { TERMINAL } from './terminal.js';
import { ANSI, BOM, chText, fcText, guestText, plainText, stripAnsi, unrecognised } from './text.js';

/** How many carriers and prefixes deep a text may be nested (a guest can nest re-logged records at will). */
export const MAX_DEPTH = 8;

/** Every text shape, in the order they are tried (only shapes that can start with the line's character are). */
const SHAPES: Shape[] = [
  JSON_TEXT, // {
  LOGFMT, // time= ts= level= msg=
  KERNEL, // [  0.123]
  PRI_PREFIX, // <6>  (carrier prefix)
  FIRECRACKER, // 2023-10-13T14:15:55.4 [
  ISO_PREFIX, // 2025-11-20T16:25:32+0000 host ident[pid]:  (carrier prefix)
  ANSI, // ESC (colours stripped, then dispatched again)
  BOM, // U+FEFF
  CLH, // cloud-hypervisor:
  QEMU, // qemu-system-…: or /…/qemu…:
  TERMINAL, // INFO[0000]
  PANIC, // panic: fatal error: goroutine N  thread '…' panicked
  BSD_PREFIX, // May 17 19:43:30 host ident[pid]:  (carrier prefix, localised months)
  GUEST_BRACKET, // [2026-01-12T08:31:02Z INFO  target] (guest console only)
  SYSTEMD, // [  OK  ] Started …
  GUEST_TRACING, // 2026-01-12T08:31:02.1Z  INFO target: …
  RTRS_QEMU_STDERR, // qemu stderr: "…"  (runtime-rs messages only)
  RTRS_VM_CONSOLE, // vm console: "…"
  RTRS_FC_STDERR, // fc stderr: "…"
];

/** Shapes only a carrier's payload holds (guest console, runtime-rs messages), never a line of its own. */
const PAYLOAD_ONLY = [GUEST_BRACKET, SYSTEMD, GUEST_TRACING, RTRS_QEMU_STDERR, RTRS_VM_CONSOLE, RTRS_FC_STDERR];

type Fallback = (s: string, i: number, f: Frame) => KataLogRecord;

/** Which shapes each carrier's payload may hold, and what a payload that matches none of them is. */
const SETS: Record<ShapeSetName, { shapes: string[]; fallback?: Fallback }> = {
  line: {
    shapes: SHAPES.filter((s) => !PAYLOAD_ONLY.includes(s)).map((s) => s.name),
    fallback: plainText,
  },
  console: {
    shapes: [JSON_TEXT, LOGFMT, KERNEL, FIRECRACKER, CLH, QEMU, GUEST_BRACKET, SYSTEMD, GUEST_TRACING].map(
      (s) => s.name,
    ),
    fallback: guestText,
  },
  'runtime-rs': { shapes: [JSON_TEXT, RTRS_QEMU_STDERR, RTRS_VM_CONSOLE, RTRS_FC_STDERR].map((s) => s.name) },
  'cloud-hypervisor': { shapes: [CLH.name], fallback: chText },
  firecracker: { shapes: [FIRECRACKER.name], fallback: fcText },
};

/** JSON objects, by their keys, in order; an object none of them takes is kept raw. */
const OBJECTS: ObjectShape[] = [JOURNAL_OBJECT, SLOG, LOGRUS_JSON, WRAPPER];

interface Table {
  /** Shapes to try for each ASCII first character, in SHAPES order. */
  ascii: Shape[][];
  /** The set's shapes, for other first characters (their `first` is tested on the spot). */
  all: Shape[];
  fallback?: Fallback;
}

function table(name: ShapeSetName): Table {
  const set = SETS[name];
  const all = SHAPES.filter((s) => set.shapes.includes(s.name));
  const ascii = Array.from({ length: 128 }, (_, c) => all.filter((s) => s.first(c)));
  return set.fallback === undefined ? { ascii, all } : { ascii, all, fallback: set.fallback };
}

// An object literal (not built from entries) so V8 gives it fast properties: it is read on every dispatch.
const TABLES: Record<ShapeSetName, Table> = {
  line: table('line'),
  console: table('console'),
  'runtime-rs': table('runtime-rs'),
  'cloud-hypervisor': table('cloud-hypervisor'),
  firecracker: table('firecracker'),
};

/**
 * The identity rule: text parsed inside a frame whose sandbox/container was established outside it (the
 * ParseContext, or the carrier record that re-logged it) never changes that identity; a different claim is kept
 * as `kata.field.sandbox` / `kata.field.container`, as written. The carrier label is the outermost carrier's.
 */
const FIELD_SANDBOX = ATTR_KATA_FIELD('sandbox');
const FIELD_CONTAINER = ATTR_KATA_FIELD('container');
function settle(rec: KataLogRecord, f: Frame): KataLogRecord {
  const a = rec.attributes;
  if (f.carrier !== undefined) a[ATTR_KATA_LOG_CARRIER] = f.carrier;
  if (f.sandbox !== undefined) {
    const claimed = a[ATTR_KATA_SANDBOX_ID];
    if (claimed !== undefined && claimed !== f.sandbox && a[FIELD_SANDBOX] === undefined) a[FIELD_SANDBOX] = claimed;
    else if (f.claimed !== undefined && a[FIELD_SANDBOX] === undefined) a[FIELD_SANDBOX] = f.claimed;
    a[ATTR_KATA_SANDBOX_ID] = f.sandbox;
  }
  if (f.container !== undefined) {
    const claimed = a[ATTR_CONTAINER_ID];
    if (claimed !== undefined && claimed !== f.container && a[FIELD_CONTAINER] === undefined)
      a[FIELD_CONTAINER] = claimed;
    a[ATTR_CONTAINER_ID] = f.container;
  }
  return rec;
}

/** The shape that produced choose()'s last record (read right after the call; not reentrant beyond that). */
let chosen: Shape | undefined;

function choose(s: string, i: number, f: Frame): KataLogRecord | undefined {
  const t = TABLES[f.shapes];
  const c = s.charCodeAt(i);
  const shapes = c < 128 ? (t.ascii[c] as Shape[]) : t.all;
  for (const shape of shapes) {
    if (c >= 128 && !shape.first(c)) continue;
    const r = shape.parse(s, i, f);
    if (r !== undefined) {
      chosen = shape;
      return r;
    }
  }
  return undefined;
}

/**
 * In a whole line, a record from a shape that takes any text starting like it (or damaged JSON) gives way to a
 * Kata record found later in the line: the line is a paste or a relay (embedded.ts).
 */
function preferEmbedded(r: KataLogRecord, s: string, i: number, f: Frame): KataLogRecord {
  const shape = chosen;
  if (f.shapes !== 'line') return r;
  if (!(shape?.weak === true || (shape === JSON_TEXT && r.attributes[ATTR_KATA_LOG_PARSE_ERROR] !== undefined)))
    return r;
  return embeddedRecord(s, i, f) ?? r;
}

function skipBlanks(s: string, i: number): number {
  while (i < s.length && (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 9)) i++;
  return i;
}

const dispatch = ((s: string, i: number, f: Frame): KataLogRecord => {
  // Guest programs colour anywhere in a console line (`[\x1b[0;32m  OK  \x1b[0m] …`): strip it all first.
  if (f.shapes === 'console' && s.includes('\x1b')) {
    s = stripAnsi(s.slice(i));
    i = 0;
  }
  i = skipBlanks(s, i);
  const fallback = TABLES[f.shapes].fallback;
  if (f.depth > MAX_DEPTH) return settle(unrecognised(s, i, f, 'nested too deeply'), f);
  if (i >= s.length)
    return settle(
      f.shapes === 'line' || fallback === undefined ? unrecognised(s, i, f, 'empty line') : fallback(s, i, f),
      f,
    );
  const r = choose(s, i, f);
  if (r !== undefined) return settle(preferEmbedded(r, s, i, f), f);
  return settle(fallback === undefined ? unrecognised(s, i, f, 'unrecognised line') : fallback(s, i, f), f);
}) as Dispatch;

dispatch.match = (s: string, i: number, f: Frame): KataLogRecord | undefined => {
  i = skipBlanks(s, i);
  if (f.depth > MAX_DEPTH || i >= s.length) return undefined;
  const r = choose(s, i, f);
  return r === undefined ? undefined : settle(r, f);
};

dispatch.object = (o: Record<string, unknown>, raw: string, f: Frame): KataLogRecord => {
  for (const shape of OBJECTS) {
    const r = shape.parse(o, raw, f);
    if (r !== undefined) return settle(r, f);
  }
  return settle(unknownJson(raw, f, 'JSON object without msg, MESSAGE or message'), f);
};

/** The frame a source's text starts in: the context's sandbox id is established (the text cannot change it). */
export function topFrame(ctx: ParseContext, outer: Outer): Frame {
  const sb = ctx.attributes?.[ATTR_KATA_SANDBOX_ID];
  const f: Frame = { ctx, outer, depth: 0, shapes: 'line', next: dispatch };
  if (typeof sb === 'string' && sb !== '') f.sandbox = sb;
  return f;
}

/** The record for one logical entry of text. */
export function dispatchText(s: string, f: Frame): KataLogRecord {
  return dispatch(s, 0, f);
}

/** The record for one journald entry (`journalctl -o json` fields). */
export function dispatchJournal(fields: Record<string, unknown>, f: Frame): KataLogRecord {
  return settle(journalRecord(fields, f), f);
}

/** The shape names of a set, in the order they are tried (docs and tests). */
export function shapesOf(name: ShapeSetName): string[] {
  return TABLES[name].all.map((s) => s.name);
}
