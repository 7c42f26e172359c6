// V8 heap sizing for `run` (issue 20, memory). On a backlog the live heap is ~25 MB (a heap snapshot at the peak of a
// 300k-line import); the rest of the 190–230 MB peak was V8's headroom: 2 × 16 MiB semi-spaces and an old generation
// allowed to grow 1.1–4× past the live data before the next full GC. Both are V8 flags read when the heap grows, so
// they can be set from inside the process, before the CLI's modules load (cli/main.ts calls this before it imports the command):
//   - old generation: grow the limit by 30% of the live data (--heap-growing-percent);
//   - young generation: a daemon keeps its initial size (start-up garbage would grow it to 2 × 16 MiB and keep it
//     resident); an import (`--once`) lets it grow to 2 × 4 MiB and stops it there, when a GC reports that size.
// An explicit --max-semi-space-size or NODE_OPTIONS flag still bounds what it sets.
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

/** Most bytes of the young generation (new space: two semi-spaces) an import grows to. */
export const IMPORT_NEW_SPACE_BYTES = 8 * 1024 * 1024;

const newSpaceBytes = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;

export function limitHeap(opts: { once: boolean }): void {
  v8.setFlagsFromString('--heap-growing-percent=30');
  if (!opts.once) {
    v8.setFlagsFromString('--semi-space-growth-factor=1');
    return;
  }
  // The young generation only grows after a scavenge: check after each GC, stop growth at the cap, then stop looking.
  const obs = new PerformanceObserver(() => {
    if (newSpaceBytes() < IMPORT_NEW_SPACE_BYTES) return;
    v8.setFlagsFromString('--semi-space-growth-factor=1');
    obs.disconnect();
  });
  obs.observe({ entryTypes: ['gc'] });
}
