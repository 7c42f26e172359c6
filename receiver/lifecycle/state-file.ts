// The lifecycle machine's state on disk (`<data_dir>/lifecycle/state.json`): open and recently ended lifetimes,
// so a restarted receiver continues the same traces. Written atomically (temp file, fsync, rename) so a crash
// leaves the previous state or the new one, never a torn file; a file that cannot be read is reported and set
// aside (renamed `.bad`), never fatal: the spans of those sandboxes then start again at the next record.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { big, reviveSpan } from '../signals/payload.js';
import type { Logger } from '../telemetry/log.js';
import type { HeldSpan, Lifetime } from './machine.js';

const VERSION = 1;

type Json = Record<string, unknown>;

const ns = (v: bigint | undefined): string | undefined => (v === undefined ? undefined : v.toString());

/** A span with its bigint times as decimal strings (what `reviveSpan` reads back). */
function plainSpan(sp: HeldSpan): unknown {
  return {
    ...sp,
    startTimeUnixNano: sp.startTimeUnixNano.toString(),
    endTimeUnixNano: sp.endTimeUnixNano.toString(),
    events: sp.events.map((e) => ({ ...e, timeUnixNano: e.timeUnixNano.toString() })),
  };
}

function serializeLifetime(lt: Lifetime): string {
  const spans: Record<string, unknown> = {};
  for (const k in lt.spans) spans[k] = plainSpan(lt.spans[k] as HeldSpan);
  return JSON.stringify({
    ...lt,
    lastNs: ns(lt.lastNs),
    pendingConfigNs: ns(lt.pendingConfigNs),
    firstContainerStartedNs: ns(lt.firstContainerStartedNs),
    spans,
  });
}

/** The JSON of ended lifetimes: nothing but their last-record time and debug flag changes once ended. */
const endedText = new WeakMap<Lifetime, { lastNs: bigint; debug: boolean; text: string }>();

/**
 * The state as JSON (what JSON.stringify of `{ version, lifetimes }` with bigints as decimal strings gives). The
 * bigint fields are converted here rather than by a replacer called for every key of every span, and an ended
 * lifetime is serialized once: a writer starting a "new shim" on every line has the state (up to 512 lifetimes)
 * rewritten after every batch (bench/README.md "Lifecycle per record").
 */
export function serializeLifetimes(lifetimes: Iterable<Lifetime>): string {
  const parts: string[] = [];
  for (const lt of lifetimes) {
    if (!lt.ended) {
      parts.push(serializeLifetime(lt));
      continue;
    }
    let c = endedText.get(lt);
    if (!c || c.lastNs !== lt.lastNs || c.debug !== lt.debug)
      endedText.set(lt, (c = { lastNs: lt.lastNs, debug: lt.debug, text: serializeLifetime(lt) }));
    parts.push(c.text);
  }
  return `{"version":${VERSION},"lifetimes":[${parts.join(',')}]}`;
}

export function parseLifetimes(text: string): Lifetime[] {
  const doc = JSON.parse(text) as { version?: unknown; lifetimes?: unknown };
  if (doc.version !== VERSION || !Array.isArray(doc.lifetimes)) throw new Error(`not a version ${VERSION} state file`);
  return (doc.lifetimes as Json[]).map((j) => {
    if (typeof j.traceId !== 'string' || typeof j.sandboxId !== 'string') throw new Error('a lifetime lacks its ids');
    const spans: Record<string, HeldSpan> = {};
    for (const [k, s] of Object.entries((j.spans ?? {}) as Record<string, unknown>)) spans[k] = reviveSpan<HeldSpan>(s);
    return {
      ...(j as unknown as Lifetime),
      lastNs: big(j.lastNs),
      pendingConfigNs: j.pendingConfigNs === undefined ? undefined : big(j.pendingConfigNs),
      firstContainerStartedNs: j.firstContainerStartedNs === undefined ? undefined : big(j.firstContainerStartedNs),
      spans,
    };
  });
}

export function readStateFile(path: string, logger: Logger): Lifetime[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      logger.warn('lifecycle state file unreadable: open spans start again', { path, err });
    return [];
  }
  try {
    return parseLifetimes(text);
  } catch (err) {
    logger.warn('lifecycle state file damaged: set aside as .bad, open spans start again', { path, err });
    try {
      renameSync(path, `${path}.bad`);
    } catch {
      /* reported above */
    }
    return [];
  }
}

/** Directories already made: the state is written after every batch that changed it, the mkdir is needed once. */
const made = new Set<string>();

export function writeStateFile(path: string, text: string): void {
  const dir = dirname(path);
  if (!made.has(dir)) {
    mkdirSync(dir, { recursive: true });
    made.add(dir);
  }
  const tmp = `${path}.tmp`;
  let fd: number;
  try {
    fd = openSync(tmp, 'w', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    // The directory went away since (a data directory cleaned up): make it again.
    mkdirSync(dir, { recursive: true });
    fd = openSync(tmp, 'w', 0o600);
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
