// The redaction stage's settings schema (its descriptor, in the `*-component.ts` beside it, loads this lazily): `pipeline.redaction` (defaults stated only here).
import { Type } from '@sinclair/typebox';
import { Nullable, StringEnum, bool, section } from '../../config/schema-kit.js';

// Audit trail (docs/audit.md): secrets hidden before anything is queued, stored, alerted on or exported.
export const RedactionSchema = section(
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
              description: 'RE2 pattern hidden in the body and every string attribute (group 1 only, when it has one).',
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
);
