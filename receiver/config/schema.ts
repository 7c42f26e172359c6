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
    // Who may write trusted entries (docs/security.md): anyone can log with identifier `kata` (`logger -t kata`).
    trust: section(
      {
        uids: Type.Array(Type.Integer({ minimum: 0 }), {
          default: [0],
          description: 'Writer `_UID`s that can be trusted (Kata, containerd and CRI-O run as root).',
        }),
        commands: strings(
          ['containerd-shim', 'containerd', 'crio', 'kata-runtime', 'kata-monitor', 'virtiofsd'],
          'Writer `_COMM` names (15 characters at most, as the kernel keeps them): `containerd-shim` is containerd-shim-kata-v2.',
        ),
        executables: strings(
          ['containerd-shim-kata-v2', 'containerd', 'crio', 'kata-runtime', 'kata-monitor', 'virtiofsd'],
          'Writer `_EXE` file names (any directory); the Go runtime and runtime-rs both install containerd-shim-kata-v2.',
        ),
        units: strings(['containerd.service', 'crio.service'], 'Writer `_SYSTEMD_UNIT`s whose processes are trusted.'),
      },
      'An entry is trusted (`kata.log.trusted: true`) when its `_UID` is listed and its `_COMM`, `_EXE` or `_SYSTEMD_UNIT` is; other entries are kept with `kata.log.trusted: false` and raise no security alert.',
    ),
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
        cri: section(
          {
            enabled: bool(
              true,
              "Ask the CRI runtime (ListPodSandbox, ListContainers) for ids whose OCI bundle is gone, and for containerd's restart counts.",
            ),
            endpoints: strings(
              ['/run/containerd/containerd.sock', '/run/k3s/containerd/containerd.sock', '/var/run/crio/crio.sock'],
              'CRI unix sockets (containerd, k3s, CRI-O); every one present that answers is used, absent ones are skipped silently.',
            ),
            timeout_ms: ms(2_000, 'Deadline of each CRI call; a slow runtime leaves records unchanged.', 1),
            refresh_interval_ms: ms(
              10_000,
              'Least time between two refreshes of the CRI snapshot (one ListPodSandbox + ListContainers per socket), however many ids miss.',
            ),
          },
          'CRI API fallback (docs/k8s.md).',
        ),
      },
      'Kubernetes metadata from OCI bundle annotations, CRI runtime log lines and the CRI API (docs/k8s.md).',
    ),
    lifecycle: section(
      {
        enabled: bool(
          true,
          'Build sandbox lifecycle traces from the runtime lines, stamp each record with its trace/span and `kata.lifecycle.phase`, and export the spans beside the logs (docs/tracing.md).',
        ),
        execs: bool(false, 'Also build a span per exec from debug lines (one per liveness probe).'),
        idle_ms: ms(
          DAY_MS,
          'A sandbox with no record for this long (record time) has its open spans closed, marked `kata.span.incomplete`.',
          1,
        ),
        retain_ms: ms(600_000, 'How long an ended sandbox is remembered, so late records still get its trace.', 1),
        agent_spans: bool(
          false,
          "Listen at each hybrid-vsock sandbox's `<socket>_10240` for the guest agent's own spans (agent tracing on, Kata >= 3.29) and put them in the sandbox's trace; roots as sources.vsock.roots.",
        ),
        agent_span_max_frame_bytes: bytes(
          1024 * 1024,
          'Largest agent span frame accepted; a larger one drops its connection.',
        ),
        metrics_interval_ms: ms(
          60_000,
          'How often the derived lifecycle metrics (durations, failures, records by component) are queued for export.',
          1000,
        ),
      },
      'Sandbox lifecycle traces (docs/tracing.md).',
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
    // Audit trail (docs/audit.md): secrets hidden before anything is queued, stored, alerted on or exported.
    redaction: section(
      {
        enabled: bool(true, 'Redact secrets in the body and every string attribute, first after parsing.'),
        builtin: bool(
          true,
          'Use the built-in detectors (secret-named keys/Env entries, URL and bearer credentials, private keys, token shapes).',
        ),
        action: StringEnum(['mask', 'hash'] as const, {
          default: 'mask',
          description:
            'What the built-in detectors do: `mask` writes `[REDACTED]`; `hash` a keyed HMAC (`[HMAC:…]`, needs `hmac_key_file`).',
        }),
        hmac_key_file: Nullable(Type.String({ minLength: 1 }), {
          default: null,
          description: 'File holding the HMAC key for `hash` (16–4096 bytes, mode 0600).',
        }),
        rules: Type.Array(
          Type.Object(
            {
              name: Type.Optional(Type.String({ minLength: 1, description: 'Label in self-metrics.' })),
              attribute: Type.Optional(
                Type.String({
                  minLength: 1,
                  description: 'An attribute whose whole value is secret (exact name, or prefix ending in `*`).',
                }),
              ),
              key: Type.Optional(
                Type.String({
                  minLength: 1,
                  description: 'RE2 pattern for key names handled like the built-in secret keys.',
                }),
              ),
              regex: Type.Optional(
                Type.String({
                  minLength: 1,
                  description:
                    'RE2 pattern hidden in the body and every string attribute (group 1 only, when it has one).',
                }),
              ),
              action: StringEnum(['mask', 'hash', 'drop'] as const, {
                default: 'mask',
                description: '`drop` removes the attribute, or the whole record when the body matched.',
              }),
            },
            { additionalProperties: false, minProperties: 2 },
          ),
          { default: [], description: 'Extra redaction rules; each needs one of `attribute`, `key`, `regex`.' },
        ),
      },
      'Secret redaction (docs/audit.md).',
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
