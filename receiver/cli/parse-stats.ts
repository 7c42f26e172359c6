// `kata-otel parse --stats`: how much of a log kata-otel understands, per shape and per component: records fully
// understood, understood as fragments of a wrapped record, or kept raw (with `kata.log.parse_error`), and a few
// examples of each kind of raw line, so a user can tell us what we miss.
import type { KataLogRecord } from '../model/record.js';
import {
  ATTR_KATA_COMPONENT,
  ATTR_KATA_LOG_CARRIER,
  ATTR_KATA_LOG_FORMAT,
  ATTR_KATA_LOG_FRAGMENT,
  ATTR_KATA_LOG_PARSE_ERROR,
} from '../semconv/generated.js';

interface Counts {
  understood: number;
  fragment: number;
  raw: number;
}

const EXAMPLE_CHARS = 160;

/** The kind of a parse error: its text without the variable detail (`invalid JSON in vmconsole: Unexpected…`). */
export function errorKind(why: string): string {
  const first = why.split('; ')[0] as string;
  const cut = first.search(/: | "/);
  return cut < 0 ? first : first.slice(0, cut);
}

export class ParseStats {
  private readonly byShape = new Map<string, Counts>();
  private readonly byComponent = new Map<string, Counts>();
  private readonly rawKinds = new Map<string, { count: number; examples: string[] }>();

  constructor(private readonly examples = 3) {}

  /** One parsed record; `where` names its input (file, `-`). A raw record's body is its line, the example. */
  add(r: KataLogRecord, where: string): void {
    const a = r.attributes;
    const carrier = a[ATTR_KATA_LOG_CARRIER];
    const shape = `${String(a[ATTR_KATA_LOG_FORMAT] ?? '?')}${carrier === undefined ? '' : ` in ${String(carrier)}`}`;
    const why = a[ATTR_KATA_LOG_PARSE_ERROR];
    const kind: keyof Counts =
      why !== undefined ? 'raw' : a[ATTR_KATA_LOG_FRAGMENT] === true ? 'fragment' : 'understood';
    bump(this.byShape, shape, kind);
    bump(this.byComponent, String(a[ATTR_KATA_COMPONENT] ?? '?'), kind);
    if (why === undefined) return;
    const k = errorKind(String(why));
    let e = this.rawKinds.get(k);
    if (e === undefined) this.rawKinds.set(k, (e = { count: 0, examples: [] }));
    e.count++;
    if (e.examples.length < this.examples) {
      const text = r.body;
      const line = text.length > EXAMPLE_CHARS ? `${text.slice(0, EXAMPLE_CHARS)}…` : text;
      e.examples.push(`${where}: ${JSON.stringify(line)}`);
    }
  }

  report(): string {
    const total = sum([...this.byComponent.values()]);
    const out = [
      `${total.understood + total.fragment + total.raw} records: ${total.understood} understood, ${total.fragment} fragments, ${total.raw} raw`,
      '',
      ...table('shape', this.byShape),
      '',
      ...table('component', this.byComponent),
    ];
    if (this.rawKinds.size > 0) {
      out.push('', `raw kinds (up to ${this.examples} examples each):`);
      for (const [k, e] of [...this.rawKinds].sort((x, y) => y[1].count - x[1].count)) {
        out.push(`  ${k}: ${e.count}`);
        for (const ex of e.examples) out.push(`    ${ex}`);
      }
    }
    return out.join('\n') + '\n';
  }
}

function bump(m: Map<string, Counts>, key: string, kind: keyof Counts): void {
  let c = m.get(key);
  if (c === undefined) m.set(key, (c = { understood: 0, fragment: 0, raw: 0 }));
  c[kind]++;
}

function sum(cs: Counts[]): Counts {
  return cs.reduce(
    (t, c) => ({ understood: t.understood + c.understood, fragment: t.fragment + c.fragment, raw: t.raw + c.raw }),
    {
      understood: 0,
      fragment: 0,
      raw: 0,
    },
  );
}

function table(title: string, m: Map<string, Counts>): string[] {
  const rows = [...m].sort((a, b) => a[0].localeCompare(b[0]));
  const w = Math.max(title.length, ...rows.map(([k]) => k.length));
  const line = (k: string, a: string, b: string, c: string, d: string) =>
    `${k.padEnd(w)}  ${a.padStart(7)}  ${b.padStart(10)}  ${c.padStart(9)}  ${d.padStart(5)}`;
  return [
    line(title, 'records', 'understood', 'fragments', 'raw'),
    ...rows.map(([k, c]) =>
      line(k, String(c.understood + c.fragment + c.raw), String(c.understood), String(c.fragment), String(c.raw)),
    ),
  ];
}
