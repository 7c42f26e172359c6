// A FileSource in its own process, for the tests that need a real process: SIGKILL mid-read, another user.
// Each delivered entry is appended to CHILD_OUT as a JSON line before `emit` resolves (the "durable queue").
// Configuration from the environment; SIGTERM aborts (a clean shutdown).
import { appendFileSync } from 'node:fs';
import { FileSource } from '../../receiver/sources/file.js';
import { ATTR_LOG_RECORD_UID } from '../../receiver/semconv/generated.js';
import { createLogger } from '../../receiver/telemetry/log.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined) throw new Error(`file-child: ${k} is not set`);
  return v;
};

const out = env('CHILD_OUT');
const emitDelayMs = Number(process.env.CHILD_EMIT_DELAY_MS ?? 0);
const controller = new AbortController();
process.on('SIGTERM', () => controller.abort());

const source = new FileSource({
  include: [env('CHILD_INCLUDE')],
  startAt: 'beginning',
  pollIntervalMs: 20,
  batchMaxEntries: Number(process.env.CHILD_BATCH ?? 1024),
});
await source.run({
  emit: async (batch) => {
    if (emitDelayMs > 0) await new Promise((r) => setTimeout(r, emitDelayMs));
    const text = batch.entries
      .map((e) => JSON.stringify({ text: e.kind === 'text' ? e.text : '', uid: e.attributes?.[ATTR_LOG_RECORD_UID] }))
      .join('\n');
    // Leading newline: a batch torn by SIGKILL mid-write stays a separate, unparseable line (not delivered).
    appendFileSync(out, '\n' + text);
    // Tells the parent a batch is through (it picks the moment to SIGKILL from these).
    process.stdout.write(`batch ${batch.entries.length}\n`);
  },
  signal: controller.signal,
  checkpointDir: env('CHILD_CHECKPOINTS'),
  once: process.env.CHILD_ONCE === '1',
  logger: createLogger({ level: 'info' }),
  metrics: new Metrics(),
});
