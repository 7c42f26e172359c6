// The storeExporter descriptor: type, stability, where its settings sit, its schema (store-config.ts, loaded only
// when asked: `run` validates with the build-time validator and never loads TypeBox) and its lazy factory.
import type { ExporterDescriptor } from '../components/types.js';
import type { StoreExporterConfig } from '../config/types.js';
export const storeExporter: ExporterDescriptor<StoreExporterConfig> = {
  kind: 'exporter',
  type: 'store',
  stability: 'beta',
  configKey: 'exporters[] (type: store)',
  schema: () => import('./store-config.js').then((m) => m.StoreExporterSchema),
  network: false,
  load: () => import('./store.js').then((m) => m.storeExporterFactory),
};
