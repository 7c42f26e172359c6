// Write → receiver latency of the steady-state bench's tagged records (computed in the sink, bench/sink.ts).

export interface LatencyStats {
  /** Tags written (seq 0..written-1). */
  written: number;
  /** Distinct tags that arrived. */
  received: number;
  /** Arrivals of a tag seen before. */
  repeats: number;
  /** Milliseconds, over the arrived tags; 0 when none arrived. */
  p50: number;
  p99: number;
  min: number;
  max: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** `latencies[seq]`: ms from write to arrival, NaN for a tag that did not arrive. */
export function latencyStats(latencies: Float64Array, written: number, repeats: number): LatencyStats {
  const got = Float64Array.from(latencies.filter((x) => !Number.isNaN(x))).sort();
  return {
    written,
    received: got.length,
    repeats,
    p50: percentile(got, 50),
    p99: percentile(got, 99),
    min: got.length ? got[0]! : 0,
    max: got.length ? got[got.length - 1]! : 0,
  };
}
