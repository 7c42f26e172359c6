// The configuration as the rest of kata-otel sees it: the YAML (snake_case) after validation and defaults, with
// keys in camelCase and the computed settings filled in (exporter names, endpoints, store directories).
import type { Static } from '@sinclair/typebox';
import type { OtlpExporterConfig } from '../exporters/otlp-config.js';
import type { ConfigSchema, PresetName, StdoutExporterSchema, StoreExporterSchema, RawConfig } from './schema.js';

type Camel<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;

/** Deep snake_case → camelCase of object keys; maps with arbitrary keys (headers, attributes) keep theirs. */
export type CamelKeys<T> = T extends readonly (infer U)[]
  ? CamelKeys<U>[]
  : T extends object
    ? string extends keyof T
      ? T
      : { [K in keyof T as K extends string ? Camel<K> : K]: CamelKeys<T[K]> }
    : T;

/** Deep partial of the YAML shape: what a file or `overrides` may give. */
export type DeepPartial<T> = T extends readonly (infer U)[]
  ? DeepPartial<U>[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** What `loadConfig` accepts as overrides: any part of the YAML document (snake_case keys). */
export type ConfigInput = DeepPartial<Static<typeof ConfigSchema>>;

/**
 * An otlp exporter as configured: the keys written in the file, with the vendor preset's endpoint, protocol,
 * headers and compression filled in where the file has none. The OTEL_EXPORTER_OTLP_* variables and the
 * defaults are applied by `resolveOtlpSettings` (receiver/exporters/otlp-config.ts) when the exporter starts;
 * loadConfig has already run it once, so a bad endpoint or TLS file is reported with its line.
 * Header values may be secrets read from the environment: never log them (see redactConfig).
 */
export type OtlpExporterEntry = OtlpExporterConfig & {
  type: 'otlp';
  name: string;
  preset: PresetName | null;
  presetOptions: Record<string, string>;
};

export type StoreExporterConfig = Omit<CamelKeys<Static<typeof StoreExporterSchema>>, 'name' | 'directory'> & {
  name: string;
  /** Absolute path. */
  directory: string;
};

export type StdoutExporterConfig = Omit<CamelKeys<Static<typeof StdoutExporterSchema>>, 'name'> & { name: string };

export type ExporterConfig = OtlpExporterEntry | StoreExporterConfig | StdoutExporterConfig;

export type ReceiverConfig = Omit<CamelKeys<RawConfig>, 'exporters' | 'dataDir'> & {
  /** Absolute path. */
  dataDir: string;
  exporters: ExporterConfig[];
  /** The file the configuration came from, or null (defaults only). */
  source: string | null;
};

export type FileSourceConfig = ReceiverConfig['sources']['files'][number];
export type JournaldConfig = ReceiverConfig['sources']['journald'];
export type VsockConfig = ReceiverConfig['sources']['vsock'];
export type FifoConfig = ReceiverConfig['sources']['fifo'];
export type PipelineConfig = ReceiverConfig['pipeline'];
export type QueueConfig = ReceiverConfig['queue'];
export type TelemetryConfig = ReceiverConfig['telemetry'];
