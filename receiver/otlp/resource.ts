// Splits KataLogRecords into OTLP Resources. A record carries resource and record attributes together
// (receiver/model/record.ts); the keys in RESOURCE_ATTRIBUTE_KEYS go on the Resource, all others stay on the
// record. Records with the same resource attributes (same sandbox and component) share one ResourceLogs.
import { readFileSync } from 'node:fs';
import type { AttrValue, Attributes, KataLogRecord } from '../model/record.js';
import { RESOURCE_ATTRIBUTE_KEYS } from '../semconv/generated.js';
import { otherToString } from './values.js';

/** Instrumentation scope of every record kata-otel sends. */
export const SCOPE_NAME = 'kata-otel';
/** The package version (scope version, User-Agent). Read once; package.json is two levels up both from
 * receiver/otlp/ and from the compiled dist/otlp/. */
export const SCOPE_VERSION: string = readVersion();

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

const RESOURCE_KEYS = new Set(RESOURCE_ATTRIBUTE_KEYS);

/** True for attribute keys that belong on the Resource rather than on the log record. */
export const isResourceKey = (key: string): boolean => RESOURCE_KEYS.has(key);

/**
 * Extra resource attributes from the exporter settings (OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME, config).
 * `fill`: added to a record's resource only where the record has no value of its own for that key.
 * `override`: replaces the record's own value (used for service.name only when explicitly requested).
 */
export interface ResourceOverlay {
  fill?: Attributes;
  override?: Attributes;
}

export interface ResourceGroup<T = KataLogRecord> {
  /** The Resource attributes, in RESOURCE_ATTRIBUTE_KEYS order, then fill, then override keys. */
  resource: [string, AttrValue][];
  /** The records (or spans) of this resource, in input order. Their resource keys are skipped when encoding. */
  records: T[];
}

/** Group records by their resource attributes, first-seen order. Never throws on odd records. */
export function groupByResource<T extends { attributes: Attributes } = KataLogRecord>(
  records: readonly T[],
  overlay?: ResourceOverlay,
): ResourceGroup<T>[] {
  const fill = overlay?.fill ? Object.entries(overlay.fill).filter(([, v]) => v !== undefined && v !== null) : [];
  const override = overlay?.override
    ? Object.entries(overlay.override).filter(([, v]) => v !== undefined && v !== null)
    : [];
  const overridden = new Set(override.map(([k]) => k));
  const ownKeys = RESOURCE_ATTRIBUTE_KEYS.filter((k) => !overridden.has(k));
  const fillKeys = fill.map(([k]) => k).filter((k) => !overridden.has(k));
  // A trie over the values of the resource keys (then: does the record have its own value for each fill
  // key?), so finding a record's group costs a few Map lookups and builds no strings (hot path).
  const root: TrieNode<T> = {};
  const out: ResourceGroup<T>[] = [];
  for (const rec of records) {
    if (rec === null || typeof rec !== 'object') continue;
    const attrs: Attributes = rec.attributes && typeof rec.attributes === 'object' ? rec.attributes : {};
    let node = root;
    for (const k of ownKeys) node = child(node, attrs[k]);
    for (const k of fillKeys) node = child(node, attrs[k] === undefined || attrs[k] === null ? undefined : '');
    let group = node.group;
    if (!group) {
      group = node.group = { resource: resourceOf(attrs, fill, override, overridden), records: [] };
      out.push(group);
    }
    group.records.push(rec);
  }
  return out;
}

interface TrieNode<T> {
  str?: Map<string, TrieNode<T>>;
  other?: Map<string, TrieNode<T>>;
  absent?: TrieNode<T>;
  group?: ResourceGroup<T>;
}

function child<T>(node: TrieNode<T>, v: unknown): TrieNode<T> {
  if (v === undefined || v === null) return (node.absent ??= {});
  const map = typeof v === 'string' ? (node.str ??= new Map()) : (node.other ??= new Map());
  const key = typeof v === 'string' ? v : otherKey(v);
  let c = map.get(key);
  if (!c) map.set(key, (c = {}));
  return c;
}

// Collision-free key for a non-string value: a type tag, then length-prefixed array elements.
function otherKey(v: unknown): string {
  if (Array.isArray(v)) return 'a' + v.map((x) => `${typeof x}${String(x).length}:${String(x)}`).join('');
  return typeof v + (typeof v === 'object' ? otherToString(v) : String(v));
}

function resourceOf(
  attrs: Attributes,
  fill: [string, AttrValue][],
  override: [string, AttrValue][],
  overridden: Set<string>,
): [string, AttrValue][] {
  const res: [string, AttrValue][] = [];
  for (const k of RESOURCE_ATTRIBUTE_KEYS) {
    if (overridden.has(k)) continue;
    const v = attrs[k];
    if (v !== undefined && v !== null) res.push([k, v]);
  }
  for (const [k, v] of fill) if (!overridden.has(k) && (attrs[k] === undefined || attrs[k] === null)) res.push([k, v]);
  for (const kv of override) res.push(kv);
  return res;
}
