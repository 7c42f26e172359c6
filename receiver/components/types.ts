// What every component (source, pipeline stage, exporter) declares beside its code, as the Collector's
// factory + config + metadata.yaml do: its type, its stability, the schema of its settings (the defaults are
// stated there and nowhere else) and a factory. The descriptor itself is light (TypeBox only); the factory is
// behind a dynamic import, so `run` loads the code of the configured components only (registry.ts).
import type { Readable, Writable } from 'node:stream';
import type { TSchema } from '@sinclair/typebox';
import type { ReceiverConfig } from '../config/types.js';
import type { OtlpSettings } from '../exporters/otlp-config.js';
import type { Exporter } from '../exporters/types.js';
import type { LifecycleMetrics } from '../lifecycle/metrics.js';

import type { Stage } from '../pipeline/types.js';
import type { RunInputs } from '../run/receiver.js';
import type { AgentSpan } from '../lifecycle/agent-spans.js';
import type { Source } from '../sources/types.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';

/** The Collector's stability levels: what a user may rely on. */
export type Stability = 'development' | 'alpha' | 'beta' | 'stable';
export const STABILITY_LEVELS: readonly Stability[] = ['development', 'alpha', 'beta', 'stable'];

interface Described {
  type: string;
  stability: Stability;
  /** Where its settings sit in the configuration file (`sources.journald`, `exporters[]`). */
  configKey: string;
  /**
   * Its settings with their defaults (its `*-config.ts` module, which config/schema.ts puts at `configKey`), loaded
   * only when asked: `run` validates with the build-time validator and never loads TypeBox (15 MB RSS).
   */
  schema(): Promise<TSchema>;
}

/**
 * One running instance of a component and the settings it was built from. `id` names it (a source's name, an
 * exporter's name, a stage's type); a reload keeps an instance whose id and settings are unchanged.
 */
export interface Instance<C> {
  id: string;
  config: C;
}

export interface SourceEnv {
  stdin: Readable;
  logger: Logger;
  /** The lifecycle stage, when the pipeline has one (agent spans are adopted into its traces). */
  lifecycle?: { adoptAgentSpans(sandboxId: string, spans: AgentSpan[]): number };
}

export interface SourceDescriptor<C = unknown> extends Described {
  kind: 'source';
  /** The instances `config` (and the command line) ask for; none when the source is not configured. */
  instances(config: ReceiverConfig, inputs: RunInputs): Instance<C>[];
  load(): Promise<(config: C, id: string, env: SourceEnv) => Source>;
}

export interface StageEnv {
  /** The whole configuration, for stages that read shared settings (data_dir). */
  config: ReceiverConfig;
  metrics: Metrics;
  logger: Logger;
  lifecycleMetrics?: LifecycleMetrics;
}

/** A built stage and what must be released when it is replaced or the receiver stops (an alert webhook). */
export interface BuiltStage {
  stage: Stage;
  /** Awaited before the stage gets its first record (the k8s stage's first CRI snapshot). */
  ready?(): Promise<void>;
  close?(): Promise<void>;
}

export interface StageDescriptor<C = unknown> extends Described {
  kind: 'stage';
  /** Its settings when the stage is on for `config`, else undefined. */
  instance(config: ReceiverConfig): C | undefined;
  load(): Promise<(config: C, env: StageEnv) => BuiltStage | undefined>;
}

export interface ExporterEnv {
  stdout: Writable;
  logger: Logger;
}

export interface BuiltExporter {
  exporter: Exporter;
  /** An OTLP exporter's resolved settings (transport warnings, the inventory's endpoint). */
  otlp?: OtlpSettings;
}

export type ExporterEntry = ReceiverConfig['exporters'][number];

export interface ExporterDescriptor<C extends ExporterEntry = ExporterEntry> extends Described {
  kind: 'exporter';
  /** Sends over the network (the conformance test checks its HTTP status classification). */
  network: boolean;
  load(): Promise<(config: C, env: ExporterEnv) => BuiltExporter>;
}

export type Descriptor = SourceDescriptor | StageDescriptor | ExporterDescriptor;
