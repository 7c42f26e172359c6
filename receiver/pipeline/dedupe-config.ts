// The duplicate suppression stage's settings schema (its descriptor, in the `*-component.ts` beside it, loads this lazily): `pipeline.dedupe` (defaults stated only here).
import { Type } from '@sinclair/typebox';
import { bool, ms, section } from '../config/schema-kit.js';

export const DedupeSchema = section(
  {
    enabled: bool(true, 'Drop the second copy of a record seen twice (journal `kata` and containerd copies).'),
    window_ms: ms(60_000, 'How long a record is remembered for duplicate detection.', 1),
    max_entries: Type.Integer({ minimum: 1, default: 100_000, description: 'Most records remembered.' }),
  },
  'Duplicate suppression.',
);
