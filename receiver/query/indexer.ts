// The daemon keeps the query index up to date as the store is written (`index.interval_ms`): every interval it
// indexes the new complete lines of the store files that grew, so a query after days of data does not pay the
// whole build. Only the index code is loaded (no DuckDB), and no index is held in memory between passes.
import { StoreIndex } from './store-index.js';
import type { Logger } from '../telemetry/log.js';

export function startIndexer(s: { storeDir: string; indexDir: string; intervalMs: number; logger: Logger }): {
  stop: () => void;
  runNow: () => Promise<void>;
} {
  const index = new StoreIndex(s.storeDir, s.indexDir, {
    keepInMemory: false,
    onWarn: (m) => s.logger.warn(m, { component: 'query-index' }),
  });
  let running: Promise<void> | undefined;
  const runNow = () =>
    (running ??= index
      .refreshChanged()
      .then((n) => {
        if (n) s.logger.debug('query index updated', { files: n });
      })
      .catch((err: unknown) => s.logger.warn('query index not updated', { err }))
      .finally(() => (running = undefined)));
  const timer = setInterval(() => void runNow(), s.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer), runNow };
}
