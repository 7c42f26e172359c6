// Every component kata-otel has, in pipeline order. A descriptor is light (type, stability, schema); its code is
// behind `load()` (a dynamic import), so `run` loads only the components the configuration uses, and so is its
// schema (`schema()`: TypeBox is needed only to build the validator and the docs). Adding a component: write its
// settings in a `*-config.ts` and its descriptor in a `*-component.ts` beside its code, list it here, put its
// schema in config/schema.ts; the conformance tests (test/components/) then cover it.
import { dedupeStage } from '../pipeline/dedupe-component.js';
import { hostStage } from '../pipeline/host-component.js';
import { k8sStage } from '../pipeline/k8s/component.js';
import { limitsStage } from '../pipeline/limits-component.js';
import { redactStage } from '../pipeline/redact/component.js';
import { lifecycleStage } from '../lifecycle/component.js';
import { rulesStage } from '../rules/component.js';
import { otlpExporter } from '../exporters/otlp-component.js';
import { stdoutExporter } from '../exporters/stdout-component.js';
import { storeExporter } from '../exporters/store-component.js';
import { agentSpansSource } from '../sources/agent-spans-component.js';
import { fifoSource } from '../sources/fifo-component.js';
import { fileSource } from '../sources/file-component.js';
import { journaldSource } from '../sources/journald-component.js';
import { stdinSource } from '../sources/stdin-component.js';
import { vsockSource } from '../sources/vsock-component.js';
import type { Descriptor, ExporterDescriptor, SourceDescriptor, StageDescriptor } from './types.js';

// The registry is heterogeneous: each descriptor pairs its own settings type with its own factory.
/* eslint-disable @typescript-eslint/no-explicit-any */
export const SOURCES: readonly SourceDescriptor<any>[] = [
  fileSource,
  stdinSource,
  journaldSource,
  vsockSource,
  fifoSource,
  agentSpansSource,
];

/**
 * In processing order. Redaction first: no later stage, queue or exporter ever sees a secret value (and no limit
 * cuts a secret in half before it is recognised); then the limits, so everything works on bounded records.
 */
export const STAGES: readonly StageDescriptor<any>[] = [
  redactStage,
  limitsStage,
  hostStage,
  dedupeStage,
  k8sStage,
  lifecycleStage,
  rulesStage,
];

export const EXPORTERS: readonly ExporterDescriptor<any>[] = [otlpExporter, storeExporter, stdoutExporter];
/* eslint-enable @typescript-eslint/no-explicit-any */

export const COMPONENTS: readonly Descriptor[] = [...SOURCES, ...STAGES, ...EXPORTERS] as Descriptor[];

export function exporterDescriptor(type: string): ExporterDescriptor {
  const d = EXPORTERS.find((e) => e.type === type);
  if (!d) throw new Error(`no exporter of type ${type}`);
  return d as ExporterDescriptor;
}
