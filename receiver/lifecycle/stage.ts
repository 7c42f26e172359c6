// The lifecycle stage: runs every record through the lifecycle machine, stamps the record with the trace id and
// span id of the innermost lifecycle span it belongs to and with its sandbox's phase (`kata.lifecycle.phase`,
// which rules use), and hands ended spans to the pipeline (Stage.drain), which queues them beside the records.
// The machine's state is written once a batch's records and spans are durable, so the state file never claims a
// span the queues do not hold (at-least-once across a SIGKILL: docs/tracing.md); only after a batch that changed
// what it holds beyond the idle clocks (a lifetime opened or ended, a lifecycle step), else at most once per
// IDLE_CLOCK_WRITE_MS and at shutdown: most batches only move a sandbox's last-record time.
import { join } from 'node:path';
import type { KataLogRecord } from '../model/record.js';
import type { Stage, StageOutput } from '../pipeline/types.js';
import {
  ATTR_KATA_AGENT_SPAN_ORIGINAL_ID,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_LIFECYCLE_PHASE,
  ATTR_KATA_SANDBOX_ID,
  ATTR_SERVICE_NAME,
  KATA_COMPONENT_VALUE_AGENT,
} from '../semconv/generated.js';
import type { Logger } from '../telemetry/log.js';
import type { AgentSpan } from './agent-spans.js';
import { spanIdFor } from './ids.js';
import { LifecycleMachine } from './machine.js';
import type { LifecycleMetrics } from './metrics.js';
import { readStateFile, serializeLifetimes, writeStateFile } from './state-file.js';
import type { KataSpan } from './types.js';
import type { StageEnv } from '../components/types.js';
import type { LifecycleInstanceConfig } from './config.js';

export interface LifecycleStageOptions {
  /** `<data_dir>`; the state lives in `<data_dir>/lifecycle/state.json`. Undefined: nothing persisted. */
  dataDir?: string;
  execs: boolean;
  /** Open spans of a sandbox with no record for this long (record time) are closed as incomplete. */
  idleMs: number;
  /** An ended lifetime is remembered this long (late records still get its trace). */
  retainMs: number;
  logger: Logger;
  /** Derived metrics (durations, failures, records by component and severity). */
  metrics?: LifecycleMetrics;
}

const MS = 1_000_000n;
/** A state whose only change is the sandboxes' last-record times is written at most this often: after a SIGKILL
 *  those times are at most this stale (they only place the end of spans later closed as idle). */
const IDLE_CLOCK_WRITE_MS = 5_000;

export class LifecycleStage implements Stage {
  readonly name = 'lifecycle';
  readonly machine: LifecycleMachine;
  private pending: KataSpan[] = [];
  /** A record joined a lifetime (its last-record time moved) since the last snapshot. */
  private touched = false;
  private lastSnapshotMs = 0;
  private closing = false;
  private readonly statePath?: string;
  /** Snapshots are written in the order their batches were taken; a later one supersedes an earlier one. */
  private written = 0;
  private taken = 0;

  constructor(private readonly opts: LifecycleStageOptions) {
    this.machine = new LifecycleMachine({
      execs: opts.execs,
      onEnd: (span) => {
        this.pending.push(span);
        opts.metrics?.span(span);
      },
      onStartup: (lt, ns, hypervisor) => opts.metrics?.startup({ hypervisor, runtime: lt.runtime }, Number(ns) / 1e9),
    });
    if (opts.dataDir) {
      this.statePath = join(opts.dataDir, 'lifecycle', 'state.json');
      for (const lt of readStateFile(this.statePath, opts.logger)) this.machine.restore(lt);
    }
  }

  process(records: KataLogRecord[]): KataLogRecord[] {
    const m = this.opts.metrics;
    const machine = this.machine;
    for (const r of records) {
      m?.record(r);
      const span = machine.apply(r);
      if (!span) continue;
      this.touched = true;
      if (!r.traceId) {
        r.traceId = span.traceId;
        r.spanId = span.spanId;
      }
      r.attributes[ATTR_KATA_LIFECYCLE_PHASE] = machine.phase;
    }
    return records;
  }

