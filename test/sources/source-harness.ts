// A SourceContext for source tests: records every batch, captures the source's own log lines, and lets a test
// make `emit` fail (the receiver shutting down) to check what the checkpoint says afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { RawEntry, SourceBatch, SourceContext } from '../../receiver/sources/types.js';
import { createLogger } from '../../receiver/telemetry/log.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';

export interface Harness {
  ctx: SourceContext;
  batches: SourceBatch[];
  logs: Array<Record<string, unknown>>;
  controller: AbortController;
  entries(): RawEntry[];
  /** Text of every text entry, in order. */
  texts(): string[];
  /** Resolve once `pred()` holds; reject with `what` after `timeoutMs` (a bound for a hung test, not a timing check). */
  waitFor(pred: () => boolean, what: string, timeoutMs?: number): Promise<void>;
}

const created: string[] = [];
// Removed when the test file that imported this module is done (journal files are 8 MiB each).
afterAll(() => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary directory, removed after the test file. */
export function tempDir(prefix = 'kata-otel-src-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

export function harness(
  opts: { once?: boolean; checkpointDir?: string; emit?: (b: SourceBatch) => Promise<void> } = {},
): Harness {
  const batches: SourceBatch[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const controller = new AbortController();
  const ctx: SourceContext = {
    emit: async (batch) => {
      if (opts.emit) await opts.emit(batch);
      batches.push(batch);
    },
    signal: controller.signal,
    checkpointDir: opts.checkpointDir ?? join(tempDir(), 'checkpoints'),
    once: opts.once ?? false,
    logger: createLogger({ level: 'debug', write: (l) => logs.push(JSON.parse(l) as Record<string, unknown>) }),
    metrics: new Metrics(),
  };
  const entries = () => batches.flatMap((b) => b.entries);
  return {
    ctx,
    batches,
    logs,
    controller,
    entries,
    texts: () => entries().flatMap((e) => (e.kind === 'text' ? [e.text] : [])),
    waitFor: async (pred, what, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}
