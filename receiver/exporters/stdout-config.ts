// The stdout exporter's settings schema (its descriptor, in the `*-component.ts` beside it, loads this lazily): its settings (an `exporters[]` entry of `type: stdout`).
import { Type } from '@sinclair/typebox';
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
