// Attributes an encoder writes after a record's own, carried beside the record instead of merged into a copy of
// its attributes. The integrity chain adds five to every record it seals (receiver/integrity/chain.ts): a merged
// copy cost an attribute object per record and pushed records past V8's fast-properties limit, so every later
// for…in over them ran on a dictionary-mode object (bench/README.md, "The seal path").
// A symbol key: for…in, Object.keys and JSON.stringify do not see it, so only the encoders that look for it
// (encode-proto.ts, encode-json.ts) write it; a codec says so with PayloadCodec.extraAttributes.
import type { KataLogRecord } from '../model/record.js';

export const EXTRA_ATTRIBUTES: unique symbol = Symbol('kata-otel.extraAttributes');

/** Flat `[key, value, key, value, …]`, none of the keys among the record's own attributes (the producer checks). */
export type ExtraAttributes = readonly unknown[];

export type WithExtra = KataLogRecord & { readonly [EXTRA_ATTRIBUTES]?: ExtraAttributes };

export const extraOf = (r: KataLogRecord): ExtraAttributes | undefined => (r as WithExtra)[EXTRA_ATTRIBUTES];
