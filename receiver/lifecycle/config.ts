// The lifecycle stage's settings schema (its descriptor, in the `*-component.ts` beside it, loads this lazily): `pipeline.lifecycle` (defaults stated only here, the agent span
// listener's in sources/agent-spans-config.ts).
import type { PipelineConfig } from '../config/types.js';
import { DAY_MS, bool, ms, section } from '../config/schema-kit.js';
import { AgentSpanKeys } from '../sources/agent-spans-config.js';

export const LifecycleSchema = section(
  {
    enabled: bool(
      true,
      'Build sandbox lifecycle traces from the runtime lines, stamp each record with its trace/span and `kata.lifecycle.phase`, and export the spans beside the logs (docs/tracing.md).',
    ),
    execs: bool(false, 'Also build a span per exec from debug lines (one per liveness probe).'),
    idle_ms: ms(
      DAY_MS,
      'A sandbox with no record for this long (record time) has its open spans closed, marked `kata.span.incomplete`.',
      1,
    ),
    retain_ms: ms(600_000, 'How long an ended sandbox is remembered, so late records still get its trace.', 1),
    ...AgentSpanKeys,
    metrics_interval_ms: ms(
      60_000,
      'How often the derived lifecycle metrics (durations, failures, records by component) are queued for export.',
      1000,
    ),
  },
  'Sandbox lifecycle traces (docs/tracing.md).',
);

/** The stage's settings (the agent span keys belong to the agent span source). */
export type LifecycleInstanceConfig = Pick<PipelineConfig['lifecycle'], 'execs' | 'idleMs' | 'retainMs'> & {
  dataDir: string;
};
