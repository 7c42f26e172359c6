// How long a following source holds a small batch for more entries before handing it off (the Collector's
// batch processor `timeout`, Vector's `batch.timeout_secs`). At a steady trickle every hand-off pays the same fixed
// costs whatever its size — a pass through the stages, a delivery-queue append and its fsync, a checkpoint write,
// an export request — which each source paid every 200 ms poll (bench/README.md "Steady state": at a trickle
// from 100 files and a journal, 11% of a core before, 6% with this linger). 500 ms: the linger adds to write →
// backend latency (up to the linger plus one poll), and issue 20 sets p99 ≤ 2 s; a full batch still goes at once.
export const DEFAULT_LINGER_MS = 500;
