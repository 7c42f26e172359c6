// Public entry of receiver/config: load, validate and document the kata-otel configuration.
export { loadConfig, redactConfig, type LoadOptions } from './load.js';
export { ConfigError, type ConfigProblem } from './errors.js';
export { renderConfigReference } from './reference.js';
export {
  loadPresets,
  presetVariables,
  resolvePreset,
  PresetError,
  type Preset,
  type ResolvedPreset,
} from './presets.js';
export { ConfigSchema, EXPORTER_SCHEMAS, OTLP_PROTOCOLS, PRESET_NAMES } from './schema.js';
export type { OtlpProtocol, PresetName, RawConfig } from './schema.js';
export type * from './types.js';
