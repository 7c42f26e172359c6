// Deterministic trace and span ids (../shared/research/kata-lifecycle.md §3.1): a replay of the same records,
// or a receiver restarted in the middle of a lifecycle, derives the same ids, so a backend sees one trace per
// sandbox lifetime and no second copy of a span.
import { createHash } from 'node:crypto';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** One trace per sandbox lifetime: the sandbox id plus the shim's pid (separates a re-used id). */
export function traceIdFor(sandboxId: string, shimPid: number | string): string {
  return sha256(`kata/${sandboxId}/${shimPid}`).slice(0, 32);
}

/** A span's id from what it is about: its kind, container, exec and the ordinal among spans of the same key. */
export function spanIdFor(traceId: string, kind: string, containerId = '', execId = '', ordinal = 0): string {
  const id = sha256(`${traceId}/${kind}/${containerId}/${execId}/${ordinal}`).slice(0, 16);
  // An all-zero id is OTLP's "no id"; astronomically unlikely, but never emit it.
  return /^0+$/.test(id) ? '0000000000000001' : id;
}
