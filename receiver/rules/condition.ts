// The Falco-like condition language of kata-otel rules, e.g.
//   body contains "is blocked by policy" and kata.component = agent
// Hand-written lexer and recursive-descent parser: the grammar is tiny, and a hand-written parser gives
// the column-exact error messages rule authors need. Conditions compile to closures once at load time,
// because they run for every record (the hot path).
//
//   expr    := and ('or' and)*
//   and     := unary ('and' unary)*
//   unary   := 'not' unary | primary
//   primary := '(' expr ')' | FIELD OP value | FIELD 'in' (list | LISTNAME) | FIELD 'exists' | MACRO
//   value   := STRING | WORD | NUMBER | '(' item (',' item)* ')'     (a list means "any of")
import { RE2JS } from 're2js';
import type { AttrValue, KataLogRecord } from '../model/record.js';

export type CompareOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';
export type StringOp =
  'contains' | 'icontains' | 'startswith' | 'istartswith' | 'endswith' | 'iendswith' | 'regex' | 'iregex';
export type Value = string | number;

export type Cond =
  | { kind: 'and' | 'or'; items: Cond[] }
  | { kind: 'not'; item: Cond }
  /** `values` holds one value, or several for `in` and list operands ("any of"). */
  | { kind: 'cmp'; field: string; op: CompareOp | StringOp; values: Value[] }
  | { kind: 'exists'; field: string };

/** Pseudo-fields that read the record itself rather than an attribute. */
export const RECORD_FIELDS = ['body', 'severity_number', 'severity_text', 'event_name'] as const;

const KEYWORD_OPS: Record<string, StringOp | 'in' | 'exists'> = {
  contains: 'contains',
  icontains: 'icontains',
  startswith: 'startswith',
  istartswith: 'istartswith',
  endswith: 'endswith',
  iendswith: 'iendswith',
  regex: 'regex',
  iregex: 'iregex',
  in: 'in',
  exists: 'exists',
};
const SYMBOL_OPS: Record<string, CompareOp> = {
  '=': 'eq',
  '==': 'eq',
  '!=': 'ne',
  '<': 'lt',
  '<=': 'le',
  '>': 'gt',
  '>=': 'ge',
};
const RESERVED = new Set(['and', 'or', 'not', ...Object.keys(KEYWORD_OPS)]);

export class ConditionError extends Error {
  constructor(
    message: string,
    /** 1-based column in the condition text. */
    readonly column: number,
  ) {
    super(message);
  }
}

/** What the parser needs from the rule file: macros (already parsed, or parsed on demand) and lists. */
export interface ParseContext {
  macro(name: string): Cond | undefined;
  list(name: string): Value[] | undefined;
}

type Token =
  | { t: 'lparen' | 'rparen' | 'comma' | 'eof'; col: number }
  | { t: 'op'; v: string; col: number }
  | { t: 'string'; v: string; col: number }
  | { t: 'word'; v: string; col: number };

function describe(tok: Token): string {
  switch (tok.t) {
    case 'eof':
      return 'the end of the condition';
    case 'lparen':
      return "'('";
    case 'rparen':
      return "')'";
    case 'comma':
      return "','";
    case 'string':
      return `the string "${tok.v}"`;
    default:
      return `'${tok.v}'`;
  }
}

function lex(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    const col = i + 1;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      out.push({ t: c === '(' ? 'lparen' : c === ')' ? 'rparen' : 'comma', col });
      i++;
    } else if (c === '"' || c === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= text.length)
          throw new ConditionError(`unterminated string (opened with ${c}); close it with ${c}`, col);
        const d = text[i] as string;
        if (d === c) {
          i++;
          break;
        }
        if (d === '\\' && i + 1 < text.length) {
          const e = text[i + 1] as string;
          v += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          i += 2;
          continue;
        }
        v += d;
        i++;
      }
      out.push({ t: 'string', v, col });
    } else if ('=!<>'.includes(c)) {
      let j = i;
      while (j < text.length && '=!<>'.includes(text[j] as string)) j++;
      const op = text.slice(i, j);
      if (!(op in SYMBOL_OPS)) throw new ConditionError(`unknown operator '${op}'; use =, !=, <, <=, > or >=`, col);
      out.push({ t: 'op', v: op, col });
      i += op.length;
    } else {
      let j = i;
      while (j < text.length && !/[\s(),"'=!<>]/.test(text[j] as string)) j++;
      out.push({ t: 'word', v: text.slice(i, j), col });
      i = j;
    }
  }
  out.push({ t: 'eof', col: text.length + 1 });
  return out;
}

