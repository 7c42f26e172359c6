// Attribute limits (OTel's LogRecordLimits): at most `maxAttributes` record attributes (OTel's default 128) and
// string values (and each element of a string list) cut to `maxValueLength` characters. A guest controls the text,
// and a 1 MiB JSON line with 62k keys otherwise becomes 62k `kata.field.*` attributes (3.4 MB stored). A record
// that was limited carries `kata.log.truncated = true` and is counted (kata_otel_records_limited_total{limit}).
//
// What is kept when there are too many: the resource attributes (they are not record attributes in OTLP), then
// every attribute kata-otel itself defines (the semconv registry: sandbox, component, file path, parse error…),
// then the `kata.field.*` copies of the line's own keys, in the order they were written.
import type { AttrValue, Attributes, KataLogRecord } from '../model/record.js';
import { ATTR_KATA_LOG_TRUNCATED, RESOURCE_ATTRIBUTE_KEYS } from '../semconv/generated.js';
import type { StageEnv } from '../components/types.js';
import type { PipelineConfig } from '../config/types.js';
import type { Stage } from './types.js';

export const DEFAULT_MAX_ATTRIBUTES = 128;
export const DEFAULT_MAX_VALUE_LENGTH = 16 * 1024;

const FIELD_PREFIX = 'kata.field.';
const RESOURCE = new Set(RESOURCE_ATTRIBUTE_KEYS);

export interface LimitsOptions {
  /** Most record attributes (resource attributes not counted); 0 = no limit. Default 128. */
  maxAttributes?: number;
  /** Longest string value (or list element), in characters; 0 = no limit. Default 16384. */
  maxValueLength?: number;
  /** Told about each record limited, per limit (the receiver counts it; a callback keeps prom-client out of
   *  `kata-otel parse`). */
  onLimited?: (limit: 'attribute_count' | 'value_length') => void;
}

/** Cut `s` to `n` UTF-16 units without splitting a surrogate pair. */
function cut(s: string, n: number): string {
  const c = s.charCodeAt(n - 1);
  return s.slice(0, c >= 0xd800 && c <= 0xdbff ? n - 1 : n);
}

export class LimitsStage implements Stage {
  readonly name = 'limits';
  private readonly maxAttributes: number;
  private readonly maxValueLength: number;
  private readonly onLimited?: (limit: 'attribute_count' | 'value_length') => void;
  /** Records limited so far, by limit. */
  readonly limited = { attributeCount: 0, valueLength: 0 };

  constructor(opts: LimitsOptions = {}) {
    this.maxAttributes = opts.maxAttributes ?? DEFAULT_MAX_ATTRIBUTES;
    this.maxValueLength = opts.maxValueLength ?? DEFAULT_MAX_VALUE_LENGTH;
    this.onLimited = opts.onLimited;
  }

  process(records: KataLogRecord[]): KataLogRecord[] {
    for (const r of records) this.limit(r);
    return records;
  }

  /** Apply the limits to one record in place; true when it was changed. */
  limit(r: KataLogRecord): boolean {
    const attrs = r.attributes;
    const maxLen = this.maxValueLength;
    let count = 0;
    let longValue = false;
    // Every attribute counted first; the resource ones are only told apart when there are too many in all.
    for (const k in attrs) {
      count++;
      if (maxLen > 0 && !longValue) {
        const v = attrs[k] as AttrValue;
        if (typeof v === 'string') longValue = v.length > maxLen;
        else if (Array.isArray(v)) longValue = v.some((e) => e.length > maxLen);
      }
    }
    if (this.maxAttributes > 0 && count > this.maxAttributes) for (const k in attrs) if (RESOURCE.has(k)) count--;
    const tooMany = this.maxAttributes > 0 && count > this.maxAttributes;
    if (!tooMany && !longValue) return false;
    if (tooMany) {
      r.attributes = this.keep(attrs);
      this.limited.attributeCount++;
      this.onLimited?.('attribute_count');
    }
    if (longValue) {
      const a = r.attributes;
      for (const k in a) {
        const v = a[k] as AttrValue;
        if (typeof v === 'string' && v.length > maxLen) a[k] = cut(v, maxLen);
        else if (Array.isArray(v) && v.some((e) => e.length > maxLen))
          a[k] = v.map((e) => (e.length > maxLen ? cut(e, maxLen) : e));
      }
      this.limited.valueLength++;
      this.onLimited?.('value_length');
    }
    r.attributes[ATTR_KATA_LOG_TRUNCATED] = true;
    return true;
  }

  /** The attributes to keep, leaving room for kata.log.truncated. */
  private keep(attrs: Attributes): Attributes {
    const room = this.maxAttributes - 1;
    const out: Attributes = {};
    let n = 0;
    // Resource attributes and kata-otel's own attributes first, then the line's own fields.
    for (const k in attrs) {
      if (RESOURCE.has(k)) out[k] = attrs[k] as AttrValue;
      else if (!k.startsWith(FIELD_PREFIX) && k !== ATTR_KATA_LOG_TRUNCATED && n < room) {
        out[k] = attrs[k] as AttrValue;
        n++;
      }
    }
    for (const k in attrs) {
      if (n >= room) break;
      if (k.startsWith(FIELD_PREFIX)) {
        out[k] = attrs[k] as AttrValue;
        n++;
      }
    }
    return out;
  }
}

/** The registry's factory (limits-config.ts). */
export function createLimitsStage(l: PipelineConfig['limits'], env: StageEnv): { stage: LimitsStage } {
  return {
    stage: new LimitsStage({
      maxAttributes: l.maxAttributes,
      maxValueLength: l.maxAttributeValueLength,
      onLimited: (limit) => env.metrics.limited.inc({ limit }),
    }),
  };
}
