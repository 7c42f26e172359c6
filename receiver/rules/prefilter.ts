// A prefilter in front of the rule engine: for every rule, a necessary condition derived from its conditions at
// load time, cheap enough to test on every record, so a rule is only evaluated for records it could act on. Most
// built-in rules look for a handful of phrases in the body; on a busy node almost no record contains them, and
// evaluating 24 rules in full was the larger part of the pipeline's cost (bench/README.md). The prefilter is
// exact in one direction only: it may let a record through that the rule then rejects, never the reverse.
//
// Alternatives (a rule is evaluated when any of its alternatives holds):
//   eq      an attribute (or the body) equals one of a set of strings (exact for string values; any other
//           value type lets the record through)
//   exists  an attribute is present (every comparison on a missing attribute is false)
//   body    the body contains every character pair of a phrase, case folded: a 128-bit set of the body's
//           character pairs is built once per record, each phrase's set once at load time
// Absence and sequence rules also require their group_by fields: a record without them cannot take part.
import type { AttrValue, KataLogRecord } from '../model/record.js';
import { fieldValue, type Cond } from './condition.js';
import type { Rule } from './types.js';

type Alt =
  | { kind: 'eq'; field: string; values: Set<string> }
  | { kind: 'exists'; field: string }
  | { kind: 'body'; m0: number; m1: number; m2: number; m3: number };

/** Any of the alternatives; `undefined` = always (nothing cheap is known). */
type Need = Alt[] | undefined;

const RECORD_FIELDS = new Set(['body', 'severity_number', 'severity_text', 'event_name']);

// ---- character pairs ---------------------------------------------------------------------------------------

const pairMask = new Int32Array(4);

/** The set of case-folded character pairs of `s` into pairMask; false when `s` is not ASCII (no filtering). */
function pairsOf(s: string): boolean {
  pairMask[0] = pairMask[1] = pairMask[2] = pairMask[3] = 0;
  const n = s.length;
  if (n === 0) return true;
  let a = s.charCodeAt(0);
  if (a >= 0x80) return false;
  if (a >= 65 && a <= 90) a |= 0x20;
  for (let i = 1; i < n; i++) {
    let b = s.charCodeAt(i);
    if (b >= 0x80) return false;
    if (b >= 65 && b <= 90) b |= 0x20;
    const h = (a * 37 + b) & 127;
    pairMask[h >> 5] = (pairMask[h >> 5] as number) | (1 << (h & 31));
    a = b;
  }
  return true;
}

/** The `body` alternative for a phrase, or undefined when the phrase cannot be filtered on (short, non-ASCII). */
function phrase(text: string): Alt | undefined {
  if (text.length < 2 || !pairsOf(text)) return undefined;
  return {
    kind: 'body',
    m0: pairMask[0] as number,
    m1: pairMask[1] as number,
    m2: pairMask[2] as number,
    m3: pairMask[3] as number,
  };
}

// ---- literals a regular expression requires ----------------------------------------------------------------

/**
 * The runs of literal characters every match of an RE2 pattern contains, read conservatively: only runs at the
 * top level of the pattern (not in a group, class or alternation), less a character a quantifier makes optional;
 * scanning stops at anything not understood. [] when none is known (e.g. a top-level `|`).
 */