const NUMBER = /^-?\d+(?:\.\d+)?$/;

export function isFieldName(name: string): boolean {
  return (RECORD_FIELDS as readonly string[]).includes(name) || /^[A-Za-z_][\w.\-/:]*\.[\w.\-/:]+$/.test(name);
}

/** Parse a condition; macros and lists are resolved through `ctx`. Throws ConditionError with a column. */
export function parseCondition(text: string, ctx: ParseContext): Cond {
  const toks = lex(text);
  let pos = 0;
  const peek = (): Token => toks[pos] as Token;
  const next = (): Token => toks[pos++] as Token;
  const isWord = (tok: Token, v: string) => tok.t === 'word' && tok.v === v;

  const parseOr = (): Cond => {
    const items = [parseAnd()];
    while (isWord(peek(), 'or')) {
      next();
      items.push(parseAnd());
    }
    return items.length === 1 ? (items[0] as Cond) : { kind: 'or', items };
  };
  const parseAnd = (): Cond => {
    const items = [parseUnary()];
    while (isWord(peek(), 'and')) {
      next();
      items.push(parseUnary());
    }
    return items.length === 1 ? (items[0] as Cond) : { kind: 'and', items };
  };
  const parseUnary = (): Cond => {
    if (isWord(peek(), 'not')) {
      next();
      return { kind: 'not', item: parseUnary() };
    }
    return parsePrimary();
  };
  const parsePrimary = (): Cond => {
    const tok = next();
    if (tok.t === 'lparen') {
      const inner = parseOr();
      const close = next();
      if (close.t !== 'rparen')
        throw new ConditionError(
          `expected ')' to close the '(' at column ${tok.col}, found ${describe(close)}`,
          close.col,
        );
      return inner;
    }
    if (tok.t !== 'word' || RESERVED.has(tok.v)) {
      throw new ConditionError(`expected a field comparison, a macro name or '(', found ${describe(tok)}`, tok.col);
    }
    const after = peek();
    const isOp = after.t === 'op' || (after.t === 'word' && after.v in KEYWORD_OPS);
    if (!isOp) {
      const m = ctx.macro(tok.v);
      if (m) return m;
      if (isFieldName(tok.v)) {
        throw new ConditionError(
          `expected an operator after field '${tok.v}' (=, !=, <, <=, >, >=, contains, icontains, startswith, endswith, regex, in, exists), found ${describe(after)}`,
          after.col,
        );
      }
      throw new ConditionError(
        `unknown macro '${tok.v}'; define it with '- macro: ${tok.v}' or compare a field (attribute names contain a dot, e.g. kata.component)`,
        tok.col,
      );
    }
    if (!isFieldName(tok.v)) {
      throw new ConditionError(
        `unknown field '${tok.v}'; use body, severity_number, severity_text, event_name or an attribute name such as kata.component or error.message`,
        tok.col,
      );
    }
    const field = tok.v;
    const opTok = next() as { t: 'op' | 'word'; v: string; col: number };
    if (opTok.t === 'op') {
      const op = SYMBOL_OPS[opTok.v] as CompareOp;
      const value = parseScalar(op, opTok);
      if (op !== 'eq' && op !== 'ne' && typeof value !== 'number') {
        throw new ConditionError(
          `'${opTok.v}' compares numbers; '${value}' is not a number`,
          opTok.col + opTok.v.length + 1,
        );
      }
      return { kind: 'cmp', field, op, values: [value] };
    }
    const kop = KEYWORD_OPS[opTok.v] as StringOp | 'in' | 'exists';
    if (kop === 'exists') return { kind: 'exists', field };
    if (kop === 'in') {
      const v = peek();
      if (v.t === 'lparen') return { kind: 'cmp', field, op: 'eq', values: parseList() };
      if (v.t === 'word') {
        next();
        const items = ctx.list(v.v);
        if (!items)
          throw new ConditionError(
            `'in' needs a list: '(a, b)' or the name of a '- list:'; '${v.v}' is not a list`,
            v.col,
          );
        return { kind: 'cmp', field, op: 'eq', values: items };
      }
      throw new ConditionError(`expected '(' or a list name after 'in', found ${describe(v)}`, v.col);
    }
    const values = peek().t === 'lparen' ? parseList() : [parseScalar(kop, opTok)];
    const strings = values.map(String);
    if (kop === 'regex' || kop === 'iregex') for (const s of strings) checkRegex(s, opTok.col);
    return { kind: 'cmp', field, op: kop, values: strings };
  };
  const parseScalar = (op: string, opTok: { v: string; col: number }): Value => {
    const v = next();
    if (v.t === 'string') return v.v;
    if (v.t === 'word' && !RESERVED.has(v.v)) return NUMBER.test(v.v) ? Number(v.v) : v.v;
    throw new ConditionError(`expected a value after '${opTok.v}' (${op}), found ${describe(v)}`, v.col);
  };
  const parseList = (): Value[] => {
    const open = next();
    const items: Value[] = [];
    for (;;) {
      const v = next();
      if (v.t === 'string') items.push(v.v);
      else if (v.t === 'word') {
        const listed = ctx.list(v.v);
        if (listed) items.push(...listed);
        else items.push(NUMBER.test(v.v) ? Number(v.v) : v.v);
      } else throw new ConditionError(`expected a list item, found ${describe(v)}`, v.col);
      const sep = next();
      if (sep.t === 'rparen') break;
      if (sep.t !== 'comma')
        throw new ConditionError(
          `expected ',' or ')' in the list opened at column ${open.col}, found ${describe(sep)}`,
          sep.col,
        );
    }
    return items;
  };

  const cond = parseOr();
  const end = peek();
  if (end.t !== 'eof') {
    throw new ConditionError(`unexpected ${describe(end)}; join conditions with 'and' / 'or'`, end.col);
  }
  return cond;
}

