// Optional self-tracing through @opentelemetry/api: spans around kata-otel's own batch work (read, parse, emit,
// queue, export) when a caller passes a TracerProvider. Without one nothing is created, not even no-op spans.
// Span names are listed in docs/library.md; attribute names come from the registry (kata_otel.*).
import {
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { SCOPE_NAME, SCOPE_VERSION } from '../otlp/resource.js';

export const SPAN_BATCH = 'kata-otel.batch';
export const SPAN_PARSE = 'kata-otel.parse';
export const SPAN_EMIT = 'kata-otel.emit';
export const SPAN_QUEUE_APPEND = 'kata-otel.queue.append';
export const SPAN_EXPORT = 'kata-otel.export';

export type SelfTracer = Tracer | undefined;

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