export function requiredLiterals(pattern: string): string[] {
  const runs: string[] = [];
  let run = '';
  const end = () => {
    if (run) runs.push(run);
    run = '';
  };
  let depth = 0;
  let inClass = false;
  // A top-level alternation: any branch may match, nothing is required of all (kept simple: give up).
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') {
      inClass = true;
      if (pattern[i + 1] === '^') i++;
      if (pattern[i + 1] === ']') i++;
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return [];
  }
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    const next = pattern[i + 1];
    if (c === '\\') {
      // An escaped punctuation character is itself; a letter or digit escape (\d, \b, \Q, \x41…) is not a literal.
      if (next === undefined || /[A-Za-z0-9]/.test(next)) break;
      run += next;
      i++;
    } else if (/[A-Za-z0-9 _:/,;=@#%&'"<>~`!-]/.test(c)) run += c;
    else if (c === '*' || c === '?') {
      run = run.slice(0, -1); // the character before is optional
      end();
      if (pattern[i + 1] === '?') i++;
      continue;
    } else if (c === '+') {
      end(); // the character before is there at least once
      if (pattern[i + 1] === '?') i++;
      continue;
    } else if (c === '{') {
      const q = /^\{(\d+)(,\d*)?\}\??/.exec(pattern.slice(i));
      if (!q) break;
      if (Number(q[1]) === 0) run = run.slice(0, -1);
      end();
      i += q[0].length - 1;
      continue;
    } else if (c === '[') {
      end();
      // Skip the class.
      let j = i + 1;
      if (pattern[j] === '^') j++;
      if (pattern[j] === ']') j++;
      for (; j < pattern.length && pattern[j] !== ']'; j++) if (pattern[j] === '\\') j++;
      if (j >= pattern.length) break;
      i = j;
      // A quantifier on the class: nothing to take back.
      continue;
    } else if (c === '(') {
      end();
      // Skip the group (its contents may be optional or alternatives).
      let d = 0;
      let j = i;
      let cls = false;
      for (; j < pattern.length; j++) {
        const x = pattern[j];
        if (x === '\\') j++;
        else if (cls) cls = x !== ']';
        else if (x === '[') cls = true;
        else if (x === '(') d++;
        else if (x === ')' && --d === 0) break;
      }
      if (j >= pattern.length) break;
      i = j;
      continue;
    } else if (c === '.' || c === '^' || c === '$') {
      end();
      continue;
    } else break;
    // A quantifier may follow the character just added: handled on the next turn (it takes it back if optional).
  }
  end();
  return runs;
}

/** The `body` alternative for a regex: the pairs of its required literal runs, or undefined when it has none. */
function regexPhrase(pattern: string): Alt | undefined {
  const runs = requiredLiterals(pattern).filter((r) => r.length >= 2);
  if (runs.length === 0) return undefined;
  const m = [0, 0, 0, 0];
  for (const r of runs) {
    if (!pairsOf(r.toLowerCase())) return undefined;
    for (let k = 0; k < 4; k++) m[k] = (m[k] as number) | (pairMask[k] as number);
  }
  return { kind: 'body', m0: m[0] as number, m1: m[1] as number, m2: m[2] as number, m3: m[3] as number };
}

// ---- deriving the necessary conditions ---------------------------------------------------------------------

/** How selective a need is (lower is better); always = Infinity. */
function cost(need: Need): number {
  if (need === undefined) return Infinity;
  let worst = 0;
  for (const a of need) worst = Math.max(worst, a.kind === 'exists' ? 2 : 1);
  return worst + need.length / 100;
}

function needOf(c: Cond): Need {
  switch (c.kind) {
    case 'not':
      return undefined;
    case 'or': {
      const out: Alt[] = [];
      for (const item of c.items) {
        const n = needOf(item);
        if (n === undefined) return undefined;
        out.push(...n);
      }
      return out;
    }
    case 'and': {
      // Any one child's need is necessary: take the most selective.
      let best: Need;
      for (const item of c.items) {
        const n = needOf(item);
        if (cost(n) < cost(best)) best = n;
      }
      return best;
    }
    case 'exists':
      return RECORD_FIELDS.has(c.field) ? undefined : [{ kind: 'exists', field: c.field }];
    case 'cmp': {
      const strings = c.values.every((v) => typeof v === 'string');
      if (c.op === 'eq' && strings && (c.field === 'body' || !RECORD_FIELDS.has(c.field)))
        return [{ kind: 'eq', field: c.field, values: new Set(c.values as string[]) }];
      if (c.field === 'body') {
        if (c.op === 'ne' || c.op === 'lt' || c.op === 'le' || c.op === 'gt' || c.op === 'ge') return undefined;
        if (c.op === 'eq') return undefined;
        if (c.op === 'regex' || c.op === 'iregex') {
          // Every value is a pattern; the body must hold the literal runs one of them requires.
          const out: Alt[] = [];
          for (const v of c.values) {
            const p = regexPhrase(String(v));
            if (p === undefined) return undefined;
            out.push(p);
          }
          return out;
        }
        const out: Alt[] = [];
        for (const v of c.values) {
          const p = phrase(String(v).toLowerCase());
          if (p === undefined) return undefined;
          out.push(p);
        }
        return out;
      }
      // Every comparison on a missing attribute is false (`!=` included).
      return RECORD_FIELDS.has(c.field) ? undefined : [{ kind: 'exists', field: c.field }];
    }
  }
}

function union(needs: Need[]): Need {
  const out: Alt[] = [];
  for (const n of needs) {
    if (n === undefined) return undefined;
    out.push(...n);
  }
  return out;
}

