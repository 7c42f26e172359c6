// The OTLP exporter's settings schema (its descriptor, in the `*-component.ts` beside it, loads this lazily): its settings (an `exporters[]` entry of `type: otlp`).
import { Type } from '@sinclair/typebox';
import { ExporterName, StringEnum } from '../config/schema-kit.js';

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
