// The store exporter's settings schema (its descriptor, in the `*-component.ts` beside it, loads this lazily): its settings (an `exporters[]` entry of `type: store`, defaults stated only
// here).
import { ExporterName, GiB, HOUR_MS, DAY_MS, MiB, Nullable, bytes, ms } from '../config/schema-kit.js';
import { Type } from '@sinclair/typebox';

export const StoreExporterSchema = Type.Object(
  {
    type: Type.Literal('store'),
    name: Type.Optional(ExporterName),
    directory: Nullable(Type.String({ minLength: 1 }), {
      default: null,
      description: 'Where the files go.',
      'x-default': '`<data_dir>/store`',
    }),
    max_file_bytes: bytes(64 * MiB, 'A file is closed and a new one started past this size.', 1024),
    max_file_age_ms: ms(HOUR_MS, 'A file is closed and a new one started when it is this old.', 1),
    max_age_ms: ms(7 * DAY_MS, 'Files whose last write is older than this are deleted.', 1),
    max_total_bytes: bytes(GiB, 'Oldest files are deleted while the store is larger than this.', 1024),
  },
  {
    additionalProperties: false,
    description: 'OTLP/JSON files (Collector file-exporter format) on local disk; the default exporter.',
  },
);
