// Attribute limits (issue 11): a guest line cannot turn into an unbounded number of attributes or unbounded values.
// Reproduction: a 1 MiB JSON line with ~62k keys became 3.4 MB stored.
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { encodeLogsJson, decodeLogsJson } from '../../receiver/otlp/index.js';
import { parseText } from '../../receiver/parse/index.js';
import { LimitsStage } from '../../receiver/pipeline/limits.js';
import {
  ATTR_KATA_COMPONENT,
  ATTR_KATA_LOG_TRUNCATED,
  ATTR_KATA_SANDBOX_ID,
  RESOURCE_ATTRIBUTE_KEYS,
} from '../../receiver/semconv/generated.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';
import { runCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'kata-otel-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An agent JSON line of about 1 MiB with `keys` keys of its own. */
function hugeJsonLine(keys: number): string {
  const obj: Record<string, string> = {
    msg: 'hello',
    level: 'info',
    source: 'agent',
    name: 'kata-agent',
    sandbox: 'sb-1',
  };
  for (let i = 0; i < keys; i++) obj[`k${i}`] = 'v'.repeat(8);
  return JSON.stringify(obj);
}

const recordAttrs = (r: KataLogRecord) => Object.keys(r.attributes).filter((k) => !RESOURCE_ATTRIBUTE_KEYS.includes(k));

describe('attribute limits', () => {
  it('caps a 1 MiB JSON line with 62k keys at 128 attributes, keeps kata-otel’s own attributes, marks and counts it', async () => {
    const line = hugeJsonLine(62_000);
    expect(line.length).toBeGreaterThan(1_000_000);
    const [r] = parseText(line, { observedTimeUnixNano: 1n, attributes: { [ATTR_KATA_SANDBOX_ID]: 'sb-1' } });
    const rec = r as KataLogRecord;
    expect(recordAttrs(rec).length).toBeGreaterThan(62_000); // what the parser makes of it
    const metrics = new Metrics();
    const stage = new LimitsStage({ onLimited: (limit) => metrics.limited.inc({ limit }) });
    stage.process([rec]);
    expect(recordAttrs(rec).length).toBe(128);
    expect(rec.attributes[ATTR_KATA_LOG_TRUNCATED]).toBe(true);
    expect(rec.attributes[ATTR_KATA_SANDBOX_ID]).toBe('sb-1');
    expect(rec.attributes[ATTR_KATA_COMPONENT]).toBeDefined();
    expect(rec.attributes['kata.field.k0']).toBe('vvvvvvvv'); // the first of the line's own keys stay
    expect(rec.attributes['kata.field.k61999']).toBeUndefined();
    expect(encodeLogsJson([rec]).length).toBeLessThan(line.length + 64 * 1024); // was 3.4 MB
    expect(await metrics.registry.getSingleMetricAsString('kata_otel_records_limited_total')).toMatch(
      /kata_otel_records_limited_total\{limit="attribute_count"\} 1/,
    );
  });

  it('cuts long string values and list elements (never inside a surrogate pair); leaves records within limits alone', () => {
    const stage = new LimitsStage({ maxValueLength: 10 });
    const long: KataLogRecord = {
      timeUnixNano: 0n,
      observedTimeUnixNano: 0n,
      severityNumber: 9,
      severityText: 'info',
      body: 'b'.repeat(100), // the body is max_line_bytes' business
      attributes: {
        'kata.field.a': 'x'.repeat(50),
        'kata.field.l': ['short', 'y'.repeat(20)],
        'kata.field.e': '123456789😀z',
      },
    };
    stage.process([long]);
    expect(long.attributes['kata.field.a']).toBe('x'.repeat(10));
    expect(long.attributes['kata.field.l']).toEqual(['short', 'y'.repeat(10)]);
    expect(long.attributes['kata.field.e']).toBe('123456789'); // not half of the emoji
    expect(long.attributes[ATTR_KATA_LOG_TRUNCATED]).toBe(true);
    expect(long.body).toHaveLength(100);
    const fine: KataLogRecord = { ...long, attributes: { 'kata.field.a': 'short' } };
    stage.process([fine]);
    expect(fine.attributes).toEqual({ 'kata.field.a': 'short' });
    expect(stage.limited).toEqual({ attributeCount: 0, valueLength: 1 });
  });

  it('`kata-otel parse` applies the same limits (the 62k-key line comes out at 128 attributes)', async () => {
    const f = join(dir, 'huge.log');
    writeFileSync(f, hugeJsonLine(62_000) + '\n');
    const res = await runCli(['parse', f]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.length).toBeLessThan(1_200_000);
    const [rec] = decodeLogsJson(res.stdout.trim());
    expect(rec?.attributes[ATTR_KATA_LOG_TRUNCATED]).toBe(true);
    expect(recordAttrs(rec as KataLogRecord).length).toBe(128);
  }, 60_000);
});
