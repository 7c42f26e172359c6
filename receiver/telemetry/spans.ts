// Optional self-tracing through @opentelemetry/api: spans around kata-otel's own batch work (read, parse, emit,
// queue, export) when a caller passes a TracerProvider. Without one nothing is created, not even no-op spans.
// Span names are listed in docs/library.md; attribute names come from the registry (kata_otel.*).
import { createRequire } from 'node:module';
import type * as OtelApi from '@opentelemetry/api';
import type { Attributes, Context, Span, Tracer, TracerProvider } from '@opentelemetry/api';
import type * as OtelCore from '@opentelemetry/core';
import type { ExportResult } from '../exporters/types.js';
import { SCOPE_NAME, SCOPE_VERSION } from '../otlp/resource.js';
import {
  ATTR_KATA_OTEL_BATCH_ENTRIES,
  ATTR_KATA_OTEL_BATCH_RECORDS,
  ATTR_KATA_OTEL_EXPORT_OUTCOME,
  ATTR_KATA_OTEL_SOURCE_NAME,
} from '../semconv/generated.js';

export const SPAN_BATCH = 'kata-otel.batch';
export const SPAN_PARSE = 'kata-otel.parse';
export const SPAN_EMIT = 'kata-otel.emit';
export const SPAN_QUEUE_APPEND = 'kata-otel.queue.append';
export const SPAN_EXPORT = 'kata-otel.export';

export type SelfTracer = Tracer | undefined;

// @opentelemetry/api and core (CommonJS: the same module instances an `import` gets) are required when the first
// span is made: without a tracer (self-tracing off, the default) the receiver never loads them (issue 20).
const require = createRequire(import.meta.url);
let otelModules: { api: typeof OtelApi; core: typeof OtelCore } | undefined;
const otel = () =>
  (otelModules ??= {
    api: require('@opentelemetry/api') as typeof OtelApi,
    core: require('@opentelemetry/core') as typeof OtelCore,
  });

export const selfTracer = (provider?: TracerProvider): SelfTracer => provider?.getTracer(SCOPE_NAME, SCOPE_VERSION);

/**
 * Runs `fn` inside a span of `tracer` (a child of `parent`, default: the active context), ending it when `fn`
 * settles and marking it an error when `fn` throws. Without a tracer it just runs `fn`.
 */
export async function inSpan<T>(
  tracer: SelfTracer,
  name: string,
  attributes: Attributes,
  fn: (span: Span | undefined, ctx: Context | undefined) => T | Promise<T>,
  parent?: Context,
): Promise<T> {
  if (!tracer) return fn(undefined, undefined);
  const { SpanKind, SpanStatusCode, context, trace } = otel().api;
  const span = tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes }, parent);
  const ctx = trace.setSpan(parent ?? context.active(), span);
  try {
    return await fn(span, ctx);
  } catch (err) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * One source batch as spans: `kata-otel.batch` (source, entries, records) with children `kata-otel.parse` (parse
 * and the stages) and `handOff` (the queue append of the daemon, the emit of the bridge) once `after` settled.
 * Per batch, never per record; without a tracer it is just parse, `after`, hand-off.
 */
export function traceBatch<R>(
  tracer: SelfTracer,
  batch: { source: string; entries: { length: number }; after?: Promise<void> },
  parse: () => R[] | Promise<R[]>,
  handOff: { name: string; run: (records: R[]) => Promise<void> },
): Promise<R[]> {
  const attrs = { [ATTR_KATA_OTEL_SOURCE_NAME]: batch.source, [ATTR_KATA_OTEL_BATCH_ENTRIES]: batch.entries.length };
  return inSpan(tracer, SPAN_BATCH, attrs, async (span, ctx) => {
    const recs = await inSpan(
      tracer,
      SPAN_PARSE,
      attrs,
      async (s) => {
        const out = await parse();
        s?.setAttribute(ATTR_KATA_OTEL_BATCH_RECORDS, out.length);
        return out;
      },
      ctx,
    );
    span?.setAttribute(ATTR_KATA_OTEL_BATCH_RECORDS, recs.length);
    await batch.after;
    await inSpan(tracer, handOff.name, { [ATTR_KATA_OTEL_BATCH_RECORDS]: recs.length }, () => handOff.run(recs), ctx);
    return recs;
  });
}

/**
 * One export attempt as a root `kata-otel.export` span (records, outcome): a root because one export carries the
 * records of several batches. As the SDK's exporters do, the export's own requests are not traced.
 */
export function traceExport(
  tracer: SelfTracer,
  records: number,
  run: () => Promise<ExportResult>,
): Promise<ExportResult> {
  if (!tracer) return run();
  const { api, core } = otel();
  const { ROOT_CONTEXT, SpanStatusCode, context } = api;
  return inSpan(
    tracer,
    SPAN_EXPORT,
    { [ATTR_KATA_OTEL_BATCH_RECORDS]: records },
    async (span) => {
      const res = await context.with(core.suppressTracing(ROOT_CONTEXT), run);
      span?.setAttribute(ATTR_KATA_OTEL_EXPORT_OUTCOME, res.code);
      if (res.code !== 'success') span?.setStatus({ code: SpanStatusCode.ERROR, message: res.error });
      return res;
    },
    ROOT_CONTEXT,
  );
}
