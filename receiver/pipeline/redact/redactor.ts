// The redactor: finds secret values in a string (built-in detectors plus user rules), merges the spans, and
// replaces each with a mask or a keyed HMAC; applied to a record's body and every string attribute. User regexes
// run on RE2 (re2js), which matches in linear time whatever the pattern, because they run on guest-written text.
import { createHmac } from 'node:crypto';
import { RE2JS } from 're2js';
import type { KataLogRecord } from '../../model/record.js';
import { ATTR_KATA_FIELD_PREFIX, ATTR_KATA_REDACTED_COUNT } from '../../semconv/generated.js';
import { builtinDetectors, builtinKeyRule, keyValueDetector, type Detector, type Span } from './detectors.js';
import { isSecretKey } from './keys.js';
import { KEY_VALUE, triggered } from './trigger.js';
import { ownCopy } from '../k8s/cache.js';

export type RedactAction = 'mask' | 'hash' | 'drop';

export interface RedactRule {
  /** Self-metrics label; default `rule-<n>`. */
  name?: string;
  /** An attribute whose whole value is secret: an exact name, or a prefix ending in `*`. */
  attribute?: string;
  /** RE2 pattern for key names treated like the built-in secret keys (`KEY=VALUE`, `key: value`, `kata.field.<key>`). */
  key?: string;
  /** RE2 pattern matched in the body and every string attribute; with a capture group only group 1 is hidden. */
  regex?: string;
  action: RedactAction;
}

export interface RedactorOptions {
  /** Use the built-in detectors (default true). */
  builtin?: boolean;
  /** What the built-in detectors do with a secret: `mask` (default) or `hash`. */
  action?: Exclude<RedactAction, 'drop'>;
  /** The HMAC key for `hash`; required when any rule hashes. */
  hmacKey?: Buffer;
  rules?: RedactRule[];
  /** Called once per redacted value with its rule and action (self-metrics). */
  onRedact?: (rule: string, action: RedactAction) => void;
}

export const MASK = '[REDACTED]';
const CACHE_STRING = 256;
const CACHE_ENTRIES = 8192;
const KEY_CACHE_ENTRIES = 4096;
/** An attribute's values are looked up in the clean cache while at least one in HIT_RATIO was found there, judged
 *  every SAMPLE values; below that (a cursor, a record uid, a timestamp or request id in a field: a new value on
 *  every record) they are only scanned, for the next SKIP values, then sampled again. */
const SAMPLE = 256;
const HIT_RATIO = 8;
const SKIP = 4096;
const SECRET_FIELD = 'secret-field';
const STRENGTH: Record<RedactAction, number> = { mask: 0, hash: 1, drop: 2 };

interface Compiled {
  name: string;
  action: RedactAction;
  attribute?: { name: string; prefix: boolean };
  key?: RE2JS;
  regex?: RE2JS;
}

/** A user pattern that RE2 refuses, with the rule it came from: the config loader turns it into an error. */
export class RedactRuleError extends Error {}

function compile(pattern: string, rule: string, what: string): RE2JS {
  try {
    return RE2JS.compile(pattern);
  } catch (err) {
    throw new RedactRuleError(
      `redaction rule '${rule}': ${what} ${JSON.stringify(pattern)} is not a valid RE2 pattern (${(err as Error).message}); RE2 has no lookaround or backreferences`,
    );
  }
}

/** What the redactor keeps per attribute name (names repeat on every record). */
interface KeyInfo {
  /** The rule hiding its whole value, SECRET_FIELD for a `kata.field.<secret key>`, or null. */
  kind: Compiled | typeof SECRET_FIELD | null;
  /** Values looked up in the clean cache since the last verdict, and how many were there. */
  looked: number;
  hits: number;
  /** Values still to scan without the cache (0: the cache is used). */
  skip: number;
  /** The last value found clean through the cache: most attributes hold the same value record after record
   *  (service, format, host, unit, version), and comparing with it is cheaper than a cache lookup. */
  last: string;
}

export interface RedactResult {
  text: string;
  count: number;
  drop: boolean;
}

export class Redactor {
  /** Built-in detectors with their trigger bits: each runs only on strings the trigger (trigger.ts) sets its bit for. */
  private readonly builtins: [number, Detector][];
  /** Detectors that run on every string (user rules; the key scanner when there are user key rules). */
  private readonly always: Detector[];
  /** Recent short strings known to hold no secret: attribute values repeat (paths, ids, names). A lookup hashes
   *  the string natively, several times cheaper than the trigger's scan. Two generations, so that filling it up
   *  does not forget the ids in use. */
  private clean = new Map<string, true>();
  private older = new Map<string, true>();
  private readonly rules: Compiled[];
  private readonly actionOf = new Map<string, RedactAction>();
  private readonly builtinAction: RedactAction;

