// Alert output templates: `%body`, `%severity_text`, `%{kata.sandbox.id}`, bare Falco-style `%kata.sandbox.id`,
// alert context `%{count}` / `%{window}` / `%{rule}`, and `%%` for a literal percent sign.
import type { KataLogRecord } from '../model/record.js';
import { fieldValue, isFieldName } from './condition.js';

/** Values only the alert knows (not the record). */
export const CONTEXT_VARS = ['count', 'window', 'rule'] as const;
export type TemplateContext = Partial<Record<(typeof CONTEXT_VARS)[number], string>>;

type Part = { text: string } | { field: string } | { ctx: (typeof CONTEXT_VARS)[number] };

export interface Template {
  source: string;
  parts: Part[];
}

export class TemplateError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(message);
  }
}

const isCtx = (name: string): name is (typeof CONTEXT_VARS)[number] =>
  (CONTEXT_VARS as readonly string[]).includes(name);

export function parseTemplate(source: string): Template {
  const parts: Part[] = [];
  let text = '';
  let i = 0;
  const flush = () => {
    if (text) parts.push({ text });
    text = '';
  };
  while (i < source.length) {
    const c = source[i] as string;
    if (c !== '%') {
      text += c;
      i++;
      continue;
    }
    const col = i + 1;
    const nextChar = source[i + 1];
    if (nextChar === '%') {
      text += '%';
      i += 2;
    } else if (nextChar === '{') {
      const end = source.indexOf('}', i + 2);
      if (end < 0) throw new TemplateError(`'%{' is not closed; write %{field.name}`, col);
      const name = source.slice(i + 2, end).trim();
      flush();
      if (isCtx(name)) parts.push({ ctx: name });
      else if (isFieldName(name)) parts.push({ field: name });
      else
        throw new TemplateError(
          `'%{${name}}' is neither a field (body, an attribute name with a dot) nor one of ${CONTEXT_VARS.join(', ')}`,
          col,
        );
      i = end + 1;
    } else {
      // Bare `%name`: a trailing '.' or '-' belongs to the sentence, not the field.
      const m = /^[A-Za-z_][\w.\-/:]*/.exec(source.slice(i + 1));
      let name = m ? m[0] : '';
      while (name.endsWith('.') || name.endsWith('-')) name = name.slice(0, -1);
      if (!name || !(isFieldName(name) || isCtx(name))) {
        throw new TemplateError(
          `'%${name}' is not a field; use %body, %{attribute.name}, %{count}, or '%%' for a literal '%'`,
          col,
        );
      }
      flush();
      parts.push(isCtx(name) ? { ctx: name } : { field: name });
      i += 1 + name.length;
    }
  }
  flush();
  return { source, parts };
}

/** Render for a record; missing values print as `<NA>` (as Falco does). */
export function renderTemplate(t: Template, r: KataLogRecord, ctx: TemplateContext = {}): string {
  let out = '';
  for (const p of t.parts) {
    if ('text' in p) out += p.text;
    else if ('ctx' in p) out += ctx[p.ctx] ?? '<NA>';
    else {
      const v = fieldValue(r, p.field);
      out += v === undefined || v === '' ? '<NA>' : Array.isArray(v) ? v.join(',') : String(v);
    }
  }
  return out;
}
