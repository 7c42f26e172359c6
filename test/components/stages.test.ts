// Conformance of every pipeline stage in the registry: no record disappears without being counted. Real log
// lines (the examples, each batch twice so duplicate suppression has work, plus a line a redaction rule drops)
// go through each stage alone; every record that went in comes out (from process, flush or close) or is counted
// as dropped (kata_otel_records_deduplicated_total, kata_otel_redactions_total{action="drop"}), and every record a
// stage adds is counted (kata_otel_alerts_total).
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { STAGES } from '../../receiver/components/registry.js';
import { loadConfig, type ConfigInput } from '../../receiver/config/index.js';
import { LifecycleMetrics } from '../../receiver/lifecycle/metrics.js';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { parseText } from '../../receiver/parse/index.js';
import { silentLogger } from '../../receiver/telemetry/log.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';

const EXAMPLES = new URL('../../examples/logs/', import.meta.url).pathname;

/** Per stage type: the configuration that turns it on (on top of the defaults). */
const FIXTURES: Record<string, ConfigInput> = {
  redact: { pipeline: { redaction: { rules: [{ name: 'conformance', regex: 'DROP-THIS-RECORD', action: 'drop' }] } } },
  limits: { pipeline: { limits: { max_attributes: 8, max_attribute_value_length: 64 } } },
  host: {},
  dedupe: {},
  k8s: {},
  lifecycle: {},
  rules: {},
};

const total = async (c: Counter<string>, only?: Record<string, string>) =>
  (await c.get()).values
    .filter((v) => !only || Object.entries(only).every(([k, x]) => v.labels[k] === x))
    .reduce((n, v) => n + v.value, 0);

/** Batches of parsed example records; each example file's batch comes twice (same records, fresh objects). */
function batches(): KataLogRecord[][] {
  const out: KataLogRecord[][] = [];
  const observedTimeUnixNano = 1_767_225_600_000_000_000n;
  for (const f of readdirSync(EXAMPLES).filter((n) => n.endsWith('.log'))) {
    const lines = readFileSync(join(EXAMPLES, f), 'utf8').split('\n').filter(Boolean);
    lines.push('time="2026-01-01T00:00:00Z" level=info msg="token DROP-THIS-RECORD" name=containerd-shim-v2');
    const parse = () => lines.flatMap((l) => parseText(l, { observedTimeUnixNano }));
    out.push(parse(), parse());
  }
  return out;
}

describe('stages (conformance over the registry)', () => {
  it('every registered stage has a fixture', () => {
    expect(STAGES.map((d) => d.type).sort()).toEqual(Object.keys(FIXTURES).sort());
  });

  it.each(STAGES.map((d) => [d.type, d] as const))('%s keeps the record count', async (_t, d) => {
    const dir = mkdtempSync(join(tmpdir(), `kata-otel-conf-${d.type}-`));
    const config = loadConfig(undefined, { data_dir: dir, ...FIXTURES[d.type] }, { env: {} });
    const settings = d.instance(config);
    expect(settings, 'the fixture turns the stage on').toBeDefined();
    const metrics = new Metrics();
    const built = (await d.load())(settings, {
      config,
      metrics,
      logger: silentLogger,
      lifecycleMetrics: new LifecycleMetrics(),
    });
    expect(built).toBeDefined();
    const stage = built!.stage;
    let inCount = 0;
    let outCount = 0;
    for (const b of batches()) {
      inCount += b.length;
      outCount += stage.process(b).length;
      stage.drain?.().durable?.();
    }
    outCount += (stage.flush?.(BigInt(Date.now()) * 1_000_000n) ?? []).length;
    outCount += (stage.close?.() ?? []).length;
    await built!.close?.();
    const dropped =
      (await total(metrics.deduplicated)) + (await total(metrics.redactions, { rule: 'conformance', action: 'drop' }));
    const added = await total(metrics.alerts);
    expect(inCount).toBeGreaterThan(100);
    expect({ in: inCount + added }).toEqual({ in: outCount + dropped });
    // The stages that drop or add records did so here: the invariant was really exercised.
    if (d.type === 'dedupe') expect(dropped).toBeGreaterThan(0);
    if (d.type === 'redact') expect(dropped).toBeGreaterThan(0);
    if (d.type === 'rules') expect(added).toBeGreaterThan(0);
  });
});
