// Spans are queued for an OTLP/JSON exporter (store, stdout otlp-json, http/json) in the form it sends ('j'
// payloads: encoded once, sent as they are); for the others as kata-otel's JSON ('t'). After a protocol change
// between runs a queue holds the other form: both exporters still send every span, identical.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ExporterConfig } from '../../receiver/config/types.js';
import { StdoutExporter } from '../../receiver/exporters/stdout.js';
import type { KataSpan } from '../../receiver/lifecycle/types.js';
import { encodeTracesJson } from '../../receiver/otlp/encode-traces.js';
import { createSignalExporter, formatSpanText, queuePayloadOf, TRACES } from '../../receiver/signals/exporters.js';
import { encodeSpans, splitSignalPayloads } from '../../receiver/signals/payload.js';
import { decodeTracesJson } from '../../receiver/signals/traces-json.js';
import { silentLogger } from '../../receiver/telemetry/log.js';
import { replay } from '../lifecycle/helpers.js';

const spans = replay('vm-died.log', { execs: true }).spans as (KataSpan & { ended?: boolean })[];

function stdoutSignal(format: 'otlp-json' | 'text') {
  const stream = new PassThrough();
  let out = '';
  stream.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const e = { type: 'stdout', name: 'out', format } as ExporterConfig;
  const exp = createSignalExporter(TRACES, e, new StdoutExporter({ format, name: 'out' }, stream), {
    stdout: stream,
    logger: silentLogger,
  });
  return { exp, text: () => out };
}

describe('span payloads', () => {
  it('OTLP/JSON traces read back into the same spans', () => {
    expect(spans.length).toBeGreaterThan(5);
    expect(decodeTracesJson(encodeTracesJson(spans))).toEqual(
      // The machine's own bookkeeping (`ended`) is no part of a span.
      spans.map(({ ended: _, ...s }) => s),
    );
  });

  it('an OTLP/JSON exporter queues the OTLP/JSON it sends, and sends it as it is', async () => {
    const { exp, text } = stdoutSignal('otlp-json');
    const payload = queuePayloadOf(exp, 't')(spans);
    const [p] = splitSignalPayloads(payload);
    expect(p?.kind).toBe('j');
    expect(p?.text).toBe(encodeTracesJson(spans));
    // Two batches queued, one export: one request line each.
    const two = Buffer.concat([payload, queuePayloadOf(exp, 't')(spans.slice(0, 2))]);
    expect(await exp.payload?.export(two, spans.length + 2)).toEqual({ code: 'success' });
    expect(text()).toBe(encodeTracesJson(spans) + '\n' + encodeTracesJson(spans.slice(0, 2)) + '\n');
  });

  it('after a protocol change each exporter sends what the other form queued', async () => {
    const json = stdoutSignal('otlp-json');
    const plain = stdoutSignal('text');
    expect(splitSignalPayloads(queuePayloadOf(plain.exp, 't')(spans))[0]?.kind).toBe('t');
    // kata-otel JSON ('t', an earlier run or another form) then OTLP/JSON ('j'), in one export.
    const mixed = Buffer.concat([encodeSpans(spans.slice(0, 3)), queuePayloadOf(json.exp, 't')(spans.slice(3))]);
    expect(await json.exp.payload?.export(mixed, spans.length)).toEqual({ code: 'success' });
    expect(json.text()).toBe(encodeTracesJson(spans.slice(0, 3)) + '\n' + encodeTracesJson(spans.slice(3)) + '\n');
    expect(await plain.exp.payload?.export(mixed, spans.length)).toEqual({ code: 'success' });
    expect(plain.text()).toBe(spans.map(formatSpanText).join('\n') + '\n');
  });

  it('a damaged payload is a permanent failure, not a crash', async () => {
    const { exp } = stdoutSignal('text');
    const bad = Buffer.from('\x01jnot json');
    expect((await exp.payload?.export(bad, 1))?.code).toBe('permanent');
  });
});
