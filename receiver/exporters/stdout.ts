// Records on standard output: `otlp-json` (one ExportLogsServiceRequest per line, the Collector file-exporter
// format, for piping into other tools) or `text` (one readable line per record, for people). A write resolves
// only once the stream took the data and, when its buffer is full, after 'drain': a slow reader slows the
// queue down instead of growing memory.
import type { Writable } from 'node:stream';
import type { StdoutExporterConfig } from '../config/types.js';
import type { KataLogRecord } from '../model/record.js';
import { encodeLogsJson } from '../otlp/index.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_KATA_ALERT_RULE_ID,
  ATTR_KATA_ALERT_SEVERITY,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_EXEC_ID,
  ATTR_KATA_LOG_PARSE_ERROR,
  ATTR_KATA_SANDBOX_ID,
  ATTR_KATA_SUBSYSTEM,
} from '../semconv/generated.js';
import type { Exporter, ExportResult } from './types.js';
import type { BuiltExporter, ExporterEnv } from '../components/types.js';

export type StdoutSettings = Pick<StdoutExporterConfig, 'format'> & { name?: string };

/** SeverityNumber ranges of the OTel log data model → their short names. */
const SEVERITY = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
function severityName(r: KataLogRecord): string {
  const n = r.severityNumber;
  if (Number.isInteger(n) && n >= 1 && n <= 24) return SEVERITY[Math.floor((n - 1) / 4)] as string;
  return r.severityText ? r.severityText.toUpperCase() : '-';
}

/** RFC 3339 UTC with nanoseconds, from ns since the epoch (the record's time, else when it was read). */
function timeText(r: KataLogRecord): string {
  const ns = r.timeUnixNano > 0n ? r.timeUnixNano : r.observedTimeUnixNano;
  if (typeof ns !== 'bigint' || ns <= 0n) return '-';
  const sec = ns / 1_000_000_000n;
  const iso = new Date(Number(sec) * 1000).toISOString();
  if (Number.isNaN(Date.parse(iso))) return '-';
  return `${iso.slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

const oneLine = (s: string) => s.replace(/\r/g, '\\r').replace(/\n/g, '\\n').replace(/\t/g, '\\t');
const short = (v: unknown) => (typeof v === 'string' && v ? v.slice(0, 12) : '-');
const shown = (v: unknown) => {
  const s = Array.isArray(v) ? v.join(',') : String(v);
  return /^[^\s"=]*$/.test(s) && s !== '' ? s : JSON.stringify(s);
};

/** Attributes worth a glance on a text line, with their short labels. */
const KEY_ATTRIBUTES: [string, string, (v: unknown) => string][] = [
  [ATTR_KATA_SUBSYSTEM, 'subsystem', shown],
  [ATTR_CONTAINER_ID, 'container', short],
  [ATTR_KATA_EXEC_ID, 'exec', shown],
  [ATTR_KATA_ALERT_RULE_ID, 'rule', shown],
  [ATTR_KATA_ALERT_SEVERITY, 'alert_severity', shown],
  [ATTR_KATA_LOG_PARSE_ERROR, 'parse_error', shown],
];

/** One readable line: time, severity, component, sandbox short id, [event], body, key attributes. */
export function formatText(r: KataLogRecord): string {
  const a = r.attributes ?? {};
  let line = `${timeText(r)} ${severityName(r).padEnd(5)} ${String(a[ATTR_KATA_COMPONENT] ?? '-').padEnd(12)} ${short(a[ATTR_KATA_SANDBOX_ID]).padEnd(12)} `;
  if (r.eventName) line += `[${r.eventName}] `;
  line += oneLine(typeof r.body === 'string' ? r.body : String(r.body));
  for (const [key, label, fmt] of KEY_ATTRIBUTES) {
    const v = a[key];
    if (v !== undefined && v !== '') line += ` ${label}=${oneLine(fmt(v))}`;
  }
  return line;
}

/** Write `chunk`, resolving once the stream took it (and drained, when its buffer was full). */
function writeChunk(stream: Writable, chunk: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    let written = false;
    let drained = true;
    const done = (err?: Error | null) => {
      stream.off('error', done);
      stream.off('close', onClose);
      stream.off('drain', onDrain);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onClose = () => done(new Error('the output stream was closed'));
    const onAbort = () => done(new Error('export aborted'));
    const onDrain = () => {
      drained = true;
      if (written) done();
    };
    stream.on('error', done);
    stream.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    drained = stream.write(chunk, (err) => {
      written = true;
      if (err) done(err);
      else if (drained) done();
    });
    if (!drained) stream.once('drain', onDrain);
  });
}

export class StdoutExporter implements Exporter {
  readonly name: string;

  constructor(
    private readonly settings: StdoutSettings,
    private readonly stream: Writable = process.stdout,
  ) {
    this.name = settings.name ?? 'stdout';
  }

  async export(records: KataLogRecord[], signal?: AbortSignal): Promise<ExportResult> {
    if (records.length === 0) return { code: 'success' };
    const chunk =
      this.settings.format === 'otlp-json' ? encodeLogsJson(records) + '\n' : records.map(formatText).join('\n') + '\n';
    return this.writeText(chunk, signal);
  }

  get format(): StdoutSettings['format'] {
    return this.settings.format;
  }

  /** Writes `chunk` as it is (the signal exporters write spans through this). */
  async writeText(chunk: string, signal?: AbortSignal): Promise<ExportResult> {
    if (this.stream.destroyed || this.stream.writableEnded)
      return { code: 'permanent', error: `${this.name}: the output stream is closed` };
    try {
      await writeChunk(this.stream, chunk, signal);
      return { code: 'success' };
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      // Nobody reads the output any more (EPIPE, closed): retrying cannot help.
      if (e.code === 'EPIPE' || this.stream.destroyed)
        return { code: 'permanent', error: `${this.name}: ${e.message}` };
      return { code: 'retryable', error: `${this.name}: ${e.message}` };
    }
  }

  async shutdown(): Promise<void> {
    // stdout belongs to the process: nothing to close; buffered data is flushed by Node on exit.
  }
}

export function createStdoutExporter(settings: StdoutSettings, stream?: Writable): StdoutExporter {
  return new StdoutExporter(settings, stream);
}

/** The registry's factory (stdout-config.ts). */
export function stdoutExporterFactory(e: StdoutExporterConfig, env: ExporterEnv): BuiltExporter {
  return { exporter: createStdoutExporter({ name: e.name, format: e.format }, env.stdout) };
}
