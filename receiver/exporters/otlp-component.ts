// The otlpExporter descriptor: type, stability, where its settings sit, its schema (otlp-schema.ts, loaded only
// when asked: `run` validates with the build-time validator and never loads TypeBox) and its lazy factory.
import type { ExporterDescriptor } from '../components/types.js';
import type { OtlpExporterEntry } from '../config/types.js';
export const otlpExporter: ExporterDescriptor<OtlpExporterEntry> = {
  kind: 'exporter',
  type: 'otlp',
  stability: 'beta',
  configKey: 'exporters[] (type: otlp)',
  schema: () => import('./otlp-schema.js').then((m) => m.OtlpExporterSchema),
  network: true,
  load: () => import('./otlp-exporter.js').then((m) => m.otlpExporterFactory),
};
