// Replays a lifecycle fixture (test/fixtures/lifecycle/) through the real parser and the lifecycle stage.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LifecycleStage } from '../../receiver/lifecycle/stage.js';
import type { KataSpan } from '../../receiver/lifecycle/types.js';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { parseText } from '../../receiver/parse/index.js';
import { silentLogger } from '../../receiver/telemetry/log.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/lifecycle/', import.meta.url));

export function parseFixture(name: string): KataLogRecord[] {
  const text = readFileSync(FIXTURES + name, 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => parseText(line, { observedTimeUnixNano: 1n }));
}

export interface Replay {
  spans: KataSpan[];
  records: KataLogRecord[];
  stage: LifecycleStage;
}

export function replay(name: string | KataLogRecord[], opts: { execs?: boolean; dataDir?: string } = {}): Replay {
  const stage = new LifecycleStage({
    execs: opts.execs ?? false,
    idleMs: 3_600_000,
    retainMs: 600_000,
    logger: silentLogger,
    dataDir: opts.dataDir,
  });
  const records = typeof name === 'string' ? parseFixture(name) : name;
  const spans: KataSpan[] = [];
  // Batches of 7 records, as a source would hand them over.
  for (let i = 0; i < records.length; i += 7) {
    stage.process(records.slice(i, i + 7));
    const out = stage.drain();
    spans.push(...out.spans);
    out.durable?.();
  }
  return { spans, records, stage };
}
