// SIGHUP: reload the configuration. The new file is loaded and checked first; an invalid one is logged and the
// running configuration stays. A valid one is applied in place by Receiver.reload (receiver-object.ts): sources
// and exporters (with their queues and connections) whose settings did not change keep running untouched; changed
// or removed sources stop and write their checkpoints (only past what is durably queued), changed or removed
// exporters' queues drain (bounded by shutdown_timeout_ms) and close (a disk queue keeps what is left for the
// exporter of the same name); added and changed ones start; stages are rebuilt between
// batches while the sources' hand-off waits, so no record is dropped. A change of a setting that shapes the whole
// process (data_dir, telemetry, archive, index, doctor, integrity, lifecycle on/off) restarts the receiver
// inside the process instead, as a restart would: sources stop and checkpoint, queues flush for at most
// shutdown_timeout_ms and keep the rest on disk, and the receiver starts again on the new configuration. The
// `log` settings (kata-otel's own logger, made by the CLI) take effect at the next start of the process.
import type { ReceiverConfig } from '../config/index.js';
import type { Logger } from '../telemetry/log.js';
import { redactUrls } from '../telemetry/redact.js';
import type { RunSummary } from './receiver.js';
import type { Receiver } from './receiver-object.js';

export interface ReloadOptions {
  initial: ReceiverConfig;
  /** Load and validate the configuration again; throws on an invalid one. */
  load: () => ReceiverConfig;
  /** A built receiver for `config` (`first`: the process's first start). */
  create: (config: ReceiverConfig, first: boolean) => Promise<Receiver>;
  /** SIGTERM/SIGINT: stop for good. */
  stop: AbortSignal;
  logger: Logger;
  /** Subscribe to reload requests (SIGHUP); returns the unsubscribe function. */
  onReload: (listener: () => void) => () => void;
}

export async function runReloading(o: ReloadOptions): Promise<RunSummary> {
  let config = o.initial;
  for (let generation = 1; ; generation++) {
    const receiver = await o.create(config, generation === 1);
    const current = new AbortController();
    let restartWith: ReceiverConfig | undefined;
    // One reload at a time, in the order the signals came.
    let queue = Promise.resolve();
    const reload = async () => {
      if (restartWith !== undefined || current.signal.aborted) return; // already restarting or stopping
      let next: ReceiverConfig;
      try {
        next = o.load();
      } catch (err) {
        o.logger.error('configuration reload failed; the running configuration stays', {
          error: redactUrls((err as Error).message),
        });
        return;
      }
      o.logger.info('reloading the configuration (SIGHUP)', { generation });
      const changes = await receiver.reload(next);
      if (changes) {
        config = next;
        o.logger.info('configuration reloaded', { generation, inPlace: true, ...changes });
        return;
      }
      o.logger.info('a process-wide setting changed: stopping the sources and flushing the queues to restart', {
        generation,
      });
      restartWith = next;
      current.abort();
    };
    const onStop = () => current.abort();
    o.stop.addEventListener('abort', onStop, { once: true });
    const off = o.onReload(() => {
      queue = queue.then(reload).catch((err: unknown) => o.logger.error('configuration reload failed', { err }));
    });
    if (o.stop.aborted) current.abort();
    let summary: RunSummary;
    try {
      summary = await receiver.run(current.signal);
      await queue;
    } finally {
      off();
      o.stop.removeEventListener('abort', onStop);
    }
    if (restartWith === undefined || o.stop.aborted) return summary;
    config = restartWith;
    o.logger.info('configuration reloaded: receiver started again', { generation: generation + 1 });
  }
}
