// Deterministic trace and span ids (../shared/research/kata-lifecycle.md §3.1): a replay of the same records,
// or a receiver restarted in the middle of a lifecycle, derives the same ids, so a backend sees one trace per
// sandbox lifetime and no second copy of a span.
import { hash } from 'node:crypto';

// One-shot `crypto.hash` (no Hash object per id: a sandbox whose pid changes on every line derives two ids per
// line; bench/README.md "Lifecycle per record").
const sha256 = (s: string): string => hash('sha256', s, 'hex');

/** One trace per sandbox lifetime: the sandbox id plus the shim's pid (separates a re-used id). */
export function traceIdFor(sandboxId: string, shimPid: number | string): string {
  return sha256(`kata/${sandboxId}/${shimPid}`).slice(0, 32);
}

/** OTLP's "no id". */
const ZERO_SPAN_ID = '0000000000000000';

/** A span's id from what it is about: its kind, container, exec and the ordinal among spans of the same key. */
export function spanIdFor(traceId: string, kind: string, containerId = '', execId = '', ordinal = 0): string {
  const id = sha256(`${traceId}/${kind}/${containerId}/${execId}/${ordinal}`).slice(0, 16);
  // An all-zero id is OTLP's "no id"; astronomically unlikely, but never emit it.
  return id === ZERO_SPAN_ID ? '0000000000000001' : id;
}
