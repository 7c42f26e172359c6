// Metrics derived from the lifecycle (semconv registry: metric groups): duration histograms of the steps
// operators chart (sandbox start-up to its first container, VM start, agent connect, container create, teardown)
// per hypervisor and runtime, lifecycle failures by kind, and records by component and severity. Cumulative,
// aggregated here (a few series per node), pushed through each exporter's `<name>.metrics` queue.
import type { KataLogRecord } from '../model/record.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_HYPERVISOR_NAME,
  ATTR_KATA_RUNTIME,
  ATTR_KATA_SPAN_INCOMPLETE,
  ATTR_LOG_RECORD_SEVERITY_TEXT,
  METRIC_KATA_AGENT_CONNECT_DURATION,
  METRIC_KATA_CONTAINER_CREATE_DURATION,
  METRIC_KATA_LIFECYCLE_FAILURES,
  METRIC_KATA_LOG_RECORDS,
  METRIC_KATA_SANDBOX_STARTUP_DURATION,
  METRIC_KATA_SANDBOX_TEARDOWN_DURATION,
  METRIC_KATA_VM_START_DURATION,
  SPAN_KATA_AGENT_CONNECT,
  SPAN_KATA_CONTAINER,
  SPAN_KATA_CONTAINER_CREATE,
  SPAN_KATA_SANDBOX,
  SPAN_KATA_SANDBOX_STOP,
  SPAN_KATA_VM_START,
} from '../semconv/generated.js';
import type { KataSpan } from './types.js';

export interface MetricPoint {
  attributes: Record<string, string>;
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  /** sum */
  value?: number;
  /** histogram */
  count?: number;
  sum?: number;
  bucketCounts?: number[];
  explicitBounds?: number[];
}

export interface MetricData {
  name: string;
  description: string;
  unit: string;
  kind: 'histogram' | 'sum';
  points: MetricPoint[];
}

/** Seconds: Kata's VM start is tens of ms, the agent dial time-out 45 s, a guest image pull minutes. */
export const DURATION_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

const SPAN_HISTOGRAM: Record<string, [string, string]> = {
  [SPAN_KATA_VM_START]: [METRIC_KATA_VM_START_DURATION, 'Duration of kata.vm.start spans.'],
  [SPAN_KATA_AGENT_CONNECT]: [METRIC_KATA_AGENT_CONNECT_DURATION, 'Duration of kata.agent.connect spans.'],
  [SPAN_KATA_CONTAINER_CREATE]: [METRIC_KATA_CONTAINER_CREATE_DURATION, 'Duration of kata.container.create spans.'],
  [SPAN_KATA_SANDBOX_STOP]: [METRIC_KATA_SANDBOX_TEARDOWN_DURATION, 'Duration of kata.sandbox.stop spans.'],
};
const STARTUP = 'Sandbox start (first record) to its first app container started.';
const SEVERITY = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

interface Series {
  attributes: Record<string, string>;
  count: number;
  sum: number;
  buckets?: number[];
}

const str = (v: unknown): string => (v === undefined ? '' : String(v));

export class LifecycleMetrics {
  private readonly series = new Map<
    string,
    { name: string; description: string; unit: string; kind: MetricData['kind']; by: Map<string, Series> }
  >();

  /** The records series by component and severity index: `record` runs on every record and builds no key. */
  private readonly records = new Map<unknown, Series[]>();

  constructor(private readonly startNs: bigint = BigInt(Date.now()) * 1_000_000n) {}

