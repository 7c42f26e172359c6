// What a shape or carrier parser is given: the text's context (carrier prefixes seen so far, the carrier it came
// in, how deep, which shapes may appear here, the identity the carriers established) and the dispatcher to hand a
// payload back to. Carriers never import the dispatcher: they recurse through `f.next`, so the parse modules form
// a DAG with dispatch.ts on top (docs/architecture.md, "How a line is dispatched").
import type { KataLogRecord, ParseContext } from '../model/record.js';
import type { Outer } from './build.js';

/** The shape sets a carrier can ask for; dispatch.ts says which shapes each holds, in which order. */
export type ShapeSetName =
  /** A whole line or journal MESSAGE: every shape, carrier prefixes included. */
  | 'line'
  /** A guest console line (vmconsole=, kata-proxy, runtime-rs `vm console:`, Dragonball dmesg). */
  | 'console'
  /** A runtime-rs message that may be another component's line (`qemu stderr: "…"`, agent JSON, …). */
  | 'runtime-rs'
  /** A Cloud Hypervisor stdout/stderr line re-logged by runtime-rs. */
  | 'cloud-hypervisor'
  /** A Firecracker logger line (FIFO contents, runtime-rs `fc stderr:`). */
  | 'firecracker';

export interface Frame {
  ctx: ParseContext;
  /** What carrier prefixes and wrappers said (host, identifier, pid, time, PRI severity). Shared down the frames. */
  outer: Outer;
  /** How many carriers/prefixes deep this text is (dispatch stops at MAX_DEPTH). */
  depth: number;
  /** The `kata.log.carrier` of the payload this text is (undefined: not carried). */
  carrier?: string;
  shapes: ShapeSetName;
  /**
   * The sandbox/container id established outside this text (the ParseContext, or the carrier record): a record
   * parsed here keeps it whatever the text claims; a different claim is kept as `kata.field.sandbox`/`container`.
   */
  sandbox?: string;
  container?: string;
  /** A carrier record's own sandbox claim that differed from `sandbox` (kept on what it carried). */
  claimed?: string;
  next: Dispatch;
}

export interface Dispatch {
  /** The record for s[i..]: the first shape of `f.shapes` that matches, else the set's fallback. */
  (s: string, i: number, f: Frame): KataLogRecord;
  /** As above, but undefined when no shape matches (for carriers whose own record is the fallback). */
  match(s: string, i: number, f: Frame): KataLogRecord | undefined;
  /** The record for a parsed JSON object (slog, logrus JSON, journald object, collector wrapper). */
  object(o: Record<string, unknown>, raw: string, f: Frame): KataLogRecord;
}

/** A shape: which first characters it can start with, and its parser (undefined: not this shape). */
export interface Shape {
  name: string;
  /** Can a text of this shape start with char code c? Evaluated once per ASCII code into the first-character table. */
  first: (c: number) => boolean;
  parse(s: string, i: number, f: Frame): KataLogRecord | undefined;
  /**
   * The shape takes any text that starts like it (a kernel timestamp, `qemu…: `, `panic: `): in a whole line, a
   * Kata record found later in the text wins over it (the line is a paste or a relay, not the hypervisor's).
   */
  weak?: boolean;
}

/** A kind of JSON object (chosen by its keys). */
export interface ObjectShape {
  name: string;
  parse(o: Record<string, unknown>, raw: string, f: Frame): KataLogRecord | undefined;
}

/**
 * The frame for a payload one level down: `shapes` may appear in it, it came in `carrier` (default: the same),
 * and `identity` is what the carrier record says about sandbox/container (used only when nothing outside said).
 */
export function child(
  f: Frame,
  shapes: ShapeSetName,
  carrier?: string,
  identity?: { sandbox?: string | undefined; container?: string | undefined },
): Frame {
  const sandbox = f.sandbox ?? identity?.sandbox;
  const own = identity?.sandbox;
  return {
    ctx: f.ctx,
    outer: f.outer,
    depth: f.depth + 1,
    carrier: carrier ?? f.carrier,
    shapes,
    sandbox,
    container: f.container ?? identity?.container,
    claimed: own !== undefined && own !== sandbox ? own : f.claimed,
    next: f.next,
  };
}

/** s[j..] in the same frame one level deeper (a prefix or wrapper removed); no new frame on the hot path. */
export function again(s: string, j: number, f: Frame): KataLogRecord {
  f.depth++;
  try {
    return f.next(s, j, f);
  } finally {
    f.depth--;
  }
}

/** Character-class helpers for `first`. */
export const isDigitCode = (c: number): boolean => c >= 48 && c <= 57;
export const oneOf =
  (chars: string) =>
  (c: number): boolean =>
    chars.includes(String.fromCharCode(c));
