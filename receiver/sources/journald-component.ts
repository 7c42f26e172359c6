// The journaldSource descriptor: type, stability, where its settings sit, its schema (journald-config.ts, loaded only
// when asked: `run` validates with the build-time validator and never loads TypeBox) and its lazy factory.
import type { SourceDescriptor } from '../components/types.js';
import type { JournaldConfig } from '../config/types.js';
export const journaldSource: SourceDescriptor<JournaldConfig> = {
  kind: 'source',
  type: 'journald',
  stability: 'beta',
  configKey: 'sources.journald',
  schema: () => import('./journald-config.js').then((m) => m.JournaldSchema),
  instances(config, inputs) {
    const j = config.sources.journald;
    if (!j.enabled && !inputs.journald && !inputs.journalDir) return [];
    // --journal-dir and --once (an import reads the journal from its beginning) adjust the configured settings.
    const directory = inputs.journalDir ?? j.directory;
    return [{ id: 'journald', config: { ...j, directory, startAt: inputs.once ? 'beginning' : j.startAt } }];
  },
  load: () => import('./journald.js').then((m) => m.createJournaldSource),
};
