// How long a following source holds a small batch for more entries before handing it off (the Collector's
// batch processor `timeout`, Vector's `batch.timeout_secs`). At a steady trickle every hand-off pays the same fixed
// costs whatever its size — a pass through the stages, a delivery-queue append and its fsync, a checkpoint write,
// an export request — and on a node at 2,000 lines/s those per-batch costs, paid every 200 ms by each source, were
// most of kata-otel's CPU (bench/README.md "Steady state"). One second keeps write → backend latency well inside
// the 2 s issue 20 sets, and a full batch still goes at once.
export const DEFAULT_LINGER_MS = 1000;
