// One sandbox's story from its records: lifecycle steps with durations, outcome, start time, gaps in the
// agent's stream. Steps come from lifecycle spans when the store has them (resourceSpans lines, Collector
// file-exporter traces format) and otherwise from the well-known lifecycle messages of the Go runtime
// (see docs/review.md and the research note on the Kata lifecycle). Only host-side components (runtime) mark
// steps: a guest could write "Agent started in the sandbox" itself, so guest text never moves a step.
import type { KataLogRecord } from '../model/record.js';
import {
  ATTR_KATA_ALERT_RULE_ID,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_HYPERVISOR_NAME,
  ATTR_KATA_SANDBOX_ID,
  KATA_COMPONENT_VALUE_AGENT,
  KATA_COMPONENT_VALUE_RUNTIME,
} from '../semconv/generated.js';
import { recordTimeNs } from '../query/filter.js';

export interface Step {
  name: string;
  startNs: bigint;
  endNs?: bigint;
  /** Where the step came from. */
  from: 'span' | 'log';
  failed?: boolean;
}

export interface Gap {
  afterNs: bigint;
  beforeNs: bigint;
}

export type Outcome = 'started' | 'stopped' | 'failed' | 'starting' | 'unknown';

export interface SandboxStory {
  sandbox: string;
  hypervisor?: string;
  firstNs: bigint;
  lastNs: bigint;
  steps: Step[];
  outcome: Outcome;
  /** `Starting VM` → `Agent started in the sandbox`, ms. */
  startMs?: number;
  errors: number;
  warnings: number;
  alerts: number;
  gaps: Gap[];
}

/** A span as the Collector file exporter writes it (only what the timeline needs). */
export interface SpanLite {
  name: string;
  traceId: string;
  startNs: bigint;
  endNs: bigint;
  sandbox?: string;
  error: boolean;
}

/** [step name, message that starts it, message that ends it]; messages match the start of the body. */
const LOG_STEPS: [string, string, string | undefined][] = [
  ['vm.start', 'Starting VM', 'VM started'],
  ['agent.connect', 'New client', 'Agent started in the sandbox'],
  ['sandbox.start', 'Agent started in the sandbox', 'Sandbox is started'],
  ['container.start', 'Attach devices', 'Container is started'],
  ['sandbox.stop', 'Stopping sandbox in the VM', 'Cleanup agent'],
];

const isRuntime = (r: KataLogRecord) => r.attributes[ATTR_KATA_COMPONENT] === KATA_COMPONENT_VALUE_RUNTIME;
const startsWith = (r: KataLogRecord, m: string) => r.body === m || r.body.startsWith(m + ' ');

/** Gap threshold for the agent stream: longer silences are marked. */
export const DEFAULT_GAP_MS = 30_000;

export function sandboxStory(
  sandbox: string,
  recs: KataLogRecord[],
  spans: SpanLite[] = [],
  gapMs = DEFAULT_GAP_MS,
): SandboxStory {
  const sorted = [...recs].sort((a, b) =>
    recordTimeNs(a) < recordTimeNs(b) ? -1 : recordTimeNs(a) > recordTimeNs(b) ? 1 : 0,
  );
  const story: SandboxStory = {
    sandbox,
    firstNs: sorted.length ? recordTimeNs(sorted[0]!) : 0n,
    lastNs: sorted.length ? recordTimeNs(sorted.at(-1)!) : 0n,
    steps: [],
    outcome: 'unknown',
    errors: 0,
    warnings: 0,
    alerts: 0,
    gaps: [],
  };
  let lastAgent: bigint | undefined;
  for (const r of sorted) {
    const t = recordTimeNs(r);
    if (r.severityNumber >= 17) story.errors++;
    else if (r.severityNumber >= 13) story.warnings++;
    if (r.attributes[ATTR_KATA_ALERT_RULE_ID] !== undefined) story.alerts++;
    const hv = r.attributes[ATTR_KATA_HYPERVISOR_NAME];
    if (typeof hv === 'string' && !story.hypervisor) story.hypervisor = hv;
    if (r.attributes[ATTR_KATA_COMPONENT] === KATA_COMPONENT_VALUE_AGENT) {
      if (lastAgent !== undefined && Number((t - lastAgent) / 1_000_000n) > gapMs)
        story.gaps.push({ afterNs: lastAgent, beforeNs: t });
      lastAgent = t;
    }
  }
  const mine = spans.filter((s) => s.sandbox === sandbox);
  if (mine.length) {
    story.steps = mine
      .sort((a, b) => (a.startNs < b.startNs ? -1 : 1))
      .map((s) => ({ name: s.name, startNs: s.startNs, endNs: s.endNs, from: 'span', failed: s.error }));
  } else {
    const host = sorted.filter(isRuntime);
    for (const [name, begin, end] of LOG_STEPS) {
      const b = host.find((r) => startsWith(r, begin));
      if (!b) continue;
      const tb = recordTimeNs(b);
      const e = end ? host.find((r) => startsWith(r, end) && recordTimeNs(r) >= tb) : undefined;
      const step: Step = { name, startNs: tb, from: 'log' };
      if (e) step.endNs = recordTimeNs(e);
      else if (host.some((r) => r.severityNumber >= 17 && recordTimeNs(r) >= tb)) step.failed = true;
      story.steps.push(step);
    }
  }
  const vm = story.steps.find((s) => s.name === 'vm.start');
  const agent = sorted.find((r) => isRuntime(r) && startsWith(r, 'Agent started in the sandbox'));
  if (vm && agent) story.startMs = Number(recordTimeNs(agent) - vm.startNs) / 1e6;
  const stopped = story.steps.find((s) => s.name === 'sandbox.stop' && s.endNs !== undefined);
  if (story.steps.some((s) => s.failed)) story.outcome = 'failed';
  else if (stopped) story.outcome = 'stopped';
  else if (agent) story.outcome = 'started';
  else if (vm) story.outcome = 'starting';
  return story;
}

/** Spans from Collector file-exporter trace lines (`{"resourceSpans":[...]}`); other lines are ignored. */
export function decodeSpansJson(line: string): SpanLite[] {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return [];
  }
  const out: SpanLite[] = [];
  const arr = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? (v as Record<string, unknown>[]) : []);
  const attr = (list: unknown, key: string): string | undefined => {
    for (const kv of arr(list)) {
      const v = kv.value as Record<string, unknown> | undefined;
      if (kv.key === key && typeof v?.stringValue === 'string') return v.stringValue;
    }
    return undefined;
  };
  for (const rs of arr((doc as Record<string, unknown>)?.resourceSpans)) {
    const res = rs.resource as Record<string, unknown> | undefined;
    const resSandbox = attr(res?.attributes, ATTR_KATA_SANDBOX_ID);
    for (const ss of arr(rs.scopeSpans))
      for (const s of arr(ss.spans)) {
        if (typeof s.name !== 'string' || typeof s.startTimeUnixNano !== 'string') continue;
        const status = s.status as Record<string, unknown> | undefined;
        const sb = attr(s.attributes, ATTR_KATA_SANDBOX_ID) ?? resSandbox;
        out.push({
          name: s.name,
          traceId: String(s.traceId ?? ''),
          startNs: BigInt(s.startTimeUnixNano),
          endNs: BigInt(typeof s.endTimeUnixNano === 'string' ? s.endTimeUnixNano : s.startTimeUnixNano),
          ...(sb ? { sandbox: sb } : {}),
          error: status?.code === 2 || status?.code === 'STATUS_CODE_ERROR',
        });
      }
  }
  return out;
}
