// The kata-otel configuration schema: one TypeBox definition gives both the JSON Schema that ajv validates the
// YAML against and the static TypeScript types. Keys are snake_case like the OpenTelemetry Collector's; every
// setting has a `default` (ajv fills them in), so an empty file, or no file at all, is a complete configuration.
// `x-default` documents defaults that are computed after validation (they depend on other settings or on the
// environment); `x-hint` adds advice to the error message of a failing value.
import { Type, type Static, type TSchema, type SchemaOptions } from '@sinclair/typebox';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** A string that must be one of `values` (a plain JSON-Schema enum, which gives ajv's clearest error). */
export function StringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}) {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

/** `schema` or null (one JSON-Schema type list rather than an anyOf, so a wrong value gives one error). */
export function Nullable<S extends TSchema>(schema: S, options: SchemaOptions = {}) {
  const { type, ...rest } = schema as unknown as { type: string };
  return Type.Unsafe<Static<S> | null>({ ...rest, ...options, type: [type, 'null'] });
}

const ms = (def: number, description: string, min = 0) => Type.Integer({ minimum: min, default: def, description });
const bytes = (def: number, description: string, min = 1) => Type.Integer({ minimum: min, default: def, description });
const bool = (def: boolean, description: string) => Type.Boolean({ default: def, description });
const strings = (def: string[], description: string) => Type.Array(Type.String(), { default: def, description });
const section = <P extends Record<string, TSchema>>(properties: P, description: string) =>
  Type.Object(properties, { additionalProperties: false, default: {}, description });

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export const START_AT = ['beginning', 'end'] as const;
export const JOURNAL_PRIORITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;
export const OTLP_PROTOCOLS = ['grpc', 'http/protobuf', 'http/json'] as const;
export const PRESET_NAMES = [
  'datadog-agent',
  'datadog',
  'honeycomb',
  'grafana-cloud',
  'loki',
  'elastic',
  'splunk-collector',
] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];
export type PresetName = (typeof PRESET_NAMES)[number];

/** A static attribute value, as on a KataLogRecord: string, number, boolean or list of strings. */
const AttrValueSchema = Type.Unsafe<string | number | boolean | string[]>({
  type: ['string', 'number', 'boolean', 'array'],
  items: { type: 'string' },
});

const FileSourceSchema = Type.Object(
  {
    include: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description: 'Glob patterns of files to tail (required), e.g. `/var/log/kata/*.log`.',
      'x-hint': 'list at least one glob, e.g. include: [/var/log/kata/*.log]',
    }),
    exclude: strings([], 'Glob patterns removed from the `include` matches.'),
    start_at: StringEnum(START_AT, {
      default: 'end',
      description: 'Where to start in a file seen for the first time (no checkpoint): `beginning` or `end`.',
    }),
    poll_interval_ms: ms(200, 'How often the globs are re-expanded and files checked for growth.', 1),
    fingerprint_bytes: bytes(1024, 'Bytes at the start of a file that identify it across renames (rotation).', 16),
    max_line_bytes: bytes(1_048_576, 'Longer lines are cut and marked `kata.log.truncated`.', 64),
    flush_timeout_ms: ms(500, 'A last line without a newline is emitted after this long without growth.'),
    max_open_files: Type.Integer({ minimum: 1, default: 256, description: 'Most files held open at once.' }),
    multiline: bool(true, 'Join continuation lines (Go/Rust panics, stack traces) to the record they belong to.'),
    attributes: Type.Record(Type.String(), AttrValueSchema, {
      default: {},
      description: 'Static attributes added to every record read from these files.',
    }),
    follow_symlinks: strings(
      [],
      'Directories that symbolic links in the watched directories may point into; other links are not followed (kata-otel reads as root). Literal `include` paths are always followed.',
    ),
  },
  { additionalProperties: false },
);

const JournaldSchema = section(
  {
    enabled: bool(false, 'Read the systemd journal through `journalctl --output=json --follow`.'),
    directory: Nullable(Type.String(), {
      default: null,
      description: 'Journal directory (`journalctl --directory`); null reads the system journal.',
    }),
    files: strings([], 'Journal files to read (`journalctl --file`) instead of the system journal.'),
    identifiers: strings(['kata'], 'SYSLOG_IDENTIFIER values to read (the Go runtime logs as `kata`).'),
    units: strings(
      ['containerd.service', 'crio.service'],
      "Systemd units to read: containerd's (and CRI-O's) copy of the shim records, logged with identifier `containerd`.",
    ),
    priority: StringEnum(JOURNAL_PRIORITIES, {
      default: 'debug',
      description: 'Most verbose PRIORITY read (`journalctl --priority=emerg..<priority>`).',
    }),
    start_at: StringEnum(START_AT, {
      default: 'end',
      description: 'Where to start without a saved cursor: `beginning` or `end` of the journal.',
    }),
    journalctl: Type.String({ minLength: 1, default: 'journalctl', description: 'The journalctl binary to run.' }),
  },
  'The systemd journal, where the Go runtime (containerd-shim-kata-v2) logs by default.',
);

