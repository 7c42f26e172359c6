// Vendor presets: exporter-config/presets/<name>.yaml says, for one backend, which endpoint, protocol, headers
// and compression an otlp exporter needs, with secrets read from environment variables named in the file.
// An exporter picks one with `preset: <name>`; its own keys override what the preset fills.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { describeErrors } from './ajv.js';
import { closest } from './errors.js';
import { PRESET_NAMES, validatePresetFile } from './generated/validate-config.js';
import type { Preset } from './preset-schema.js';
import type { OtlpProtocol, PresetName } from './schema.js';
import { expand, TemplateError } from './template.js';

export type { Preset } from './preset-schema.js';

export interface ResolvedPreset {
  protocol: OtlpProtocol;
  /** The endpoint the preset gives; absent when the exporter sets its own (`given.endpoint`). */
  endpoint?: string;
  headers: Record<string, string>;
  compression: 'gzip' | 'none';
}

/** A preset problem; `key` says which exporter key it is about (for the config error's line). */
export class PresetError extends Error {
  constructor(
    message: string,
    readonly key: 'preset' | 'protocol' | 'preset_options' | 'headers',
    readonly option?: string,
    readonly variable?: string,
  ) {
    super(message);
    this.name = 'PresetError';
  }
}

/** exporter-config/presets, from the source tree (tsx) or from dist/ after `npm run build`. */
export function presetsDir(): string {
  for (const rel of ['../../exporter-config/presets/', '../../../exporter-config/presets/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(dir)) return dir;
  }
  throw new Error('kata-otel: exporter-config/presets not found next to the installed package; reinstall kata-otel');
}

const cache = new Map<string, Map<string, Preset>>();

/** Read and validate every preset file (once per directory). Throws when a file is malformed (a packaging bug). */
export function loadPresets(dir = presetsDir()): Map<string, Preset> {
  const hit = cache.get(dir);
  if (hit) return hit;
  // Compiled at build time from config/preset-schema.ts (gen-validator.ts).
  const validate = validatePresetFile as ValidateFunction<Preset>;
  const presets = new Map<string, Preset>();
  for (const name of PRESET_NAMES as readonly PresetName[]) {
    const file = `${dir}/${name}.yaml`;
    const doc: unknown = parse(readFileSync(file, 'utf8'));
    if (!validate(doc)) {
      const p = describeErrors(validate.errors ?? [])[0];
      throw new Error(`${file}: ${p?.path ?? ''}: ${p?.message ?? 'invalid preset'}`);
    }
    if (doc.name !== name) throw new Error(`${file}: name is "${doc.name}"; it must be "${name}" (the file name)`);
    if (!(doc.default_protocol in doc.protocols)) {
      throw new Error(`${file}: default_protocol ${doc.default_protocol} has no entry under protocols; add one`);
    }
    presets.set(name, doc);
  }
  cache.set(dir, presets);
  return presets;
}

/** Environment variables a preset reads: `required` ones make resolution fail when unset. */
export function presetVariables(preset: Preset): { required: string[]; optional: string[] } {
  const texts = [
    ...Object.values(preset.protocols).filter((t): t is string => t !== undefined),
    ...Object.values(preset.headers),
    ...Object.values(preset.options).map((o) => o.default),
  ];
  const required = new Set<string>();
  const optional = new Set<string>();
  for (const t of texts) {
    for (const m of t.matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)(:-)?/g))
      (m[2] ? optional : required).add(m[1] as string);
  }
  for (const v of required) optional.delete(v);
  return { required: [...required].sort(), optional: [...optional].sort() };
}

export interface PresetRequest {
  /** The protocol the exporter asks for; default: the preset's. */
  protocol?: OtlpProtocol;
  /** `preset_options` of the exporter. */
  options?: Record<string, string>;
  env: Record<string, string | undefined>;
  /** What the exporter sets itself: those templates are not evaluated, so their variables are not needed. */
  given?: { endpoint?: boolean; headers?: readonly string[] };
  dir?: string;
}

