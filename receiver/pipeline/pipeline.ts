// The pipeline: parse every entry of a source batch, run the stages, append the result to every exporter's
// queue, and only then resolve — which is what lets a source commit its checkpoint (receiver/sources/types.ts).
import type { KataLogRecord, ParseContext } from '../model/record.js';
import { parseJournalEntry, parseText } from '../parse/index.js';
import { ATTR_KATA_LOG_PARSE_ERROR, ATTR_LOG_RECORD_UID } from '../semconv/generated.js';
import type { RawEntry, SourceBatch } from '../sources/types.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import { SPAN_QUEUE_APPEND, traceBatch, type SelfTracer } from '../telemetry/spans.js';
import { DEFAULT_PARSE_BUDGET_MS, TurnBudget } from './budget.js';
import { applyProvenance } from './provenance.js';
import type { RecordSink, SpanSink, Stage, StageOutput } from './types.js';

export interface PipelineOptions {
  stages: Stage[];
  sinks: RecordSink[];
  /** Where stages' spans go (lifecycle traces); none: spans are dropped. */
  spanSinks?: SpanSink[];
  keepOriginal?: boolean;
  metrics: Metrics;
  logger: Logger;
  /** Synchronous parse/stage work per turn of the event loop (budget.ts); 0 disables. Default 10 ms. */
  parseBudgetMs?: number;
  /** kata-otel's own spans per batch (`telemetry.traces`); none when undefined. */
  tracer?: SelfTracer;
}

export class Pipeline {
  /** The newest record time seen: a replay (`--once`) ends its stateful rules at this time, not at wall time. */
  latestRecordTime = 0n;

  private readonly budget: TurnBudget;

  constructor(private readonly opts: PipelineOptions) {
    this.budget = new TurnBudget(opts.parseBudgetMs ?? DEFAULT_PARSE_BUDGET_MS);
  }

  /** Parse a source batch into records (no stages, no delivery). */
  parse(batch: SourceBatch): KataLogRecord[] {
    const out: KataLogRecord[] = [];
    let unparsed = 0;
    for (const entry of batch.entries) unparsed += this.parseEntry(batch, entry, out);
    this.countParsed(batch.source, out.length, unparsed);
    return out;
  }

  /** Parse one entry into `out` (with its provenance); returns how many of its records were not understood. */
  private parseEntry(batch: SourceBatch, entry: RawEntry, out: KataLogRecord[]): number {
    // The parsers only read ctx.attributes: an entry's own object is used as it is when the batch has none.
    const ea = entry.attributes;
    const ba = batch.attributes;
    const ctx: ParseContext = {
      observedTimeUnixNano: batch.observedTimeUnixNano,
      attributes: ea ? (ba ? { ...ba, ...ea } : ea) : ba,
      keepOriginal: this.opts.keepOriginal,
    };
    const recs = entry.kind === 'text' ? parseText(entry.text, ctx) : parseJournalEntry(entry.fields, ctx);
    applyProvenance(recs, ctx.attributes);
    // One entry can yield several records (a nested record plus its carrier); keep their uids distinct.
    if (recs.length > 1) {
      recs.forEach((r, i) => {
        const uid = r.attributes[ATTR_LOG_RECORD_UID];
        if (typeof uid === 'string' && i > 0) r.attributes[ATTR_LOG_RECORD_UID] = `${uid}-${i}`;
      });
    }
    let unparsed = 0;
    for (const r of recs) {
      if (entry.eventName) r.eventName = entry.eventName;
      if (r.attributes[ATTR_KATA_LOG_PARSE_ERROR] !== undefined) unparsed++;
      if (r.timeUnixNano > this.latestRecordTime) this.latestRecordTime = r.timeUnixNano;
      out.push(r);
    }
    return unparsed;
  }

  private countParsed(source: string, n: number, unparsed: number): void {
    this.opts.metrics.parsed.labels(source).inc(n);
    if (unparsed) this.opts.metrics.unparsed.labels(source).inc(unparsed);
  }

  /** Run records through every stage from `from` on. */
  transform(records: KataLogRecord[], from = 0): KataLogRecord[] {
    let recs = records;
    for (let i = from; i < this.opts.stages.length; i++) recs = (this.opts.stages[i] as Stage).process(recs);
    return recs;
  }

  /** The source hand-off: resolves when the batch's records are durable in every sink. */
  async process(batch: SourceBatch): Promise<void> {
    // Counted here, once for every source, rather than in each source.
    this.opts.metrics.read.labels(batch.source).inc(batch.entries.length);
    const { tracer } = this.opts;
    if (!tracer) return this.deliver(await this.parseAndTransform(batch), batch.after);
    // `after` goes to the queues as untraced (they encode before waiting for it), so the append span includes the
    // wait for the previous batch.
    const { source, entries } = batch;
    await traceBatch(tracer, { source, entries }, () => this.parseAndTransform(batch), {
      name: SPAN_QUEUE_APPEND,
      run: (recs) => this.deliver(recs, batch.after),
    });
  }

  /**
   * Parse and transform a batch within the parse budget (budget.ts): when the turn's budget is spent, what was
   * parsed so far goes through the stages and the batch waits for its next turn, so other sources, timers and
   * the health endpoints run in between.
   */
  private async parseAndTransform(batch: SourceBatch): Promise<KataLogRecord[]> {
    const budget = this.budget;
    const turn = budget.acquire();
    if (turn) await turn;
    let out: KataLogRecord[] = [];
    let parsed: KataLogRecord[] = [];
    let count = 0;
    let unparsed = 0;
    try {
      for (const entry of batch.entries) {
        unparsed += this.parseEntry(batch, entry, parsed);
        const wait = budget.pace();
        if (!wait) continue;
        count += parsed.length;
        out = out.concat(this.transform(parsed));
        parsed = [];
        await wait;
      }
      count += parsed.length;
      out = out.length ? out.concat(this.transform(parsed)) : this.transform(parsed);
    } finally {
      budget.release();
    }
    this.countParsed(batch.source, count, unparsed);
    return out;
  }

  /** Records a stage produces on its own (absence alerts, held records) go through the stages after it.
   *  `final`: the end of the run; stages also hand over what they still hold. */
  async flush(nowUnixNano: bigint, final = false): Promise<void> {
    const { stages } = this.opts;
    let produced: KataLogRecord[] = [];
    for (let i = 0; i < stages.length; i++) {
      const stage = stages[i] as Stage;
      produced = produced.length ? stage.process(produced) : produced;
      const own = [...(stage.flush?.(nowUnixNano) ?? []), ...((final && stage.close?.()) || [])];
      if (own.length) produced = produced.concat(own);
    }
    await this.deliver(produced);
  }

  private async deliver(records: KataLogRecord[], after?: Promise<void>): Promise<void> {
    // Spans of this batch go with its records; a stage's `durable` runs once both are held (lifecycle state).
    const outs: StageOutput[] = [];
    for (const s of this.opts.stages) if (s.drain) outs.push(s.drain());
    const spans = outs.flatMap((o) => o.spans);
    const spanSinks = spans.length ? (this.opts.spanSinks ?? []) : [];
    if (records.length === 0 && spanSinks.length === 0) await after;
    else
      await Promise.all([
        ...(records.length ? this.opts.sinks.map((s) => s.append(records, after)) : []),
        ...spanSinks.map((s) => s.appendSpans(spans, after)),
      ]);
    for (const o of outs) o.durable?.();
  }
}