const VsockSchema = section(
  {
    enabled: bool(false, "Read each sandbox's agent log stream over its vsock (the hybrid-vsock `CONNECT` port)."),
    roots: strings(
      ['/run/vc/vm', '/run/vc/firecracker', '/run/kata', '/run/kata/firecracker'],
      'Directories scanned for per-sandbox hybrid-vsock sockets.',
    ),
    port: Type.Integer({
      minimum: 1,
      maximum: 4_294_967_295,
      default: 1025,
      description: "The agent's log vsock port (kata-agent `log_vport`).",
    }),
    reconnect_initial_ms: ms(500, 'First delay before reconnecting to a sandbox socket.', 1),
    reconnect_max_ms: ms(10_000, 'Longest delay between reconnect attempts.', 1),
    handshake_timeout_ms: ms(5000, 'How long to wait for the hybrid-vsock `OK <port>` reply.', 1),
    plain_vsock: bool(false, 'Also connect over AF_VSOCK (QEMU vhost-vsock) rather than hybrid-vsock only.'),
  },
  'Agent logs straight from the guest over vsock.',
);

const FifoSchema = section(
  {
    enabled: bool(false, 'Read Firecracker log and metrics FIFOs.'),
    roots: strings(['/run/vc/firecracker'], 'Directories scanned for per-sandbox Firecracker FIFOs.'),
    metrics: StringEnum(['log', 'drop'] as const, {
      default: 'drop',
      description:
        'The Firecracker metrics FIFO: `drop` (leave it to the Kata shim, which turns it into kata_firecracker_* Prometheus metrics) or `log` (also read it, as `kata.firecracker.metrics` events; with two readers each flush goes to only one of them).',
    }),
  },
  'Firecracker FIFOs.',
);

const SourcesSchema = section(
  {
    files: Type.Array(FileSourceSchema, { default: [], description: 'File tailers, one entry per set of globs.' }),
    stdin: bool(false, 'Read log text from standard input.'),
    journald: JournaldSchema,
    vsock: VsockSchema,
    fifo: FifoSchema,
  },
  'Where log entries are read.',
);

const PipelineSchema = section(
  {
    dedupe: section(
      {
        enabled: bool(true, 'Drop the second copy of a record seen twice (journal `kata` and containerd copies).'),
        window_ms: ms(60_000, 'How long a record is remembered for duplicate detection.', 1),
        max_entries: Type.Integer({ minimum: 1, default: 100_000, description: 'Most records remembered.' }),
      },
      'Duplicate suppression.',
    ),
    k8s: section(
      {
        enabled: bool(true, 'Add the Kubernetes pod (and container) to records by sandbox / container id.'),
        bundle_roots: strings(
          ['/run/containerd', '/run/k3s/containerd'],
          'containerd state directories whose `io.containerd.runtime.v2.task/<ns>/<id>/config.json` annotations name the pod.',
        ),
        crio_roots: strings(
          ['/run/containers/storage', '/var/lib/containers/storage'],
          'CRI-O containers/storage roots whose `overlay-containers/<id>/userdata/config.json` annotations name the pod.',
        ),
        from_cri_logs: bool(
          true,
          "Learn id → pod from containerd's and CRI-O's own log lines (`RunPodSandbox … returns sandbox id`, `Ran pod sandbox …`); names pods in replays.",
        ),
        cache_entries: Type.Integer({
          minimum: 1,
          default: 10_000,
          description: 'Most sandbox / container ids remembered.',
        }),
        ttl_ms: ms(600_000, 'How long an id is remembered after its last record (outlives the bundle at teardown).', 1),
      },
      'Kubernetes metadata from OCI bundle annotations and CRI runtime log lines (docs/k8s.md).',
    ),
    rules: section(
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
    ),
    keep_original: bool(false, 'Keep the raw text of each record in `log.record.original`.'),
    limits: section(
      {
        max_attributes: Type.Integer({
          minimum: 0,
          default: 128,
          description:
            "Most record attributes (OTel's default); beyond it the line's own `kata.field.*` keys are dropped last-first. 0: no limit.",
        }),
        max_attribute_value_length: Type.Integer({
          minimum: 0,
          default: 16_384,
          description:
            'Longer string attribute values (and list elements) are cut to this many characters. 0: no limit.',
        }),
      },
      'Attribute limits: a limited record gets `kata.log.truncated` and is counted (`kata_otel_records_limited_total`).',
    ),
  },
  'Processing between parsing and the exporters.',
);

const ExporterName = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  maxLength: 64,
  description: 'Name in metrics, logs and the queue directory; default: the type, made unique (`otlp`, `otlp-2`).',
  'x-default': 'type, made unique',
  'x-hint': 'use letters, digits, ".", "_" and "-"',
});

