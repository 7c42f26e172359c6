// A text waterfall of a trace (docs/tracing.md's picture, `kata-otel trace`, and the replay tests' expected
// trees): one line per span, children under their parent by start time, offset and duration from the root.
import type { KataSpan } from './types.js';

const STATUS = ['', 'ok', 'ERROR'] as const;
const ms = (ns: bigint): string => (Number(ns / 1000n) / 1000).toFixed(1);

export interface WaterfallOptions {
  /** Width of the bar column; 0 leaves the bars out (tests compare the tree and durations). */
  width?: number;
}

/** Renders every trace in `spans`, roots first; spans whose parent is missing are shown as roots. */
export function renderWaterfall(spans: readonly KataSpan[], opts: WaterfallOptions = {}): string {
  const width = opts.width ?? 40;
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, KataSpan[]>();
  const roots: KataSpan[] = [];
  for (const s of spans) {
    if (s.parentSpanId && ids.has(s.parentSpanId)) {
      const list = children.get(s.parentSpanId) ?? [];
      list.push(s);
      children.set(s.parentSpanId, list);
    } else roots.push(s);
  }
  const byStart = (a: KataSpan, b: KataSpan) =>
    a.startTimeUnixNano < b.startTimeUnixNano ? -1 : a.startTimeUnixNano > b.startTimeUnixNano ? 1 : 0;
  const out: string[] = [];
  for (const root of roots.sort(byStart)) {
    const t0 = root.startTimeUnixNano;
    const total = root.endTimeUnixNano - t0 || 1n;
    const walk = (s: KataSpan, depth: number) => {
      const label = `${'  '.repeat(depth)}${s.name}${s.attributes['container.id'] ? ` ${String(s.attributes['container.id']).slice(0, 12)}` : ''}${s.attributes['kata.exec.id'] ? ` ${String(s.attributes['kata.exec.id'])}` : ''}`;
      const dur = s.endTimeUnixNano - s.startTimeUnixNano;
      let line = `${label.padEnd(44)} +${ms(s.startTimeUnixNano - t0).padStart(9)} ms ${ms(dur).padStart(9)} ms`;
      if (width > 0) {
        const from = Number(((s.startTimeUnixNano - t0) * BigInt(width)) / total);
        const len = Math.max(1, Number((dur * BigInt(width)) / total));
        line += ` |${' '.repeat(from)}${'█'.repeat(Math.min(len, width - from))}${' '.repeat(Math.max(0, width - from - len))}|`;
      }
      const status = STATUS[s.status.code] ?? '';
      const flags = [
        status === 'ERROR' ? `ERROR ${String(s.attributes['error.type'] ?? '')}`.trim() : '',
        s.attributes['kata.span.incomplete'] ? 'incomplete' : '',
        s.attributes['process.exit.code'] !== undefined ? `exit=${String(s.attributes['process.exit.code'])}` : '',
        ...s.events.map((e) => `@${e.name}`),
      ].filter(Boolean);
      out.push(`${line}${flags.length ? ' ' + flags.join(' ') : ''}`.trimEnd());
      for (const c of (children.get(s.spanId) ?? []).sort(byStart)) walk(c, depth + 1);
    };
    walk(root, 0);
  }
  return out.join('\n') + '\n';
}