function ruleNeed(rule: Rule): Need {
  switch (rule.kind) {
    case 'match':
    case 'threshold':
      return needOf(rule.condition.ast);
    case 'absence':
      return union([needOf(rule.start.ast), needOf(rule.stop.ast), needOf(rule.condition.ast)]);
    case 'sequence':
      return union(rule.steps.map((s) => needOf(s.ast)));
  }
}

// ---- per record --------------------------------------------------------------------------------------------

/** A set of rules: one bit per rule index. */
type Bits = Int32Array;

/** Rules by the value of one field (eq alternatives): the rules whose set holds it, and those any non-string
 *  value lets through. */
const ALL_PAIRS = Int32Array.of(-1, -1, -1, -1);
const NO_PAIRS = new Int32Array(4);
const BODY_CACHE_STRING = 512;
const BODY_CACHE_ENTRIES = 2048;
/** The cache is used while one body in BODY_HIT_RATIO is found there (judged every BODY_SAMPLE bodies); below
 *  that, the next BODY_SKIP bodies are scanned without it. */
const BODY_SAMPLE = 256;
const BODY_HIT_RATIO = 4;
const BODY_SKIP = 4096;

interface EqIndex {
  field: number;
  byValue: Map<string, Bits>;
  nonString: Bits;
}

/**
 * The prefilter as sets of rules indexed by what a record has, so `begin` works out which rules may act on a
 * record with a few lookups per field rather than every rule testing its alternatives: field references are
 * indices into the values `begin` reads once per record.
 */
export class RulePrefilter {
  private readonly count: number;
  /** Every field some rule looks at, read once per record into `values`. */
  private readonly fields: string[] = [];
  private readonly values: (AttrValue | undefined)[] = [];
  /** Rules evaluated whatever the record (nothing cheap is known). */
  private readonly always: Bits;
  /** Body phrases: four mask words and the rule's index each. */
  private readonly phrases: Int32Array;
  private readonly eq: EqIndex[] = [];
  /** Per field: the rules an attribute's presence lets through. */
  private readonly exists: { field: number; rules: Bits }[] = [];
  /** Per field: the rules that need it present and non-empty (absence and sequence group_by). */
  private readonly requires: { field: number; rules: Bits }[] = [];
  /** The rules that may act on the record given to `begin`. */
  private readonly may_: Bits;
  /** Body → its pair masks (bodies repeat: a node prints the same messages over and over). The redaction stage
   *  before this one has already hashed a body for its own cache, so a lookup is cheaper than the pair scan. */
  private bodies = new Map<string, Int32Array>();
  private olderBodies = new Map<string, Int32Array>();
  private lastBody = '';
  private lastMasks: Int32Array = NO_PAIRS;
  /** Bodies looked up since the last verdict and how many were found; bodies still to scan without the cache
   *  (when a node's messages embed ids or times, each is new: the cache would only hold them alive). */
  private looked = 0;
  private hits = 0;
  private skip = 0;

  constructor(rules: readonly Rule[]) {
    this.count = rules.length;
    const words = (this.count + 31) >>> 5;
    const bits = (): Bits => new Int32Array(words);
    const add = (b: Bits, i: number) => (b[i >>> 5] = (b[i >>> 5] as number) | (1 << (i & 31)));
    this.always = bits();
    this.may_ = bits();
    const index = new Map<string, number>();
    const fieldIndex = (f: string): number => {
      let i = index.get(f);
      if (i === undefined) {
        i = this.fields.length;
        index.set(f, i);
        this.fields.push(f);
      }
      return i;
    };
    const perField = (list: { field: number; rules: Bits }[], f: string): Bits => {
      const field = fieldIndex(f);
      let e = list.find((x) => x.field === field);
      if (!e) list.push((e = { field, rules: bits() }));
      return e.rules;
    };
    const phrases: number[] = [];
    rules.forEach((rule, i) => {
      const need = ruleNeed(rule);
      if (rule.kind === 'absence' || rule.kind === 'sequence')
        for (const f of rule.groupBy) add(perField(this.requires, f), i);
      if (need === undefined) {
        add(this.always, i);
        return;
      }
      for (const a of need) {
        if (a.kind === 'body') phrases.push(a.m0, a.m1, a.m2, a.m3, i);
        else if (a.kind === 'exists') add(perField(this.exists, a.field), i);
        else {
          const field = fieldIndex(a.field);
          let e = this.eq.find((x) => x.field === field);
          if (!e) this.eq.push((e = { field, byValue: new Map(), nonString: bits() }));
          add(e.nonString, i);
          for (const v of a.values) {
            let b = e.byValue.get(v);
            if (!b) e.byValue.set(v, (b = bits()));
            add(b, i);
          }
        }
      }
    });
    this.phrases = Int32Array.from(phrases);
    this.values.length = this.fields.length;
  }

