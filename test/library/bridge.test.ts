// The Logs Bridge into a user's own LoggerProvider: every field of every Kata record arrives intact (both
// timestamps at full ns precision, severity number and text, body, attributes, event name, trace context, the Kata
// resource), through the real @opentelemetry/sdk-logs with its in-memory exporter.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ATTR_KATA_ALERT_RULE_ID,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_SANDBOX_ID,
  ATTR_SERVICE_NAME,
  AlertRules,
  EVENT_KATA_ALERT,
  KataLogBridge,
  SCOPE_NAME,
  parseFile,
  parseLine,
  resourceAttributes,
  type KataLogRecord,
  type KataRecordObserver,
} from '../../receiver/api/index.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/logs/', import.meta.url));
const SANDBOX = '0000000000000000000000000000000000000000000000000000000000c0ffee';
const SHIM_LINE = `Nov 20 16:20:02 demo-node kata[41001]: time="2025-11-20T16:20:02.481026977Z" level=info msg="VM started" name=containerd-shim-v2 pid=41001 sandbox=${SANDBOX} source=virtcontainers subsystem=sandbox`;
const DEV_MODE_LINE =
  '{"msg":"announce","level":"INFO","ts":"2021-07-14T14:56:42.558066805+08:00","source":"agent","pid":"88325","subsystem":"root","name":"kata-agent","config":"AgentConfig { debug_console: false, dev_mode: true, log_level: Info }"}';

function setup(opts: Partial<ConstructorParameters<typeof KataLogBridge>[0]> = {}) {
  const memory = new InMemoryLogRecordExporter();
  const loggerProvider = new LoggerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'kata-node-agent' }),
    processors: [new SimpleLogRecordProcessor({ exporter: memory })],
  });
  const bridge = new KataLogBridge({ loggerProvider, ...opts });
  providers.push(loggerProvider);
  return { memory, loggerProvider, bridge };
}
const providers: LoggerProvider[] = [];
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.shutdown()));
});

const ns = (t: readonly [number, number]): bigint => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

/** What the SDK holds, in KataLogRecord terms, for a field-by-field comparison. */
function asKata(l: ReadableLogRecord): KataLogRecord {
  const r: KataLogRecord = {
    timeUnixNano: ns(l.hrTime),
    observedTimeUnixNano: ns(l.hrTimeObserved),
    severityNumber: l.severityNumber ?? -1,
    severityText: l.severityText ?? '',
    body: l.body as string,
    attributes: l.attributes as KataLogRecord['attributes'],
  };
  if (l.eventName) r.eventName = l.eventName;
  if (l.spanContext) {
    r.traceId = l.spanContext.traceId;
    r.spanId = l.spanContext.spanId;
  }
  return r;
}

