// Attributes an encoder writes after a record's own, handed beside the records instead of merged into copies of
// their attributes. The integrity chain adds five to every record it seals (receiver/integrity/chain.ts): a merged
// copy cost an attribute object per record and pushed records past V8's fast-properties limit, so every later
// for…in over them ran on a dictionary-mode object (bench/README.md, "The seal path"). A map rather than a field on
// (a clone of) the record: a clone with one more property doubles the record shapes the encoder sees, and its
// property reads went megamorphic (measured: encode 2× slower).
import type { KataLogRecord } from '../model/record.js';

/** Flat `[key, value, key, value, …]`, none of the keys among the record's own attributes (the producer checks). */
export type ExtraAttributes = readonly unknown[];

/** Per record object of a batch, its extra attributes. */
export type ExtraAttributesOf = ReadonlyMap<KataLogRecord, ExtraAttributes>;