  /** A span ended: its duration, if it is one of the charted steps; a failed sandbox or container: a failure. */
  span(s: KataSpan): void {
    const attrs = {
      [ATTR_KATA_HYPERVISOR_NAME]: str(s.attributes[ATTR_KATA_HYPERVISOR_NAME]),
      [ATTR_KATA_RUNTIME]: str(s.attributes[ATTR_KATA_RUNTIME]),
    };
    const h = SPAN_HISTOGRAM[s.name];
    if (h && s.status.code !== 2 && !s.attributes[ATTR_KATA_SPAN_INCOMPLETE])
      this.observe(h[0], h[1], attrs, Number(s.endTimeUnixNano - s.startTimeUnixNano) / 1e9);
    if (s.status.code === 2 && (s.name === SPAN_KATA_SANDBOX || s.name === SPAN_KATA_CONTAINER))
      this.add(METRIC_KATA_LIFECYCLE_FAILURES, 'Lifecycle failures by kind.', '{failure}', {
        ...attrs,
        [ATTR_ERROR_TYPE]: str(s.attributes[ATTR_ERROR_TYPE]),
      });
  }

  /** The sandbox's first app container started `seconds` after the sandbox's first record. */
  startup(attributes: { hypervisor: string; runtime: string }, seconds: number): void {
    this.observe(
      METRIC_KATA_SANDBOX_STARTUP_DURATION,
      STARTUP,
      { [ATTR_KATA_HYPERVISOR_NAME]: attributes.hypervisor, [ATTR_KATA_RUNTIME]: attributes.runtime },
      seconds,
    );
  }

  record(r: KataLogRecord): void {
    const n = r.severityNumber;
    const i = Number.isInteger(n) && n >= 1 && n <= 24 ? Math.floor((n - 1) / 4) : SEVERITY.length;
    const component = r.attributes[ATTR_KATA_COMPONENT];
    let byLevel = this.records.get(component);
    if (!byLevel) this.records.set(component, (byLevel = []));
    let s = byLevel[i];
    if (!s)
      s = byLevel[i] = this.seriesOf(METRIC_KATA_LOG_RECORDS, 'Records by component and severity.', '{record}', 'sum', {
        [ATTR_KATA_COMPONENT]: str(component),
        [ATTR_LOG_RECORD_SEVERITY_TEXT]: SEVERITY[i] ?? 'UNSPECIFIED',
      });
    s.count++;
  }

  /** Every series, cumulative since the receiver started. */
  collect(nowNs: bigint = BigInt(Date.now()) * 1_000_000n): MetricData[] {
    return [...this.series.values()].map((m) => ({
      name: m.name,
      description: m.description,
      unit: m.unit,
      kind: m.kind,
      points: [...m.by.values()].map((s) =>
        m.kind === 'sum'
          ? { attributes: s.attributes, startTimeUnixNano: this.startNs, timeUnixNano: nowNs, value: s.count }
          : {
              attributes: s.attributes,
              startTimeUnixNano: this.startNs,
              timeUnixNano: nowNs,
              count: s.count,
              sum: s.sum,
              bucketCounts: [...(s.buckets ?? [])],
              explicitBounds: DURATION_BOUNDS,
            },
      ),
    }));
  }

  private seriesOf(
    name: string,
    description: string,
    unit: string,
    kind: MetricData['kind'],
    attributes: Record<string, string>,
  ): Series {
    let m = this.series.get(name);
    if (!m) this.series.set(name, (m = { name, description, unit, kind, by: new Map() }));
    const key = JSON.stringify(attributes);
    let s = m.by.get(key);
    if (!s)
      m.by.set(
        key,
        (s = {
          attributes,
          count: 0,
          sum: 0,
          buckets: kind === 'histogram' ? new Array<number>(DURATION_BOUNDS.length + 1).fill(0) : undefined,
        }),
      );
    return s;
  }

  private observe(name: string, description: string, attributes: Record<string, string>, seconds: number): void {
    const s = this.seriesOf(name, description, 's', 'histogram', attributes);
    s.count++;
    s.sum += seconds;
    let i = DURATION_BOUNDS.findIndex((b) => seconds <= b);
    if (i < 0) i = DURATION_BOUNDS.length;
    (s.buckets as number[])[i]!++;
  }

  private add(name: string, description: string, unit: string, attributes: Record<string, string>): void {
    this.seriesOf(name, description, unit, 'sum', attributes).count++;
  }
}