/** Exports to Loki (RE2) and Sigma (PCRE subset) cannot carry lookaround or backreferences; reject them early,
 *  with a message that says so (RE2 would only say "invalid or unsupported Perl syntax"). */
function checkRegex(pattern: string, col: number): void {
  if (/\(\?<?[=!]|\\[1-9]|\\k</.test(pattern)) {
    throw new ConditionError(
      `regular expression /${pattern}/ uses lookaround or a backreference, which RE2 (Loki) and Sigma cannot run; rewrite it without them`,
      col,
    );
  }
  try {
    RE2JS.compile(pattern);
  } catch (e) {
    throw new ConditionError(
      `invalid regular expression /${pattern}/ (RE2 syntax: https://github.com/google/re2/wiki/Syntax): ${(e as Error).message}`,
      col,
    );
  }
}

/** `regex`/`iregex` look at the first MAX_REGEX_INPUT characters of a value only (documented in docs/rules.md):
 *  RE2 is linear, but a rule set runs every regex on every record, so the cap keeps a flood of huge guest lines
 *  from costing (rules x line size) each. */
export const MAX_REGEX_INPUT = 64 * 1024;

/** A compiled user regex. RE2 semantics, linear in the input whatever the pattern: a guest writes the text, the
 *  rule author the pattern, and V8's backtracking RegExp takes exponential time on patterns like `^(a+)+$`.
 *  re2js (a pure-JS port of RE2/J, actively released) rather than the native `re2` binding (its install downloads a
 *  prebuilt binary or runs node-gyp) or `re2-wasm` (one release, 2024, and a WASM module to load): no install
 *  step, no binary, synchronous. */
function re2Test(pattern: string, caseInsensitive: boolean): (s: string) => boolean {
  const re = RE2JS.compile(pattern, caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0);
  return (s) => re.test(s.length > MAX_REGEX_INPUT ? s.slice(0, MAX_REGEX_INPUT) : s);
}

// ---- evaluation ----------------------------------------------------------------------------------------

export function fieldValue(r: KataLogRecord, field: string): AttrValue | undefined {
  switch (field) {
    case 'body':
      return r.body;
    case 'severity_number':
      return r.severityNumber;
    case 'severity_text':
      return r.severityText;
    case 'event_name':
      return r.eventName;
    default:
      return r.attributes[field];
  }
}

/** Apply `pred` to the value's string form(s); arrays match when any element does. */
function anyString(v: AttrValue | undefined, pred: (s: string) => boolean): boolean {
  if (v === undefined) return false;
  if (typeof v === 'string') return pred(v);
  if (Array.isArray(v)) {
    for (const s of v) if (pred(s)) return true;
    return false;
  }
  return pred(String(v));
}

function toNumber(v: AttrValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

// One-entry cache: several icontains rules usually look at the same value (the body of the record in hand)
// in a row; keyed on the value itself, so it can never serve a stale lowercase copy.
let lcRaw: AttrValue | undefined;
let lcValue: AttrValue | undefined;
function lowered(v: AttrValue | undefined): AttrValue | undefined {
  if (v !== lcRaw) {
    lcRaw = v;
    lcValue = typeof v === 'string' ? v.toLowerCase() : Array.isArray(v) ? v.map((s) => s.toLowerCase()) : v;
  }
  return lcValue;
}

/** The field reader, specialised at compile time (the switch of fieldValue would run per record and rule). */
function getter(field: string): (r: KataLogRecord) => AttrValue | undefined {
  switch (field) {
    case 'body':
      return (r) => r.body;
    case 'severity_number':
      return (r) => r.severityNumber;
    case 'severity_text':
      return (r) => r.severityText;
    case 'event_name':
      return (r) => r.eventName;
    default:
      return (r) => r.attributes[field];
  }
}

// Conditions run for every record and every rule, so the compiled closures below are written to allocate nothing
// per call: loops instead of every/some with fresh arrow functions, and every predicate built once here.

/** Compile a condition into a closure. Missing fields make every comparison false (`!=` included). */
export function compile(cond: Cond): (r: KataLogRecord) => boolean {
  switch (cond.kind) {
    case 'and': {
      const parts = cond.items.map(compile);
      if (parts.length === 2) {
        const [a, b] = parts as [(r: KataLogRecord) => boolean, (r: KataLogRecord) => boolean];
        return (r) => a(r) && b(r);
      }
      return (r) => {
        for (const p of parts) if (!p(r)) return false;
        return true;
      };
    }
    case 'or': {
      const parts = cond.items.map(compile);
      if (parts.length === 2) {
        const [a, b] = parts as [(r: KataLogRecord) => boolean, (r: KataLogRecord) => boolean];
        return (r) => a(r) || b(r);
      }
      return (r) => {
        for (const p of parts) if (p(r)) return true;
        return false;
      };
    }
    case 'not': {
      const inner = compile(cond.item);
      return (r) => !inner(r);
    }
    case 'exists': {
      const get = getter(cond.field);
      return (r) => {
        const v = get(r);
        return v !== undefined && v !== '';
      };
    }
    case 'cmp':
      return compileCmp(cond.field, cond.op, cond.values);
  }
}

/** A predicate over one string: true when `test(s, needle)` holds for any needle. */
function anyNeedle(needles: string[], test: (s: string, n: string) => boolean): (s: string) => boolean {
  if (needles.length === 1) {
    const n0 = needles[0] as string;
    return (s) => test(s, n0);
  }
  return (s) => {
    for (const n of needles) if (test(s, n)) return true;
    return false;
  };
}

const includes = (s: string, n: string) => s.includes(n);
const startsWith = (s: string, n: string) => s.startsWith(n);
const endsWith = (s: string, n: string) => s.endsWith(n);

/** The substring operators: their test, and whether it compares case-folded (the `i…` forms). */
const SUBSTRING_OPS = {
  contains: [includes, false],
  icontains: [includes, true],
  startswith: [startsWith, false],
  istartswith: [startsWith, true],
  endswith: [endsWith, false],
  iendswith: [endsWith, true],
} as const;

function compileCmp(field: string, op: CompareOp | StringOp, values: Value[]): (r: KataLogRecord) => boolean {
  const strs = values.map(String);
  const lower = strs.map((s) => s.toLowerCase());
  const get = getter(field);
  switch (op) {
    case 'eq':
    case 'ne': {
      const nums = values.filter((v): v is number => typeof v === 'number');
      const strSet = new Set(strs);
      const isOne = (s: string) => strSet.has(s);
      const eq = (v: AttrValue | undefined): boolean => {
        if (anyString(v, isOne)) return true;
        if (nums.length === 0 || Array.isArray(v)) return false;
        const n = toNumber(v);
        return n !== undefined && nums.includes(n);
      };
      if (op === 'eq') return (r) => eq(get(r));
      return (r) => {
        const v = get(r);
        return v !== undefined && !eq(v);
      };
    }
    case 'lt':
    case 'le':
    case 'gt':
    case 'ge': {
      const n = values[0] as number;
      const cmp = {
        lt: (a: number) => a < n,
        le: (a: number) => a <= n,
        gt: (a: number) => a > n,
        ge: (a: number) => a >= n,
      }[op];
      return (r) => {
        const v = get(r);
        const a = toNumber(Array.isArray(v) ? undefined : v);
        return a !== undefined && cmp(a);
      };
    }
    case 'contains':
    case 'icontains':
    case 'startswith':
    case 'istartswith':
    case 'endswith':
    case 'iendswith': {
      const [test, fold] = SUBSTRING_OPS[op];
      const p = anyNeedle(fold ? lower : strs, test);
      return fold ? (r) => anyString(lowered(get(r)), p) : (r) => anyString(get(r), p);
    }
    case 'regex':
    case 'iregex': {
      const tests = strs.map((s) => re2Test(s, op === 'iregex'));
      const p = (s: string) => {
        for (const t of tests) if (t(s)) return true;
        return false;
      };
      return (r) => anyString(get(r), p);
    }
  }
}

// ---- helpers for the exporters ------------------------------------------------------------------------

/** Negation normal form: `not` only directly above a comparison or `exists`. */
export function toNnf(cond: Cond, negate = false): Cond {
  switch (cond.kind) {
    case 'not':
      return toNnf(cond.item, !negate);
    case 'and':
    case 'or': {
      const kind = negate ? (cond.kind === 'and' ? 'or' : 'and') : cond.kind;
      return { kind, items: cond.items.map((c) => toNnf(c, negate)) };
    }
    default:
      return negate ? { kind: 'not', item: cond } : cond;
  }
}

/** Every field a condition reads. */
export function fieldsOf(cond: Cond, out = new Set<string>()): Set<string> {
  switch (cond.kind) {
    case 'and':
    case 'or':
      for (const c of cond.items) fieldsOf(c, out);
      break;
    case 'not':
      fieldsOf(cond.item, out);
      break;
    default:
      out.add(cond.field);
  }
  return out;
}

/** The value of `field = X` (or `field in (X)`) when the condition requires it at its top level. */
export function requiredValue(cond: Cond, field: string): string | undefined {
  if (cond.kind === 'cmp' && cond.field === field && cond.op === 'eq' && cond.values.length === 1)
    return String(cond.values[0]);
  if (cond.kind === 'and') {
    for (const c of cond.items) {
      const v = requiredValue(c, field);
      if (v !== undefined) return v;
    }
  }
  if (cond.kind === 'or' && cond.items.length > 0) {
    const vs = cond.items.map((c) => requiredValue(c, field));
    if (vs.every((v) => v !== undefined && v === vs[0])) return vs[0];
  }
  return undefined;
}
