// Builds the OTLP exporter for a config entry: resolves settings (config > env > defaults), logs the
// warnings, and picks gRPC or HTTP by protocol. Throws OtlpConfigError for unusable settings (startup).
import type { Logger } from '../telemetry/log.js';
import { resolveOtlpSettings, type OtlpExporterConfig, type OtlpSettings } from './otlp-config.js';
import { OtlpGrpcExporter } from './otlp-grpc.js';
import { OtlpHttpExporter } from './otlp-http.js';
import type { Exporter } from './types.js';
import type { BuiltExporter, ExporterEnv } from '../components/types.js';
import type { OtlpExporterEntry } from '../config/types.js';

export interface CreateOtlpExporterOptions {
  /** Exporter name (metrics label, logs). */
  name?: string;
  env?: Record<string, string | undefined>;
  logger?: Logger;
}

export function createOtlpExporter(
  config: Partial<OtlpExporterConfig> = {},
  opts: CreateOtlpExporterOptions = {},
): { exporter: Exporter; settings: OtlpSettings } {
  const settings = resolveOtlpSettings(config, opts.env ?? process.env);
  const name = opts.name !== undefined ? { name: opts.name } : {};
  const exporter =
    settings.protocol === 'grpc' ? new OtlpGrpcExporter(settings, name) : new OtlpHttpExporter(settings, name);
  for (const w of settings.warnings) opts.logger?.warn(w, { exporter: exporter.name });
  opts.logger?.info('OTLP exporter configured', {
    exporter: exporter.name,
    protocol: settings.protocol,
    endpoint: settings.endpoint,
    compression: settings.compression,
    timeoutMs: settings.timeoutMs,
    origin: settings.origin,
  });
  return { exporter, settings };
}

/** The registry's factory (otlp-schema.ts). */
export function otlpExporterFactory(e: OtlpExporterEntry, env: ExporterEnv): BuiltExporter {
  const built = createOtlpExporter(e, { name: e.name, logger: env.logger });
  return { exporter: built.exporter, otlp: built.settings };
}