describe('KataLogBridge into an sdk-logs LoggerProvider', () => {
  it('emitLine: the minimal form; every field as the daemon parses it', async () => {
    const { memory, bridge } = setup();
    const observed = 1_763_655_602_999_000_123n;
    const emitted = await bridge.emitLine(SHIM_LINE, { observedTimeUnixNano: observed });
    const expected = parseLine(SHIM_LINE, { observedTimeUnixNano: observed });
    expect(emitted).toEqual(expected);
    const got = memory.getFinishedLogRecords();
    expect(got).toHaveLength(1);
    const l = got[0] as ReadableLogRecord;
    // Full ns precision (a JS number of ns would round the last digits).
    expect(ns(l.hrTime)).toBe(1_763_655_602_481_026_977n);
    expect(ns(l.hrTimeObserved)).toBe(observed);
    expect(l.severityNumber).toBe(9);
    expect(l.severityText).toBe('info');
    expect(l.body).toBe('VM started');
    expect(l.attributes[ATTR_KATA_SANDBOX_ID]).toBe(SANDBOX);
    expect(l.attributes[ATTR_KATA_COMPONENT]).toBe('runtime');
    expect(asKata(l)).toEqual(expected[0]);
    // The provider's Resource stays the app's; the Kata resource rides on the record.
    expect(l.resource.attributes[ATTR_SERVICE_NAME]).toBe('kata-node-agent');
    expect(l.instrumentationScope.name).toBe(SCOPE_NAME);
    expect(l.spanContext).toBeUndefined();
  });

  it('keeps every record of every example log intact (both timestamps, severity, body, attributes, event name)', async () => {
    const { memory, bridge } = setup();
    const expected: KataLogRecord[] = [];
    for (const f of readdirSync(EXAMPLES).filter((n) => n.endsWith('.log'))) {
      const recs: KataLogRecord[] = [];
      for await (const r of parseFile(join(EXAMPLES, f), { observedTimeUnixNano: 1_700_000_000_123_456_789n })) {
        recs.push(r);
      }
      expected.push(...structuredClone(recs));
      bridge.emitRecords(recs);
    }
    expect(expected.length).toBeGreaterThan(50);
    const got = memory.getFinishedLogRecords().map(asKata);
    // A record without a time of its own gets the observed time (the daemon's encoders do the same).
    expect(got).toEqual(
      expected.map((r) => ({ ...r, timeUnixNano: r.timeUnixNano > 0n ? r.timeUnixNano : r.observedTimeUnixNano })),
    );
    expect(new Set(got.map((r) => r.severityNumber)).size).toBeGreaterThan(2);
  });

  it('sets the trace context from the record, and never the span active where the bridge is called', async () => {
    const { memory, bridge } = setup();
    const [rec] = parseLine(SHIM_LINE);
    const linked = {
      ...(rec as KataLogRecord),
      traceId: '4BF92F3577B34DA6A3CE929D0E0E4736',
      spanId: '00F067AA0BA902B7',
    };
    const active = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '11111111111111111111111111111111',
      spanId: '2222222222222222',
      traceFlags: 1,
    });
    await context.with(active, async () => {
      bridge.emitRecords([linked, rec as KataLogRecord, { ...(rec as KataLogRecord), traceId: 'zz', spanId: 'yy' }]);
    });
    const [a, b, c] = memory.getFinishedLogRecords();
    expect(a?.spanContext).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' });
    expect(b?.spanContext).toBeUndefined();
    expect(c?.spanContext).toBeUndefined(); // invalid ids are not a context
  });

  it('scopePerResource: one Logger per sandbox/component, the resource as its scope attributes', async () => {
    const { memory, bridge } = setup({ scopePerResource: true });
    const other = SHIM_LINE.replaceAll(SANDBOX, 'f'.repeat(64));
    await bridge.emitLine(SHIM_LINE);
    await bridge.emitLine(other);
    await bridge.emitLine(SHIM_LINE);
    const got = memory.getFinishedLogRecords();
    expect(got.map((l) => l.instrumentationScope.attributes?.[ATTR_KATA_SANDBOX_ID])).toEqual([
      SANDBOX,
      'f'.repeat(64),
      SANDBOX,
    ]);
    expect(got[0]?.instrumentationScope).toBe(got[2]?.instrumentationScope);
    expect(got[0]?.instrumentationScope.attributes).toEqual(
      resourceAttributes(parseLine(SHIM_LINE)[0] as KataLogRecord),
    );
  });

  it('runs stages (the alert rules) and tells observers (the lifecycle span builder extension point)', async () => {
    const seen: KataLogRecord[] = [];
    const observer: KataRecordObserver = { observe: (r) => void seen.push(...r) };
    const rules = new AlertRules();
    const { memory, bridge } = setup({ stages: [rules.engine], observers: [observer] });
    const emitted = await bridge.emitLine(DEV_MODE_LINE);
    const alerts = memory.getFinishedLogRecords().filter((l) => l.eventName === EVENT_KATA_ALERT);
    expect(alerts.map((l) => l.attributes[ATTR_KATA_ALERT_RULE_ID])).toEqual(['kata-agent-dev-mode']);
    expect(seen).toEqual(emitted);
    expect(emitted).toHaveLength(2);
  });

  it('refuses a missing LoggerProvider with a clear error', () => {
    expect(() => new KataLogBridge({} as never)).toThrow(/loggerProvider must be a LoggerProvider/);
  });
});