  flush(nowUnixNano: bigint): KataLogRecord[] {
    // Idle time is record time: the clock less how far behind the records being read are (~0 on live input;
    // an old journal imported in follow mode would otherwise have every sandbox closed at the first tick), and
    // never before the newest record (a replay's end passes that record's time as `nowUnixNano`).
    const behind = nowUnixNano - this.machine.lagNs;
    const now = behind > this.machine.latestNs ? behind : this.machine.latestNs;
    this.machine.closeIdle(now, BigInt(this.opts.idleMs) * MS, BigInt(this.opts.retainMs) * MS);
    return [];
  }

  /** The end of the run: the next snapshot is written whatever changed (exact idle clocks for the next start). */
  close(): KataLogRecord[] {
    this.closing = true;
    return [];
  }

  /**
   * Spans the guest agent of `sandboxId` exported (receiver/sources/agent-spans.ts; the id comes from the socket
   * they arrived on). They join the sandbox's current trace: ids re-derived from the agent's (a guest cannot make
   * one equal a lifecycle span's), the agent's own parent links kept, and an agent root under the innermost
   * lifecycle span open at its start. Returns how many were taken (none without a lifetime to put them in).
   */
  adoptAgentSpans(sandboxId: string, spans: readonly AgentSpan[]): number {
    const lt = this.machine.lifetimeOf(sandboxId);
    if (!lt) return 0;
    const held = Object.values(lt.spans);
    const agentId = (id: string) => spanIdFor(lt.traceId, 'agent', '', id);
    for (const a of spans) {
      let parent = a.parentSpanId ? agentId(a.parentSpanId) : '';
      if (!parent) {
        let best = held[0];
        for (const s of held) {
          const within =
            s.startTimeUnixNano <= a.startTimeUnixNano && (!s.ended || s.endTimeUnixNano >= a.startTimeUnixNano);
          if (within && (!best || s.startTimeUnixNano >= best.startTimeUnixNano)) best = s;
        }
        parent = best?.spanId ?? '';
      }
      this.pending.push({
        traceId: lt.traceId,
        spanId: agentId(a.spanId),
        parentSpanId: parent,
        name: a.name,
        startTimeUnixNano: a.startTimeUnixNano,
        endTimeUnixNano: a.endTimeUnixNano,
        attributes: {
          ...lt.resource,
          ...a.attributes,
          [ATTR_SERVICE_NAME]: 'kata-agent',
          [ATTR_KATA_COMPONENT]: KATA_COMPONENT_VALUE_AGENT,
          [ATTR_KATA_SANDBOX_ID]: sandboxId,
          [ATTR_KATA_AGENT_SPAN_ORIGINAL_ID]: `${a.traceId}/${a.spanId}/${a.parentSpanId}`,
        },
        events: a.events,
        status: a.status.message ? a.status : { code: a.status.code },
      });
    }
    return spans.length;
  }

  drain(): StageOutput {
    const spans = this.pending;
    this.pending = [];
    if (!this.statePath) return { spans };
    const nowMs = Date.now();
    const due = this.touched && (this.closing || nowMs - this.lastSnapshotMs >= IDLE_CLOCK_WRITE_MS);
    if (!this.machine.changed && !due) return { spans };
    this.machine.changed = false;
    this.touched = false;
    this.lastSnapshotMs = nowMs;
    const text = serializeLifetimes(this.machine.lifetimes.values());
    const seq = ++this.taken;
    const path = this.statePath;
    return {
      spans,
      durable: () => {
        if (seq <= this.written) return;
        this.written = seq;
        try {
          writeStateFile(path, text);
        } catch (err) {
          this.opts.logger.warn('lifecycle state not saved: a restart rebuilds spans from the records read again', {
            path,
            err,
          });
        }
      },
    };
  }
}

/** The registry's factory (config.ts). */
export function createLifecycleStage(c: LifecycleInstanceConfig, env: StageEnv): { stage: LifecycleStage } {
  return {
    stage: new LifecycleStage({
      dataDir: c.dataDir,
      execs: c.execs,
      idleMs: c.idleMs,
      retainMs: c.retainMs,
      logger: env.logger,
      metrics: env.lifecycleMetrics,
    }),
  };
}