  constructor(private readonly opts: RedactorOptions = {}) {
    this.builtinAction = opts.action ?? 'mask';
    this.rules = (opts.rules ?? []).map((r, i) => {
      const name = r.name ?? `rule-${i + 1}`;
      const c: Compiled = { name, action: r.action };
      if (r.attribute !== undefined) {
        const prefix = r.attribute.endsWith('*');
        c.attribute = { name: prefix ? r.attribute.slice(0, -1) : r.attribute, prefix };
      }
      if (r.key !== undefined) c.key = compile(r.key, name, 'key');
      if (r.regex !== undefined) c.regex = compile(r.regex, name, 'regex');
      this.actionOf.set(name, r.action);
      return c;
    });
    if (!opts.hmacKey && (this.builtinAction === 'hash' || this.rules.some((r) => r.action === 'hash')))
      throw new RedactRuleError('redaction: the `hash` action needs `hmac_key_file` (a file holding the HMAC key)');
    const keyRules = this.rules.filter((r) => r.key);
    const extraKey = keyRules.length ? (k: string) => keyRules.find((r) => r.key!.test(k))?.name : undefined;
    this.builtins = opts.builtin === false ? [] : builtinDetectors();
    this.always = [
      ...(extraKey ? [keyValueDetector(opts.builtin === false ? extraKey : builtinKeyRule(extraKey))] : []),
      ...this.rules.filter((r) => r.regex).map((r) => this.regexDetector(r)),
    ];
    // With user key rules the key scanner runs on every string (above), so the built-in list drops its own.
    if (extraKey) this.builtins = this.builtins.filter(([bit]) => bit !== KEY_VALUE);
  }

  private regexDetector(r: Compiled): Detector {
    const re = r.regex!;
    const group = re.groupCount() > 0 ? 1 : 0;
    return (s, out) => {
      const m = re.matcher(s);
      while (m.find()) {
        const start = m.start(group);
        const end = m.end(group);
        if (start >= 0 && end > start) out.push({ start, end, rule: r.name });
      }
    };
  }

  private action(rule: string): RedactAction {
    return this.actionOf.get(rule) ?? this.builtinAction;
  }

  private replacement(value: string, action: RedactAction): string {
    if (action !== 'hash') return MASK;
    // Keyed, so equal secrets stay correlatable without the digest being a dictionary-attack oracle.
    return `[HMAC:${createHmac('sha256', this.opts.hmacKey!).update(value).digest('hex').slice(0, 16)}]`;
  }

  /** The string with every secret value replaced. */
  redactString(s: string): RedactResult {
    const spans = this.find(s);
    return spans ? this.replace(s, spans) : { text: s, count: 0, drop: false };
  }

  /** Where the secrets in `s` are, or undefined when it holds none (most strings: nothing is allocated then). */
  private find(s: string): Span[] | undefined {
    const cacheable = s.length <= CACHE_STRING;
    if (cacheable && (this.clean.has(s) || this.older.has(s))) return undefined;
    const spans = this.scan(s);
    if (spans === undefined && cacheable) this.remember(s);
    return spans;
  }

  /** `find` for a value of attribute `info`: through the clean cache only while its values repeat. A value seen
   *  once costs more in the cache (hashing it, inserting it, keeping it alive into the old generation, pushing out
   *  the values that do repeat) than the trigger's scan of it. */
  private findValue(s: string, info: KeyInfo): Span[] | undefined {
    if (info.skip > 0) {
      info.skip--;
      return this.scan(s);
    }
    if (s === info.last) return undefined;
    if (s.length > CACHE_STRING) return this.scan(s);
    if (++info.looked === SAMPLE) {
      if (info.hits * HIT_RATIO < SAMPLE) info.skip = SKIP;
      info.looked = info.hits = 0;
    }
    if (this.clean.has(s) || this.older.has(s)) {
      info.hits++;
      info.last = s;
      return undefined;
    }
    const spans = this.scan(s);
    if (spans === undefined) {
      this.remember(s);
      info.last = s;
    }
    return spans;
  }

  /** A string known to hold no secret, in the clean cache. */
  private remember(s: string): void {
    if (this.clean.size >= CACHE_ENTRIES) {
      this.older = this.clean;
      this.clean = new Map();
    }
    this.clean.set(s, true);
  }

