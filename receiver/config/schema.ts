// The kata-otel configuration schema: one TypeBox definition gives both the JSON Schema that ajv validates the
// YAML against and the static TypeScript types. Keys are snake_case like the OpenTelemetry Collector's; every
// setting has a `default` (ajv fills them in), so an empty file, or no file at all, is a complete configuration.
// `x-default` documents defaults that are computed after validation (they depend on other settings or on the
// environment); `x-hint` adds advice to the error message of a failing value.
// Each component's settings (with their defaults) are declared beside its code, in its descriptor
// (receiver/components/registry.ts); this file puts them in their place in the document.
import { Type, type Static } from '@sinclair/typebox';
import { MiB, HOUR_MS, DAY_MS, Nullable, StringEnum, bool, bytes, ms, section, strings } from './schema-kit.js';
import { FileSourceSchema } from '../sources/file-config.js';
import { JournaldSchema } from '../sources/journald-config.js';
import { StdinSchema } from '../sources/stdin-config.js';
import { VsockSchema } from '../sources/vsock-config.js';
import { FifoSchema } from '../sources/fifo-config.js';
import { DedupeSchema } from '../pipeline/dedupe-config.js';
import { K8sSchema } from '../pipeline/k8s/config.js';
import { LifecycleSchema } from '../lifecycle/config.js';
import { RulesSchema } from '../rules/config.js';
import { LimitsSchema } from '../pipeline/limits-config.js';
import { RedactionSchema } from '../pipeline/redact/config.js';
import { OtlpExporterSchema } from '../exporters/otlp-schema.js';
import { StoreExporterSchema } from '../exporters/store-config.js';
import { StdoutExporterSchema } from '../exporters/stdout-config.js';

export { Nullable, StringEnum, START_AT } from './schema-kit.js';
export { JOURNAL_PRIORITIES } from '../sources/journald-config.js';
export { OTLP_PROTOCOLS, PRESET_NAMES, type OtlpProtocol, type PresetName } from '../exporters/otlp-schema.js';
export { OtlpExporterSchema, StoreExporterSchema, StdoutExporterSchema };

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

const SourcesSchema = section(
  {
    files: Type.Array(FileSourceSchema, { default: [], description: 'File tailers, one entry per set of globs.' }),
    stdin: StdinSchema,
    journald: JournaldSchema,
    vsock: VsockSchema,
    fifo: FifoSchema,
  },
  'Where log entries are read.',
);

const PipelineSchema = section(
  {
    dedupe: DedupeSchema,
    k8s: K8sSchema,
    lifecycle: LifecycleSchema,
    rules: RulesSchema,
    keep_original: bool(false, 'Keep the raw text of each record in `log.record.original`.'),
    limits: LimitsSchema,
    fair_share: section(
      {
        parse_budget_ms: ms(
          10,
          'Synchronous parse and stage work per turn of the event loop before yielding; 0 = none.',
        ),
        records_per_second: Type.Integer({
          minimum: 0,
          default: 1000,
          description: 'Per-sandbox rate of a guest stream (vsock, FIFO) in records/s; 0 = unlimited.',
        }),
        bytes_per_second: bytes(1 * MiB, 'Per-sandbox rate of a guest stream in bytes/s; 0 = unlimited.', 0),
        burst_seconds: Type.Number({
          minimum: 0.001,
          default: 10,
          description:
            'Bucket size, in seconds of each rate: a sandbox may send `rate × burst_seconds` at once before drops start.',
        }),
        report_interval_ms: ms(10_000, 'Drops are logged at most this often per sandbox.', 1),
      },
      'Fair share (docs/security.md): one sandbox or source cannot starve the others or the health endpoints. Drops are counted in kata_otel_guest_records_dropped_total and reported on the next record (`kata.log.dropped_count`).',
    ),
    redaction: RedactionSchema,
  },
  'Processing between parsing and the exporters.',
);

export const EXPORTER_SCHEMAS = {
  otlp: OtlpExporterSchema,
  store: StoreExporterSchema,
  stdout: StdoutExporterSchema,
} as const;
export type ExporterType = keyof typeof EXPORTER_SCHEMAS;

// ajv's `discriminator` picks the one branch named by `type`, so errors come from that branch only and the
// branch's defaults are applied (plain oneOf would do neither).
const ExporterSchema = Type.Unsafe<
  Static<typeof OtlpExporterSchema> | Static<typeof StoreExporterSchema> | Static<typeof StdoutExporterSchema>
