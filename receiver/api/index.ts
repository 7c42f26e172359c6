// The public API of the `kata-otel` package (`import { … } from 'kata-otel'`): see docs/library.md. Everything a
// library user may rely on is exported here and recorded in api/kata-otel.api.md (`npm run api:check`); the rest of
// receiver/ is internal.

// Records and parsing.
export type { AttrValue, Attributes, KataLogRecord, ParseContext } from '../model/record.js';
export { LineAssembler, parseJournalEntry, parseText, type LineAssemblerOptions } from '../parse/index.js';
export type { AssemblerFactory, EntryAssembler } from '../sources/file.js';
export { parseFile, parseLine, parseLines, parseStream, type ParseOptions, type ParseStreamOptions } from './parse.js';
export { DedupeStage, type DedupeOptions } from '../pipeline/dedupe.js';
export type { Stage } from '../pipeline/types.js';
export {
  encodeLogsJson,
  encodeLogsProto,
  SCOPE_NAME,
  SCOPE_VERSION,
  isResourceKey,
  type EncodeOptions,
  type ExtraAttributes,
  type ExtraAttributesOf,
} from '../otlp/index.js';

// The Kata semantic conventions (attribute, event and value names), generated from semconv/model/registry.yaml.
export * from '../semconv/generated.js';

// Alert rules.
export { AlertRules, isAlert, type AlertRulesOptions, type Evaluation } from './alerts.js';
export {
  RuleEngine,
  RuleLoadError,
  loadBuiltinRules,
  loadRuleFiles,
  loadRules,
  type Rule,
  type RuleEngineOptions,
  type RuleIssue,
  type RuleSet,
  type RuleSource,
  type Severity,
  SEVERITIES,
} from '../rules/index.js';
export type {
  AbsenceRule,
  CompiledCondition,
  MatchRule,
  RuleBase,
  RuleKind,
  RuleOrigin,
  SequenceRule,
  ThresholdRule,
} from '../rules/types.js';

// The OTel Logs Bridge and its sources; the observer interface is where the lifecycle span builder plugs in.
export {
  KataLogBridge,
  recordContext,
  resourceAttributes,
  toHrTime,
  toLogRecord,
  type EmitOptions,
  type KataLogBridgeOptions,
  type KataRecordObserver,
} from '../bridge/bridge.js';
export {
  bridgeSources,
  runBridgeSources,
  type BridgeFileOptions,
  type BridgeSourcesOptions,
  type FileSourceOptions,
  type JournaldSourceOptions,
  type Source,
} from '../bridge/sources.js';
export type { RawEntry, SourceBatch, SourceContext } from '../sources/types.js';

// Durable delivery for any @opentelemetry/sdk-logs app.
export {
  DurableLogRecordExporter,
  fromReadableLogRecord,
  type DurableLogRecordExporterOptions,
} from '../exporters/durable-sdk-exporter.js';
export type { OtlpCompression, OtlpExporterConfig, OtlpProtocol, OtlpTlsConfig } from '../exporters/otlp-config.js';
export type { QueueOptions, QueueOptionsInput, RetryOptions } from '../queue/types.js';

// kata-otel's own logs and counters, which the bridge, sources and exporter accept.
export { createLogger, silentLogger, type Level, type Logger, type LoggerOptions } from '../telemetry/log.js';
export { Metrics } from '../telemetry/metrics.js';
