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
        if (c.op === 'regex' || c.op === 'iregex' || c.op === 'eq') return undefined;
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

/** One rule's prefilter, flattened: field references are indices into the values `begin` reads once per record. */
interface Compiled {
  /** Field indices that must be present and non-empty (absence and sequence group_by). */
  requires: number[];
  /** Nothing cheap is known: always evaluate. */
  always: boolean;
  /** Body phrases: four mask words each. */
  body: Int32Array;
  eq: { field: number; values: Set<string> }[];
  exists: number[];
}

export class RulePrefilter {
  private readonly rules: Compiled[];
  /** Every field some rule looks at, read once per record into `values`. */
  private readonly fields: string[] = [];
  private readonly values: (AttrValue | undefined)[] = [];
  private b0 = 0;
  private b1 = 0;
  private b2 = 0;
  private b3 = 0;

  constructor(rules: readonly Rule[]) {
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
    this.rules = rules.map((rule) => {
      const need = ruleNeed(rule);
      const groupBy = rule.kind === 'absence' || rule.kind === 'sequence' ? rule.groupBy : [];
      const masks: number[] = [];
      const c: Compiled = {
        requires: groupBy.map(fieldIndex),
        always: need === undefined,
        body: new Int32Array(0),
        eq: [],
        exists: [],
      };
      for (const a of need ?? []) {
        if (a.kind === 'body') masks.push(a.m0, a.m1, a.m2, a.m3);
        else if (a.kind === 'eq') c.eq.push({ field: fieldIndex(a.field), values: a.values });
        else c.exists.push(fieldIndex(a.field));
      }
      c.body = Int32Array.from(masks);
      return c;
    });
    this.values.length = this.fields.length;
  }

  /** Rules (by index) that are always evaluated: nothing cheap is known about them. */
  get unfiltered(): number {
    return this.rules.filter((c) => c.always).length;
  }

  /** Call once per record before `may`. */
  begin(r: KataLogRecord): void {
    const body = r.body;
    if (typeof body === 'string' && pairsOf(body)) {
      this.b0 = pairMask[0] as number;
      this.b1 = pairMask[1] as number;
      this.b2 = pairMask[2] as number;
      this.b3 = pairMask[3] as number;
    } else this.b0 = this.b1 = this.b2 = this.b3 = -1;
    for (let i = 0; i < this.fields.length; i++) this.values[i] = fieldValue(r, this.fields[i] as string);
  }

  /** Can rule `i` act on the record given to `begin`? (A rule the prefilter was not built with: yes.) */
  may(i: number): boolean {
    const c = this.rules[i];
    if (c === undefined) return true;
    const values = this.values;
    for (const f of c.requires) {
      const v = values[f];
      if (v === undefined || v === '') return false;
    }
    if (c.always) return true;
    const m = c.body;
    for (let k = 0; k < m.length; k += 4) {
      const m0 = m[k] as number;
      const m1 = m[k + 1] as number;
      const m2 = m[k + 2] as number;
      const m3 = m[k + 3] as number;
      if ((m0 & this.b0) === m0 && (m1 & this.b1) === m1 && (m2 & this.b2) === m2 && (m3 & this.b3) === m3) return true;
    }
    for (const e of c.eq) {
      const v = values[e.field];
      if (v !== undefined && (typeof v !== 'string' || e.values.has(v))) return true;
    }
    for (const f of c.exists) if (values[f] !== undefined) return true;
    return false;
  }
}
