// The alert rules stage's settings schema (its descriptor, in the `*-component.ts` beside it, loads this lazily): `pipeline.rules` (defaults stated only here).
import { Type } from '@sinclair/typebox';
import { Nullable, bool, ms, section, strings } from '../config/schema-kit.js';

export const RulesSchema = section(
  {
    enabled: bool(true, 'Evaluate alert rules.'),
    builtin: bool(true, 'Load the built-in Kata security rules.'),
    files: strings([], 'Extra rule files (YAML).'),
    webhook: section(
      {
        url: Nullable(Type.String({ format: 'uri' }), {
          default: null,
          description: 'POST each alert as JSON to this URL; null disables.',
        }),
        timeout_ms: ms(5000, 'Webhook request timeout.', 1),
      },
      'Alert webhook.',
    ),
  },
  'Alert rules.',
);