// Keys left unset here are filled by the preset, then by the OTEL_EXPORTER_OTLP_* variables and defaults when the
// exporter starts (receiver/exporters/otlp-config.ts, resolveOtlpSettings), so they carry no schema default.
const envDefault = (variable: string, fallback: string) =>
  `preset, else OTEL_EXPORTER_OTLP_LOGS_${variable} / OTEL_EXPORTER_OTLP_${variable}, else ${fallback}`;

export const OtlpExporterSchema = Type.Object(
  {
    type: Type.Literal('otlp'),
    name: Type.Optional(ExporterName),
    endpoint: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'gRPC: `host:port` (TLS unless `tls.insecure`) or `http(s)://host:port`; HTTP: the URL logs are POSTed to (a URL without a path gets `/v1/logs`).',
        'x-default': envDefault('ENDPOINT', '`http://localhost:4318/v1/logs` (http) / `http://localhost:4317` (grpc)'),
      }),
    ),
    protocol: Type.Optional(
      StringEnum(OTLP_PROTOCOLS, {
        description: 'OTLP transport.',
        'x-default': envDefault('PROTOCOL', '`http/protobuf`'),
      }),
    ),
    headers: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description:
          "Request headers / gRPC metadata, merged over the preset's and OTEL_EXPORTER_OTLP_HEADERS; use `${env:VAR}` for secrets.",
        'x-default': '`{}`',
      }),
    ),
    compression: Type.Optional(
      StringEnum(['gzip', 'none'] as const, {
        description: 'Payload compression.',
        'x-default': envDefault('COMPRESSION', '`none`'),
      }),
    ),
    timeout_ms: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'Time limit of one export request; 0 = none.',
        'x-default': 'OTEL_EXPORTER_OTLP_LOGS_TIMEOUT / OTEL_EXPORTER_OTLP_TIMEOUT, else `10000`',
      }),
    ),
    tls: Type.Optional(
      Type.Object(
        {
          ca_file: Type.Optional(
            Type.String({
              minLength: 1,
              description: 'CA bundle (PEM) that verifies the server.',
              'x-default': 'OTEL_EXPORTER_OTLP_CERTIFICATE',
            }),
          ),
          cert_file: Type.Optional(
            Type.String({
              minLength: 1,
              description: 'Client certificate (PEM, mutual TLS).',
              'x-default': 'OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE',
            }),
          ),
          key_file: Type.Optional(
            Type.String({
              minLength: 1,
              description: 'Client private key (PEM, mutual TLS).',
              'x-default': 'OTEL_EXPORTER_OTLP_CLIENT_KEY',
            }),
          ),
          insecure: Type.Optional(
            Type.Boolean({
              description: 'gRPC: plaintext instead of TLS for an endpoint without a scheme.',
              'x-default': 'OTEL_EXPORTER_OTLP_INSECURE, else `false`',
            }),
          ),
          insecure_skip_verify: Type.Optional(
            Type.Boolean({
              description: 'Do not verify the server certificate (testing only).',
              'x-default': '`false`',
            }),
          ),
        },
        { additionalProperties: false, description: 'TLS settings.' },
      ),
    ),
    resource_attributes: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description: 'Resource attributes added where a record has none of its own (over OTEL_RESOURCE_ATTRIBUTES).',
        'x-default': '`{}`',
      }),
    ),
    service_name: Type.Optional(
      Type.String({
        minLength: 1,
        description: "Replace every record's service.name (kata-otel otherwise names one service per Kata component).",
        'x-default': 'none',
      }),
    ),
    service_name_from_env: Type.Optional(
      Type.Boolean({ description: 'Apply OTEL_SERVICE_NAME as `service_name`.', 'x-default': '`false`' }),
    ),
    preset: Type.Optional(
      StringEnum(PRESET_NAMES, {
        description: 'Vendor preset that fills endpoint, protocol, headers and compression (exporter-config/presets).',
      }),
    ),
    preset_options: Type.Record(Type.String(), Type.String(), {
      default: {},
      description: 'Options of the preset, e.g. `{ region: eu }` (Honeycomb), `{ site: datadoghq.eu }` (Datadog).',
    }),
  },
  { additionalProperties: false, description: 'Send OTLP to a Collector or a vendor.' },
);

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
    max_in_flight: Type.Integer({ minimum: 1, default: 2, description: 'Export calls in flight per exporter.' }),
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
    shutdown_timeout_ms: ms(10_000, 'How long shutdown waits for queues to drain.', 0),
    once_timeout_ms: ms(
      300_000,
      '`run --once` gives up after this long (reading and delivery): it stops, keeps what is undelivered in the disk queue for the next start, and exits 1 saying how many records and where (`--once-timeout`).',
      1,
    ),
  },
  { additionalProperties: false },
);

/** The YAML document after validation and defaults (snake_case). */
export type RawConfig = Static<typeof ConfigSchema>;
