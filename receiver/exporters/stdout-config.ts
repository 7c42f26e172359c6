// The stdout exporter's descriptor: its settings (an `exporters[]` entry of `type: stdout`) and a lazy factory.
import { Type } from '@sinclair/typebox';
import type { ExporterDescriptor } from '../components/types.js';
import type { StdoutExporterConfig } from '../config/types.js';
import { ExporterName, StringEnum } from '../config/schema-kit.js';

export const StdoutExporterSchema = Type.Object(
  {
    type: Type.Literal('stdout'),
    name: Type.Optional(ExporterName),
    format: StringEnum(['otlp-json', 'text'] as const, {
      default: 'text',
      description: '`otlp-json`: one ExportLogsServiceRequest per line; `text`: one readable line per record.',
    }),
  },
  { additionalProperties: false, description: 'Print records on standard output.' },
);

export const stdoutExporter: ExporterDescriptor<StdoutExporterConfig> = {
  kind: 'exporter',
  type: 'stdout',
  stability: 'stable',
  configKey: 'exporters[] (type: stdout)',
  schema: StdoutExporterSchema,
  network: false,
  load: () => import('./stdout.js').then((m) => m.stdoutExporterFactory),
};
