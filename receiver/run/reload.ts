// SIGHUP: reload the configuration. The new file is loaded and checked first; an invalid one is logged and the
// running configuration stays. A valid one replaces the running receiver the way a restart would, inside the
// process: sources stop and write their checkpoints (only past what is durably queued), queues flush for at
// most shutdown_timeout_ms and keep the rest on disk, then the receiver starts again on the new configuration and
// resumes from those checkpoints and queues. Nothing read from files or the journal is lost (disk queue); streams
// that cannot be replayed (stdin, vsock) lose only lines in flight, as at a restart. Every source and exporter
// restarts, changed or not: keeping unchanged ones running is not done yet.
import type { ReceiverConfig } from '../config/index.js';
import type { Logger } from '../telemetry/log.js';
import { redactUrls } from '../telemetry/redact.js';
import type { RunSummary } from './receiver.js';

export interface ReloadOptions {
  initial: ReceiverConfig;
  /** Load and validate the configuration again; throws on an invalid one. */
  load: () => ReceiverConfig;
  run: (config: ReceiverConfig, signal: AbortSignal) => Promise<RunSummary>;
  /** SIGTERM/SIGINT: stop for good. */
  stop: AbortSignal;
  logger: Logger;
  /** Subscribe to reload requests (SIGHUP); returns the unsubscribe function. */
  onReload: (listener: () => void) => () => void;
}

export async function runReloading(o: ReloadOptions): Promise<RunSummary> {
  let config = o.initial;
  for (let generation = 1; ; generation++) {
    const current = new AbortController();
    let next: ReceiverConfig | undefined;
    const onStop = () => current.abort();
    o.stop.addEventListener('abort', onStop, { once: true });
    const off = o.onReload(() => {
      if (next !== undefined || current.signal.aborted) return; // already switching
      try {
        next = o.load();
      } catch (err) {
        o.logger.error('configuration reload failed; the running configuration stays', {
          error: redactUrls((err as Error).message),
        });
        return;
      }
      o.logger.info('reloading the configuration (SIGHUP): stopping the sources and flushing the queues', {
        generation,
      });
      current.abort();
    });
    if (o.stop.aborted) current.abort();
    let summary: RunSummary;
    try {
      summary = await o.run(config, current.signal);
    } finally {
      off();
      o.stop.removeEventListener('abort', onStop);
    }
    if (next === undefined || o.stop.aborted) return summary;
    config = next;
    o.logger.info('configuration reloaded: receiver started again', { generation: generation + 1 });
  }
}