/** Fill an exporter from a preset. Throws PresetError naming the missing variable, bad option or protocol. */
export function resolvePreset(name: string, req: PresetRequest): ResolvedPreset {
  const presets = loadPresets(req.dir);
  const preset = presets.get(name);
  if (!preset) {
    const near = closest(name, [...presets.keys()]);
    throw new PresetError(
      `no preset "${name}"; ${near ? `did you mean "${near}"?` : `use one of ${[...presets.keys()].join(', ')}`}`,
      'preset',
    );
  }
  const wrap = <T>(key: PresetError['key'], fn: () => T, option?: string): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof TemplateError)
        throw new PresetError(`preset ${name}: ${err.message}`, key, option, err.variable);
      throw err;
    }
  };

  for (const key of Object.keys(req.options ?? {})) {
    if (!(key in preset.options)) {
      const names = Object.keys(preset.options);
      const near = closest(key, names);
      throw new PresetError(
        `preset ${name} has no option "${key}"; ${near ? `did you mean "${near}"?` : names.length ? `its options are ${names.join(', ')}` : 'it takes no options; remove preset_options'}`,
        'preset_options',
        key,
      );
    }
  }

  // Options first (their defaults may read the environment), then the templates that use them.
  const options: Record<string, string> = {};
  let allowed: readonly OtlpProtocol[] = Object.keys(preset.protocols) as OtlpProtocol[];
  for (const [key, spec] of Object.entries(preset.options)) {
    const chosen =
      req.options?.[key] ?? wrap('preset_options', () => expand(spec.default, { env: req.env }).value, key);
    if (spec.values === undefined) {
      options[key] = chosen;
      continue;
    }
    const choices = Array.isArray(spec.values)
      ? Object.fromEntries(spec.values.map((v) => [v, v] as const))
      : (spec.values as Record<string, string | { value: string; protocols: OtlpProtocol[] }>);
    const picked = choices[chosen];
    if (picked === undefined) {
      const near = closest(chosen, Object.keys(choices));
      throw new PresetError(
        `preset ${name}: option ${key} "${chosen}" is not one of ${Object.keys(choices).join(', ')}; ${near ? `did you mean "${near}"?` : 'use one of them'}`,
        'preset_options',
        key,
      );
    }
    if (typeof picked === 'string') options[key] = picked;
    else {
      options[key] = picked.value;
      allowed = allowed.filter((p) => picked.protocols.includes(p));
    }
  }

  const protocol = req.protocol ?? (allowed.includes(preset.default_protocol) ? preset.default_protocol : allowed[0]);
  const template = protocol !== undefined && allowed.includes(protocol) ? preset.protocols[protocol] : undefined;
  if (protocol === undefined || template === undefined) {
    throw new PresetError(
      `preset ${name} supports only ${allowed.join(', ')}${req.protocol ? `, not ${req.protocol}` : ''}; set protocol to one of them or remove it`,
      'protocol',
    );
  }
  const ctx = { env: req.env, options, providers: ['env', 'option', 'base64'] as const };
  // A base URL variable written with a trailing slash must not give `//v1/logs`.
  const endpoint = req.given?.endpoint
    ? undefined
    : wrap('preset', () => expand(template, ctx).value).replace(
        /^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*)(.*)$/,
        (_m, origin: string, path: string) => origin + path.replace(/\/{2,}/g, '/'),
      );
  const own = new Set((req.given?.headers ?? []).map((h) => h.toLowerCase()));
  const headers: Record<string, string> = {};
  for (const [header, text] of Object.entries(preset.headers)) {
    if (own.has(header.toLowerCase())) continue;
    const v = wrap('preset', () => expand(text, ctx));
    // A header built from an optional, unset value (a dataset, a tenant, basic-auth credentials) is left out.
    if (!v.emptyOptional) headers[header] = v.value;
  }
  return { protocol, ...(endpoint === undefined ? {} : { endpoint }), headers, compression: preset.compression };
}

export type { PresetName };