>({
  type: 'object',
  discriminator: { propertyName: 'type' },
  oneOf: [OtlpExporterSchema, StoreExporterSchema, StdoutExporterSchema],
});

const QueueSchema = section(
  {
    kind: StringEnum(['disk', 'memory'] as const, {
      default: 'disk',
      description: '`disk` survives restarts and crashes; `memory` is lost on exit.',
    }),
    max_bytes: bytes(512 * MiB, 'Bound on what one exporter queue holds.', 1024),
    when_full: StringEnum(['block', 'drop_oldest'] as const, {
      default: 'block',
      description: '`block` pauses the sources; `drop_oldest` drops the oldest waiting batches (counted).',
    }),
    fsync: StringEnum(['always', 'interval', 'never'] as const, {
      default: 'always',
      description:
        'Disk queue durability: `always` resolves each append after an fsync covering it (concurrent appends share one: group commit); `interval` fsyncs at most every `fsync_interval_ms`; `never` relies on the page cache.',
    }),
    fsync_interval_ms: ms(200, 'Group-commit interval for `fsync: interval`.', 1),
    segment_bytes: bytes(16 * MiB, 'Disk queue segment file size.', 1024),
    max_batch_records: Type.Integer({ minimum: 1, default: 2048, description: 'Most records per export call.' }),
    max_in_flight: Type.Integer({
      minimum: 1,
      default: 2,
      description: 'Export calls in flight per exporter (always 1 for a hash-chained stream: docs/audit.md).',
    }),
    retry: section(
      {
        initial_ms: ms(1000, 'First backoff ceiling.', 1),
        max_ms: ms(30_000, 'Largest backoff ceiling.', 1),
        multiplier: Type.Number({ minimum: 1, default: 2, description: 'Backoff growth per attempt.' }),
      },
      'Retry backoff (full jitter).',
    ),
  },
  'The delivery queue in front of each exporter.',
);

const TelemetrySchema = section(
  {
    listen: Nullable(
      Type.String({
        pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[^\\s:\\[\\]]+):[0-9]{1,5}$',
        'x-hint': 'write host:port, e.g. 127.0.0.1:8898, or null to disable',
      }),
      {
        default: '127.0.0.1:8898',
        description:
          "host:port of the Prometheus /metrics endpoint; null disables it. Port 8898: not the Collector's own (8888 metrics, 8889 its Prometheus exporter, 13133 health_check, 55679 zpages, 1777 pprof, 4317/4318 OTLP), Fluent Bit's (2020/2021), Vector's (8686) or a Prometheus ecosystem default (9090-9093, 9100-9999 are allocated exporter ports), so it runs beside them on one node.",
      },
    ),
    otlp_metrics: bool(
      false,
      "Also push the self-metrics over OTLP: the same numbers as /metrics, with resource `service.name: kata-otel`. They go to the first otlp exporter's endpoint, protocol, headers and TLS (HTTP path `/v1/metrics` in place of `/v1/logs`); OTEL_EXPORTER_OTLP_METRICS_* variables override those, and without an otlp exporter OTEL_EXPORTER_OTLP_METRICS_* / OTEL_EXPORTER_OTLP_* apply. Failed pushes are logged and counted in kata_otel_otlp_metrics_exports_total.",
    ),
    otlp_metrics_interval_ms: ms(60_000, 'How often the self-metrics are pushed over OTLP (`otlp_metrics`).', 100),
    traces: section(
      {
        enabled: bool(
          false,
          "Trace kata-otel's own pipeline: a span per source batch (kata-otel.batch) with its parse and queue append, and one per export attempt (kata-otel.export), sent over OTLP/HTTP protobuf with resource `service.name: kata-otel`. Off, nothing of the tracing SDK is loaded.",
        ),
        endpoint: Nullable(Type.String({ format: 'uri' }), {
          default: null,
          description:
            'OTLP/HTTP traces URL (with its path, e.g. http://127.0.0.1:4318/v1/traces); null: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces, or http://localhost:4318/v1/traces.',
        }),
        headers: Type.Record(Type.String(), Type.String(), {
          default: {},
          description: 'Request headers of the trace export (OTEL_EXPORTER_OTLP_TRACES_HEADERS also applies).',
        }),
      },
      "kata-otel's own spans (self-tracing).",
    ),
  },
  "kata-otel's own metrics.",
);

