// The stdoutExporter descriptor: type, stability, where its settings sit, its schema (stdout-config.ts, loaded only
// when asked: `run` validates with the build-time validator and never loads TypeBox) and its lazy factory.
import type { ExporterDescriptor } from '../components/types.js';
import type { StdoutExporterConfig } from '../config/types.js';
export const stdoutExporter: ExporterDescriptor<StdoutExporterConfig> = {
  kind: 'exporter',
  type: 'stdout',
  stability: 'stable',
  configKey: 'exporters[] (type: stdout)',
  schema: () => import('./stdout-config.js').then((m) => m.StdoutExporterSchema),
  network: false,
  load: () => import('./stdout.js').then((m) => m.stdoutExporterFactory),
};
