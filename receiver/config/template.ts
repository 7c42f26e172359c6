// `${provider:argument}` references in configuration strings, as the OpenTelemetry Collector writes them:
//   ${env:VAR}            the environment variable; an error naming VAR when it is unset
//   ${env:VAR:-default}   VAR, or `default` when VAR is unset or empty (the default may hold references itself)
//   $${                   a literal `${`
// Presets also use ${option:NAME} (a preset option) and ${base64:TEXT} (for HTTP basic auth).
// Hand-written because references nest (`${base64:${env:USER}:${env:KEY}}`) and a value read from the
// environment must never be expanded again (a secret containing `${` stays as it is).

export type Provider = 'env' | 'option' | 'base64';

export interface TemplateContext {
  env: Record<string, string | undefined>;
  /** Preset options, already resolved; needed only when the `option` provider is allowed. */
  options?: Record<string, string>;
  /** Providers allowed here; default `env` only (user configuration). */
  providers?: readonly Provider[];
}

export interface Expanded {
  value: string;
  /** True when an optional reference (`${env:X:-}` with X unset, or an empty option) gave ''. */
  emptyOptional: boolean;
}

export class TemplateError extends Error {
  constructor(
    message: string,
    /** The environment variable at fault, when there is one. */
    readonly variable?: string,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

type Part = { lit: string } | { provider: string; arg: Part[] };

/** The string in an error message, quoted, cut to 120 characters. */
const shown = (s: string) => JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}…` : s);

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** References nest at most this deep (`${base64:${env:USER}:${env:KEY}}` is 2): the parser recurses per level, and
 *  20,000 nested `${env:` otherwise end in a bare stack overflow. */
export const MAX_NESTING = 16;

/** Parse from `i` until the end (top level) or the `}` closing the reference being read (nested). */
function parse(s: string, i: number, nested: boolean, depth = 0): { parts: Part[]; end: number } {
  if (depth > MAX_NESTING)
    throw new TemplateError(
      `${shown(s)}: references (\${…}) nest more than ${MAX_NESTING} deep; flatten them (or write $\${ for a literal \${)`,
    );
  const parts: Part[] = [];
  let lit = '';
  while (i < s.length) {
    if (s.startsWith('$${', i)) {
      lit += '${';
      i += 3;
    } else if (s.startsWith('${', i)) {
      const colon = s.indexOf(':', i + 2);
      const close = s.indexOf('}', i + 2);
      if (colon === -1 || (close !== -1 && close < colon)) {
        throw new TemplateError(
          `${shown(s)}: \`${s.slice(i, close === -1 ? undefined : close + 1).slice(0, 120)}\` is not a reference; write \${env:VAR} (or $\${ for a literal \${)`,
        );
      }
      if (lit) parts.push({ lit });
      lit = '';
      const provider = s.slice(i + 2, colon);
      const inner = parse(s, colon + 1, true, depth + 1);
      parts.push({ provider, arg: inner.parts });
      i = inner.end + 1;
    } else if (nested && s[i] === '}') {
      if (lit) parts.push({ lit });
      return { parts, end: i };
    } else {
      lit += s[i];
      i++;
    }
  }
  if (nested)
    throw new TemplateError(`${shown(s)}: a \${ is not closed with }; close it or write $\${ for a literal \${`);
  if (lit) parts.push({ lit });
  return { parts, end: i };
}

/** Split an env argument at its first `:-` (only in literal text, so a nested reference is never split). */
function splitDefault(arg: Part[]): { name: Part[]; def?: Part[] } {
  for (let k = 0; k < arg.length; k++) {
    const p = arg[k] as Part;
    if ('lit' in p) {
      const at = p.lit.indexOf(':-');
      if (at !== -1) {
        const before = p.lit.slice(0, at);
        const after = p.lit.slice(at + 2);
        return {
          name: [...arg.slice(0, k), ...(before ? [{ lit: before }] : [])],
          def: [...(after ? [{ lit: after }] : []), ...arg.slice(k + 1)],
        };
      }
    }
  }
  return { name: arg };
}

function evaluate(parts: Part[], ctx: TemplateContext, state: { emptyOptional: boolean }): string {
  const allowed = ctx.providers ?? ['env'];
  let out = '';
  for (const p of parts) {
    if ('lit' in p) {
      out += p.lit;
      continue;
    }
    if (!(allowed as readonly string[]).includes(p.provider)) {
      throw new TemplateError(
        `\${${p.provider}:…} is not supported here; use ${allowed.map((a) => `\${${a}:…}`).join(' or ')}`,
      );
    }
    if (p.provider === 'env') {
      const { name: nameParts, def } = splitDefault(p.arg);
      const name = evaluate(nameParts, ctx, state);
      if (!ENV_NAME.test(name)) {
        throw new TemplateError(
          `\${env:${name}}: "${name}" is not an environment variable name; use letters, digits and _`,
        );
      }
      const value = ctx.env[name];
      if (def !== undefined) {
        if (value !== undefined && value !== '') out += value;
        else {
          const d = evaluate(def, ctx, state);
          if (d === '') state.emptyOptional = true;
          out += d;
        }
      } else if (value === undefined) {
        throw new TemplateError(
          `environment variable ${name} is not set; export ${name}=… before starting kata-otel`,
          name,
        );
      } else out += value;
    } else if (p.provider === 'option') {
      const name = evaluate(p.arg, ctx, state);
      const value = ctx.options?.[name];
      if (value === undefined) throw new TemplateError(`\${option:${name}}: the preset has no option "${name}"`);
      if (value === '') state.emptyOptional = true;
      out += value;
    } else if (p.provider === 'base64') {
      out += Buffer.from(evaluate(p.arg, ctx, state), 'utf8').toString('base64');
    }
  }
  return out;
}

/** Expand every reference in `text`. Throws TemplateError (naming the variable) for an unset `${env:VAR}`. */
export function expand(text: string, ctx: TemplateContext): Expanded {
  if (!text.includes('${')) return { value: text, emptyOptional: false };
  const state = { emptyOptional: false };
  const value = evaluate(parse(text, 0, false).parts, ctx, state);
  return { value, emptyOptional: state.emptyOptional };
}