export const ConfigSchema = Type.Object(
  {
    data_dir: Type.Optional(
      Type.String({
        minLength: 1,
        'x-default': '`/var/lib/kata-otel` as root; else `$XDG_STATE_HOME/kata-otel` or `~/.local/state/kata-otel`',
        description:
          'Checkpoints, queues and the store live here (a relative path is resolved against the working directory). It and every directory in it must be owned by the user kata-otel runs as and not writable by group or others, or kata-otel refuses to start.',
      }),
    ),
    log: section(
      {
        level: StringEnum(LOG_LEVELS, { default: 'info', description: "kata-otel's own log level." }),
        file: Nullable(Type.String({ minLength: 1 }), {
          default: null,
          description: "Append kata-otel's own logs to this file; null writes them on stderr.",
        }),
      },
      "kata-otel's own logs (JSON lines).",
    ),
    sources: SourcesSchema,
    pipeline: PipelineSchema,
    exporters: Type.Optional(
      Type.Array(ExporterSchema, {
        description: 'Where records go; each exporter has its own queue.',
        'x-default':
          '[{type: store}], or [{type: otlp}] when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_LOGS_ENDPOINT is set',
      }),
    ),
    queue: QueueSchema,
    telemetry: TelemetrySchema,
    index: section(
      {
        interval_ms: ms(
          60_000,
          'How often a running receiver indexes what was added to <data_dir>/store for `kata-otel query`; 0 leaves it to the queries.',
        ),
      },
      'The query index beside the embedded store (see docs/review.md).',
    ),
    archive: section(
      {
        enabled: bool(
          false,
          'Run `kata-otel archive` periodically (in a child process: the daemon never loads DuckDB).',
        ),
        after_ms: ms(
          3 * DAY_MS,
          'Store files last written longer ago than this are archived; keep it below the store max_age_ms.',
          1,
        ),
        interval_ms: ms(HOUR_MS, 'How often the archive runs.', 1000),
        max_age_ms: ms(90 * DAY_MS, 'Archive files whose newest record is older than this are deleted; 0 keeps them.'),
      },
      'Move old store data into compressed Parquet files under <data_dir>/archive (see docs/review.md).',
    ),
    shutdown_timeout_ms: ms(10_000, 'How long shutdown waits for queues to drain.', 0),
    once_timeout_ms: ms(
      300_000,
      '`run --once` gives up after this long (reading and delivery): it stops, keeps what is undelivered in the disk queue for the next start, and exits 1 saying how many records and where (`--once-timeout`).',
      1,
    ),
    doctor: section(
      {
        enabled: Nullable(Type.Boolean(), {
          default: null,
          description:
            'At start, check the node (Kata configuration, journald, this configuration) as `kata-otel doctor` does and export each finding as a `kata.config.finding` event. null: on for a running receiver, off for `run --once` (an import of files is not about this node).',
        }),
        profile: StringEnum(['dev', 'prod', 'secure'] as const, {
          default: 'prod',
          description: 'The logging profile the node is compared with (exporter-config/kata/, docs/doctor.md).',
        }),
        kata_config: strings([], "Kata configuration files to check; empty: those Kata's default search paths find."),
        root: Type.String({ minLength: 1, default: '/', description: 'Prefix of every node path read by the checks.' }),
        connect_timeout_ms: ms(1000, 'Timeout of the TCP connect that checks a tracing endpoint.', 1),
      },
      'Configuration checks at start (docs/doctor.md).',
    ),
    // Tamper evidence (docs/audit.md).
    integrity: section(
      {
        enabled: bool(
          true,
          'Hash-chain every exporter stream (sequence number, previous hash, chain hash on each record).',
        ),
        hmac_key_file: Nullable(Type.String({ minLength: 1 }), {
          default: null,
          description:
            'File holding the chain HMAC key (16–4096 bytes, mode 0600); null chains with plain SHA-256, which anyone can recompute.',
        }),
        checkpoint_interval_ms: ms(
          60_000,
          'A checkpoint event after the first record this long (record observed time) after the last one.',
          1,
        ),
        checkpoint_every_records: Type.Integer({
          minimum: 1,
          default: 10_000,
          description: 'A checkpoint event at least every this many records.',
        }),
      },
      'Tamper evidence: hash chains, checkpoints, `kata-otel verify`.',
    ),
  },
  { additionalProperties: false },
);

/** The YAML document after validation and defaults (snake_case). */
export type RawConfig = Static<typeof ConfigSchema>;
