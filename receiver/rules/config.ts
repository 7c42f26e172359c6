// The alert rules stage's descriptor: `pipeline.rules` (defaults stated only here) and a lazy factory.
import { Type } from '@sinclair/typebox';
import type { StageDescriptor } from '../components/types.js';
import type { PipelineConfig } from '../config/types.js';
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

export const rulesStage: StageDescriptor<PipelineConfig['rules']> = {
  kind: 'stage',
  type: 'rules',
  stability: 'beta',
  configKey: 'pipeline.rules',
  schema: RulesSchema,
  instance: ({ pipeline: { rules: r } }) => (r.enabled && (r.builtin || r.files.length) ? r : undefined),
  load: () => import('./factory.js').then((m) => m.createRulesStage),
};
