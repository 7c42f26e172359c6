// The schema of a vendor preset file (exporter-config/presets/<name>.yaml). Used at build time only: the validator
// `loadPresets` runs is compiled into generated/validate-config.ts (gen-validator.ts), so typebox and ajv stay
// unloaded at run time.
import { Type, type Static } from '@sinclair/typebox';
import { OTLP_PROTOCOLS, PRESET_NAMES, StringEnum } from './schema.js';

const OptionValue = Type.Union([
  Type.String(),
  Type.Object(
    { value: Type.String(), protocols: Type.Array(StringEnum(OTLP_PROTOCOLS), { minItems: 1 }) },
    { additionalProperties: false },
  ),
]);

export const PresetFileSchema = Type.Object(
  {
    name: StringEnum(PRESET_NAMES),
    title: Type.String(),
    docs: Type.Array(Type.String({ format: 'uri' }), { minItems: 1 }),
    default_protocol: StringEnum(OTLP_PROTOCOLS),
    compression: StringEnum(['gzip', 'none'] as const),
    options: Type.Record(
      Type.String(),
      Type.Object(
        {
          description: Type.String(),
          default: Type.String(),
          values: Type.Optional(Type.Union([Type.Array(Type.String()), Type.Record(Type.String(), OptionValue)])),
        },
        { additionalProperties: false },
      ),
    ),
    /** Endpoint template per supported protocol. */
    protocols: Type.Object(
      {
        grpc: Type.Optional(Type.String()),
        'http/protobuf': Type.Optional(Type.String()),
        'http/json': Type.Optional(Type.String()),
      },
      { additionalProperties: false, minProperties: 1 },
    ),
    headers: Type.Record(Type.String(), Type.String()),
  },
  { additionalProperties: false },
);

export type Preset = Static<typeof PresetFileSchema>;