  /** Rules (by index) that are always evaluated: nothing cheap is known about them. */
  get unfiltered(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) if (((this.always[i >>> 5] as number) >>> (i & 31)) & 1) n++;
    return n;
  }

  /** Call once per record before `may`. */
  begin(r: KataLogRecord): void {
    const m = this.may_;
    m.set(this.always);
    const values = this.values;
    for (let i = 0; i < this.fields.length; i++) values[i] = fieldValue(r, this.fields[i] as string);
    const p = this.phrases;
    if (p.length > 0) {
      const body = r.body;
      const masks = typeof body === 'string' ? this.bodyPairs(body) : ALL_PAIRS;
      const b0 = masks[0] as number;
      const b1 = masks[1] as number;
      const b2 = masks[2] as number;
      const b3 = masks[3] as number;
      for (let k = 0; k < p.length; k += 5) {
        const m0 = p[k] as number;
        const m1 = p[k + 1] as number;
        const m2 = p[k + 2] as number;
        const m3 = p[k + 3] as number;
        if ((m0 & b0) === m0 && (m1 & b1) === m1 && (m2 & b2) === m2 && (m3 & b3) === m3) {
          const i = p[k + 4] as number;
          m[i >>> 5] = (m[i >>> 5] as number) | (1 << (i & 31));
        }
      }
    }
    for (const e of this.eq) {
      const v = values[e.field];
      if (v === undefined) continue;
      const b = typeof v === 'string' ? e.byValue.get(v) : e.nonString;
      if (b !== undefined) for (let w = 0; w < m.length; w++) m[w] = (m[w] as number) | (b[w] as number);
    }
    for (const e of this.exists) {
      if (values[e.field] === undefined) continue;
      const b = e.rules;
      for (let w = 0; w < m.length; w++) m[w] = (m[w] as number) | (b[w] as number);
    }
    for (const e of this.requires) {
      const v = values[e.field];
      if (v !== undefined && v !== '') continue;
      const b = e.rules;
      for (let w = 0; w < m.length; w++) m[w] = (m[w] as number) & ~(b[w] as number);
    }
  }

  /** The character-pair masks of a body (all bits when it is not ASCII: nothing is filtered out). */
  private bodyPairs(body: string): Int32Array {
    if (body === this.lastBody) return this.lastMasks;
    let cacheable = body.length <= BODY_CACHE_STRING;
    if (this.skip > 0) {
      this.skip--;
      cacheable = false;
    } else if (cacheable && ++this.looked === BODY_SAMPLE) {
      if (this.hits * BODY_HIT_RATIO < BODY_SAMPLE) this.skip = BODY_SKIP;
      this.looked = this.hits = 0;
    }
    let masks = cacheable ? (this.bodies.get(body) ?? this.olderBodies.get(body)) : undefined;
    if (masks !== undefined) this.hits++;
    else {
      masks = pairsOf(body) ? Int32Array.from(pairMask) : ALL_PAIRS;
      if (cacheable) {
        // Two generations: filling the cache up does not forget the bodies in use.
        if (this.bodies.size >= BODY_CACHE_ENTRIES) {
          this.olderBodies = this.bodies;
          this.bodies = new Map();
        }
        this.bodies.set(body, masks);
      }
    }
    this.lastBody = body;
    this.lastMasks = masks;
    return masks;
  }

  /** The rules that may act on the record given to `begin`, as bits (rule i: bit i & 31 of word i >>> 5), and how
   *  many rules the prefilter was built with (any later index: yes). */
  get bits(): Int32Array {
    return this.may_;
  }

  get size(): number {
    return this.count;
  }

  /** Can rule `i` act on the record given to `begin`? (A rule the prefilter was not built with: yes.) */
  may(i: number): boolean {
    return i >= this.count || ((this.may_[i >>> 5] as number) & (1 << (i & 31))) !== 0;
  }
}
