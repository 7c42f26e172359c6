// Query output: `human` (the stdout exporter's text line, control characters escaped so hostile guest text
// cannot drive the terminal, coloured by severity on a TTY only), `jsonl` (one plain JSON object per record)
// or `otlp` (Collector file-exporter OTLP/JSON lines, readable by `query FILE` and the Collector).
import type { KataLogRecord } from '../model/record.js';
import { encodeLogsJson } from '../otlp/index.js';
import { formatText } from '../exporters/stdout.js';
import { recordTimeNs } from './filter.js';

export type OutputFormat = 'human' | 'jsonl' | 'otlp';

/** C0/C1 controls and DEL as visible escapes (ESC would otherwise start a terminal control sequence). */
export const escapeControls = (s: string): string =>
  s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

const COLOUR: [number, string][] = [
  [17, '\x1b[31m'], // error, fatal: red
  [13, '\x1b[33m'], // warn: yellow
  [9, ''], // info: plain
  [0, '\x1b[2m'], // debug, trace, unknown: dim
];

export function humanLine(r: KataLogRecord, colour: boolean): string {
  const line = escapeControls(formatText(r));
  if (!colour) return line;
  const c = COLOUR.find(([min]) => r.severityNumber >= min)?.[1] ?? '';
  const alert = r.eventName ? '\x1b[1m' : '';
  return c || alert ? `${alert}${c}${line}\x1b[0m` : line;
}

export function jsonRecord(r: KataLogRecord): Record<string, unknown> {
  const ns = recordTimeNs(r);
  const o: Record<string, unknown> = {
    time: new Date(Number(ns / 1_000_000n)).toISOString(),
    timeUnixNano: r.timeUnixNano.toString(),
    observedTimeUnixNano: r.observedTimeUnixNano.toString(),
    severityNumber: r.severityNumber,
    severityText: r.severityText,
    body: r.body,
    attributes: r.attributes,
  };
  if (r.eventName) o.eventName = r.eventName;
  if (r.traceId) o.traceId = r.traceId;
  if (r.spanId) o.spanId = r.spanId;
  return o;
}

/** Writes records in one format; `otlp` groups them into lines of up to `batch` records. */
export class RecordWriter {
  private pending: KataLogRecord[] = [];

  constructor(
    private readonly format: OutputFormat,
    private readonly write: (s: string) => void,
    private readonly colour = false,
    private readonly batch = 1000,
  ) {}

  add(r: KataLogRecord): void {
    if (this.format === 'human') this.write(humanLine(r, this.colour) + '\n');
    else if (this.format === 'jsonl') this.write(JSON.stringify(jsonRecord(r)) + '\n');
    else {
      this.pending.push(r);
      if (this.pending.length >= this.batch) this.flush();
    }
  }

  flush(): void {
    if (this.pending.length) this.write(encodeLogsJson(this.pending) + '\n');
    this.pending = [];
  }
}
