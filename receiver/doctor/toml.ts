// TOML files as Kata reads them, with the line of every key: findings point at the line that set a value.
// toml-eslint-parser gives an AST with positions (and parse errors with line and column); the values come from
// the same AST, so the lines and the values cannot disagree.
import { readFileSync } from 'node:fs';
import { ParseError, getStaticTOMLValue, parseTOML, type AST } from 'toml-eslint-parser';
import { DoctorInputError } from './types.js';

export type TomlTable = Record<string, unknown>;

export interface TomlFile {
  /** The path shown in findings (the node's path, without --root). */
  file: string;
  value: TomlTable;
  /** Line (1-based) of each key and table header, by dotted path (`agent.kata.enable_debug`). */
  lines: Map<string, number>;
}

export const keyPath = (segments: readonly (string | number)[]): string => segments.join('.');

function collect(body: AST.TOMLKeyValue[], prefix: (string | number)[], lines: Map<string, number>): void {
  for (const kv of body) {
    const path = [...prefix, ...kv.key.keys.map((k) => (k.type === 'TOMLBare' ? k.name : k.value))];
    lines.set(keyPath(path), kv.loc.start.line);
    if (kv.value.type === 'TOMLInlineTable') collect(kv.value.body, path, lines);
  }
}

/** Parse TOML text; a syntax error becomes a DoctorInputError naming `file`, line and column. */
export function parseTomlText(text: string, file: string): TomlFile {
  let ast: AST.TOMLProgram;
  try {
    // TOML 1.0: what BurntSushi/toml (Go runtime) and the toml crate (runtime-rs) accept.
    ast = parseTOML(text, { tomlVersion: '1.0' });
  } catch (err) {
    if (err instanceof ParseError) {
      throw new DoctorInputError(
        file,
        `TOML syntax error: ${err.message}; Kata refuses to load this file, so sandboxes using it fail to start`,
        err.lineNumber,
        err.column + 1,
      );
    }
    throw err;
  }
  const lines = new Map<string, number>();
  const top = ast.body[0];
  if (top) {
    for (const node of top.body) {
      if (node.type === 'TOMLTable') {
        lines.set(keyPath(node.resolvedKey), node.loc.start.line);
        collect(node.body, node.resolvedKey, lines);
      } else collect([node], [], lines);
    }
  }
  return { file, value: (getStaticTOMLValue(ast) ?? {}) as TomlTable, lines };
}

/** Read and parse a TOML file; `shown` is the name used in messages (default: `path`). */
export function readTomlFile(path: string, shown = path): TomlFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new DoctorInputError(shown, `cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parseTomlText(text, shown);
}