  /** The detectors the trigger wakes for `s`, and the ones that always run; undefined when none finds anything. */
  private scan(s: string): Span[] | undefined {
    let spans: Span[] | undefined;
    if (this.builtins.length) {
      const wake = triggered(s);
      if (wake !== 0) {
        spans = [];
        for (const [bit, d] of this.builtins) if (wake & bit) d(s, spans);
      }
    }
    if (this.always.length) {
      spans ??= [];
      for (const d of this.always) d(s, spans);
    }
    return spans !== undefined && spans.length > 0 ? spans : undefined;
  }

  /** `s` with the secrets at `spans` replaced. */
  private replace(s: string, spans: Span[]): RedactResult {
    spans.sort((a, b) => a.start - b.start || b.end - a.end);
    let text = '';
    let at = 0;
    let count = 0;
    let drop = false;
    for (let i = 0; i < spans.length;) {
      const first = spans[i]!;
      let end = first.end;
      let action = this.action(first.rule);
      const rules = [first.rule];
      for (i++; i < spans.length && spans[i]!.start < end; i++) {
        const o = spans[i]!;
        end = Math.max(end, o.end);
        const a = this.action(o.rule);
        if (STRENGTH[a] > STRENGTH[action]) action = a;
        rules.push(o.rule);
      }
      const start = Math.max(first.start, at);
      if (end <= start) continue;
      text += s.slice(at, start) + this.replacement(s.slice(start, end), action);
      at = end;
      count++;
      if (action === 'drop') drop = true;
      this.opts.onRedact?.(rules[0]!, action);
    }
    return { text: text + s.slice(at), count, drop };
  }

  private attributeRule(key: string): Compiled | undefined {
    for (const r of this.rules) {
      const a = r.attribute;
      if (a && (a.prefix ? key.startsWith(a.name) : key === a.name)) return r;
    }
    return undefined;
  }

  private keys = new Map<string, KeyInfo>();

  private keyInfo(key: string): KeyInfo {
    const known = this.keys.get(key);
    if (known !== undefined) return known;
    const kind =
      this.attributeRule(key) ??
      (this.opts.builtin !== false &&
      key.startsWith(ATTR_KATA_FIELD_PREFIX) &&
      isSecretKey(key.slice(ATTR_KATA_FIELD_PREFIX.length))
        ? SECRET_FIELD
        : null);
    const info: KeyInfo = { kind, looked: 0, hits: 0, skip: 0, last: '' };
    // A guest can write endless distinct keys: the cache stops growing, the answer is the same.
    if (this.keys.size < KEY_CACHE_ENTRIES && key.length <= CACHE_STRING) this.keys.set(ownCopy(key), info);
    return info;
  }

  /** Redact a record in place. Returns false when a `drop` rule matched its body (the record must go). */
  redactRecord(r: KataLogRecord): boolean {
    let count = 0;
    const spans = typeof r.body === 'string' && r.body ? this.find(r.body) : undefined;
    if (spans) {
      const res = this.replace(r.body, spans);
      if (res.drop) {
        this.opts.onRedact?.('record', 'drop');
        return false;
      }
      r.body = res.text;
      count += res.count;
    }
    const attrs = r.attributes;
    for (const k in attrs) {
      const v = attrs[k];
      const info = this.keyInfo(k);
      const kind = info.kind;
      if (kind !== null) {
        const whole = kind === SECRET_FIELD ? undefined : kind;
        const action = whole ? whole.action : this.builtinAction;
        this.opts.onRedact?.(whole ? whole.name : 'attribute-key', action);
        count++;
        if (action === 'drop') delete attrs[k];
        else
          attrs[k] = Array.isArray(v) ? v.map((e) => this.replacement(e, action)) : this.replacement(String(v), action);
        continue;
      }
      if (typeof v === 'string') {
        if (!v) continue;
        const spans = this.findValue(v, info);
        if (spans) {
          const res = this.replace(v, spans);
          count += res.count;
          if (res.drop) delete attrs[k];
          else attrs[k] = res.text;
        }
      } else if (Array.isArray(v)) {
        let changed = false;
        const out = v.map((e) => {
          const res = this.redactString(e);
          count += res.count;
          if (res.count) changed = true;
          return res.drop ? MASK : res.text;
        });
        if (changed) attrs[k] = out;
      }
    }
    if (count > 0) attrs[ATTR_KATA_REDACTED_COUNT] = count;
    return true;
  }
}
