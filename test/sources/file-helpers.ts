// Shared by the file/stdin source tests: numbered lines, exactly-once checks and a follow-mode runner.
import { rmSync } from 'node:fs';
import { afterAll, expect } from 'vitest';
import { FileSource, type FileSourceOptions } from '../../receiver/sources/file.js';
import type { RawEntry } from '../../receiver/sources/types.js';
import { ATTR_LOG_RECORD_UID } from '../../receiver/semconv/generated.js';
import { harness, tempDir, type Harness } from './source-harness.js';

/** A numbered line without its newline. */
export const line = (i: number, pad = 24): string => `seq=${i} ${'x'.repeat(pad)}`;
export const lines = (from: number, to: number): string => {
  let s = '';
  for (let i = from; i < to; i++) s += line(i) + '\n';
  return s;
};
export const seqOf = (text: string): number => Number(/^seq=(\d+)/.exec(text)?.[1] ?? NaN);

/** Every number 0..n-1 delivered exactly once. */
export function expectExactlyOnce(texts: string[], n: number): void {
  const seqs = texts.map(seqOf);
  const counts = new Map<number, number>();
  for (const s of seqs) counts.set(s, (counts.get(s) ?? 0) + 1);
  const missing: number[] = [];
  for (let i = 0; i < n; i++) if (!counts.has(i)) missing.push(i);
  const dups = [...counts].filter(([, c]) => c > 1).map(([s]) => s);
  expect({ missing: missing.slice(0, 20), missingCount: missing.length, dups: dups.slice(0, 20) }).toEqual({
    missing: [],
    missingCount: 0,
    dups: [],
  });
  expect(seqs.length).toBe(n);
}

export const uidOf = (e: RawEntry): unknown => e.attributes?.[ATTR_LOG_RECORD_UID];

export interface Running {
  h: Harness;
  source: FileSource;
  done: Promise<void>;
  /** Abort and wait for run() to return. */
  stop(): Promise<void>;
}

/** Start a FileSource in follow mode with a fast poll. */
export function follow(opts: FileSourceOptions, h: Harness = harness()): Running {
  const source = new FileSource({ pollIntervalMs: 20, flushTimeoutMs: 200, ...opts });
  const done = source.run(h.ctx);
  return {
    h,
    source,
    done,
    stop: async () => {
      h.controller.abort();
      await done;
    },
  };
}

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const scratchDirs: string[] = [];
/** A temporary directory removed after the test file (the rotation tests write megabytes). */
export function scratch(): string {
  if (scratchDirs.length === 0) afterAll(() => scratchDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const d = tempDir('kata-otel-file-');
  scratchDirs.push(d);
  return d;
}
