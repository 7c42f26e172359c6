// Go panics / goroutine dumps and Rust panics with backtraces, grouped into one entry by LineAssembler and
// turned into one fatal record whose body is the whole text.
import type { KataLogRecord, ParseContext } from '../model/record.js';
import {
  KATA_COMPONENT_VALUE_RUNTIME,
  KATA_COMPONENT_VALUE_UNKNOWN,
  KATA_LOG_FORMAT_VALUE_PANIC,
} from '../semconv/generated.js';
import { fileComponent, identComponent, newRecord, type Outer } from './build.js';
import type { Shape } from './frame.js';

export type PanicKind = 'go' | 'rust';

/** Does a line start a panic: `panic: `, `fatal error: `, `goroutine N [`, `thread '…' panicked at`? */
export function panicStart(s: string, i = 0): PanicKind | undefined {
  const c = s.charCodeAt(i);
  if (c === 112) return s.startsWith('panic: ', i) ? 'go' : undefined;
  if (c === 102) return s.startsWith('fatal error: ', i) ? 'go' : undefined;
  if (c === 103) {
    const d = s.charCodeAt(i + 10);
    return s.startsWith('goroutine ', i) && d >= 48 && d <= 57 ? 'go' : undefined;
  }
  if (c === 116 && s.startsWith("thread '", i)) {
    const q = s.indexOf("' panicked at", i + 8);
    return q > 0 ? 'rust' : undefined;
  }
  return undefined;
}

/**
 * One panic record (severity fatal). The component comes from the carrier (identifier, file) when known; a Go
 * panic is otherwise taken to be the shim's (the only Go process Kata runs), a Rust one stays unknown.
 */
export function panicRecord(s: string, i: number, kind: PanicKind, outer: Outer, ctx: ParseContext): KataLogRecord {
  const component =
    identComponent(outer.ident) ??
    fileComponent(ctx) ??
    (kind === 'go' ? KATA_COMPONENT_VALUE_RUNTIME : KATA_COMPONENT_VALUE_UNKNOWN);
  const rec = newRecord(ctx, s.slice(i).trimEnd(), KATA_LOG_FORMAT_VALUE_PANIC, component);
  rec.severityNumber = 21;
  rec.severityText = s.startsWith('fatal error: ', i) ? 'fatal' : 'panic';
  return rec;
}

export const PANIC: Shape = {
  weak: true,
  name: 'panic',
  first: (c) => c === 112 || c === 102 || c === 103 || c === 116,
  parse(s, i, f) {
    const k = panicStart(s, i);
    return k === undefined ? undefined : panicRecord(s, i, k, f.outer, f.ctx);
  },
};
