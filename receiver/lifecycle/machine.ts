// The lifecycle state machine: one Lifetime per sandbox run (sandbox id + shim pid), fed records in order,
// turning anchors (./anchors.ts) into spans (docs/tracing.md has the tree) and telling which span a record
// belongs to. Every transition is idempotent (a start of a span that exists, an end of a span that ended, an
// event already recorded: no-ops), so records read again after a restart, or the second copy of a shim record
// that got past dedupe, change nothing. The stage persists the machine only once a batch's spans are durable
// (./stage.ts), so an ended span in the state file has been queued and a span not yet queued is rebuilt.
import type { KataLogRecord } from '../model/record.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_ERROR_TYPE,
  ATTR_KATA_AGENT_URL,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_EXEC_ID,
  ATTR_KATA_FIELD,
  ATTR_KATA_HYPERVISOR_NAME,
  ATTR_KATA_HYPERVISOR_PID,
  ATTR_KATA_RUNTIME,
  ATTR_KATA_SANDBOX_ID,
  ATTR_KATA_SHIM_PID,
  ATTR_KATA_SPAN_INCOMPLETE,
  ATTR_KATA_SPAN_SYNTHESIZED,
  ATTR_KATA_STOP_REASON,
  ATTR_KATA_SUBSYSTEM,
  ATTR_KATA_TRACE_EQUIVALENT,
  ATTR_PROCESS_EXIT_CODE,
  ATTR_PROCESS_PID,
  KATA_COMPONENT_VALUE_RUNTIME,
  KATA_HYPERVISOR_NAME_VALUE_CLOUD_HYPERVISOR,
  KATA_HYPERVISOR_NAME_VALUE_FIRECRACKER,
  KATA_HYPERVISOR_NAME_VALUE_QEMU,
  KATA_STOP_REASON_VALUE_NORMAL,
  KATA_STOP_REASON_VALUE_VM_DIED,
  SPAN_KATA_AGENT_CONNECT,
  SPAN_KATA_AGENT_DESTROY_SANDBOX,
  SPAN_KATA_CONTAINER,
  SPAN_KATA_CONTAINER_CREATE,
  SPAN_KATA_EXEC,
  SPAN_KATA_SANDBOX,
  SPAN_KATA_SANDBOX_CREATE,
  SPAN_KATA_SANDBOX_STOP,
  SPAN_KATA_VM_START,
  SPAN_KATA_VM_STOP,
  RESOURCE_ATTRIBUTE_KEYS,
} from '../semconv/generated.js';
import { anchorOf, runtimeOf, startsShim, type Anchor } from './anchors.js';
import { spanIdFor, traceIdFor } from './ids.js';
import type { KataSpan, LifecyclePhase } from './types.js';

/** A span while the machine holds it. */
export interface HeldSpan extends KataSpan {
  ended: boolean;
}

export interface Lifetime {
  sandboxId: string;
  shimPid: number;
  traceId: string;
  runtime: 'go' | 'rs';
  phase: LifecyclePhase;
  /** Newest record time seen (ns): the idle clock. */
  lastNs: bigint;
  /** Set once the root ended; the lifetime is kept a while so late records (containerd's `shim disconnected`)
   *  still get its trace. */
  ended: boolean;
  /** Debug lines seen: container spans then end at delete, not at exit. */
  debug: boolean;
  /** `loaded configuration` not yet claimed by a container's create (it precedes every Create, §1.5 item 2). */
  pendingConfigNs?: bigint;
  firstContainerStartedNs?: bigint;
  /** The Resource of the lifetime's spans: the resource attributes of the runtime record that opened it
   *  (service, host, sandbox, pod). */
  resource: KataLogRecord['attributes'];
  spans: Record<string, HeldSpan>;
}

export interface MachineOptions {
  /** Build exec spans from debug lines (one per liveness probe: off by default). */
  execs: boolean;
  /** An ended span (for derived metrics and delivery). */
  onEnd(span: KataSpan, lifetime: Lifetime): void;
  /** The sandbox's first app container started, `ns` after the sandbox's first record (derived metrics). */
  onStartup?(lifetime: Lifetime, ns: bigint, hypervisor: string): void;
}

const GO_HYPERVISOR: Record<string, string> = {
  qemu: KATA_HYPERVISOR_NAME_VALUE_QEMU,
  cloudHypervisor: KATA_HYPERVISOR_NAME_VALUE_CLOUD_HYPERVISOR,
  firecracker: KATA_HYPERVISOR_NAME_VALUE_FIRECRACKER,
};

/** Kata's own tracing names for the same steps (virtcontainers *TracingTags), research §3.1. */
const EQUIVALENT: Record<string, string> = {
  [SPAN_KATA_VM_START]: 'startVM',
  [SPAN_KATA_CONTAINER_CREATE]: 'createContainer',
  [SPAN_KATA_VM_STOP]: 'stopVM',
};

const AGENT_TIMEOUT = /timed out connecting|grpc server is working/i;

const key = (name: string, cid = '', eid = '') => `${name}|${cid}|${eid}`;
/** Keys of the sandbox-level spans, made once (looked up on every record). */
const ROOT = key(SPAN_KATA_SANDBOX);
const CREATE = key(SPAN_KATA_SANDBOX_CREATE);
/** A lifetime by the shim it belongs to (sandbox id and pid), without hashing the trace id. */
const shimKey = (sid: string, pid: number) => `${pid}/${sid}`;

/**
 * Ended lifetimes are kept (retain_ms) only so late records still get their trace; past this many lifetimes held,
 * the oldest ended ones are let go early. Without a bound, lines whose shim pid changes on every line (a hostile
 * journal writer, a synthetic log) open one lifetime each, and the state file written per batch grows with them:
 * 100k such lines took 2.1 GB and 230 s (bench/README.md, path (f)).
 */
const MAX_HELD = 512;

/** A failure's message: the line and its `error=` field. */
const failureText = (r: KataLogRecord, a: Anchor): string => (a.error ? `${r.body}: ${a.error}` : r.body);

/** Sandbox-level spans, innermost first: a record with no container of its own belongs to the first one open. */
const SANDBOX_LEVEL = [
  SPAN_KATA_VM_START,
  SPAN_KATA_AGENT_CONNECT,
  SPAN_KATA_AGENT_DESTROY_SANDBOX,
  SPAN_KATA_VM_STOP,
  SPAN_KATA_SANDBOX_CREATE,
  SPAN_KATA_SANDBOX_STOP,
].map((name) => key(name));

export class LifecycleMachine {
  /** Every lifetime held, by trace id. */
  readonly lifetimes = new Map<string, Lifetime>();
  /** The current lifetime of each sandbox id. */
  private readonly current = new Map<string, Lifetime>();
  /** Every lifetime held, by shimKey (a record's pid finds its lifetime without a hash). */
  private readonly byShim = new Map<string, Lifetime>();
  /** The phase of the lifetime of the record last applied (set by apply). */
  phase: LifecyclePhase = 'creating';
  /** Set when a lifetime opened, ended or was let go, or a lifecycle step changed one: what the state file holds
   *  beyond the idle clocks (lastNs). The stage clears it when it takes a snapshot. */
  changed = false;
  /** How long before it was read the latest record was written (ns, ≥ 0): ~0 live, days for an import. */
  lagNs = 0n;
  /** The newest record time applied (ns). */
  latestNs = 0n;

  constructor(private readonly opts: MachineOptions) {}

  /** Adds a lifetime read back from the state file. */
  restore(lt: Lifetime): void {
    this.lifetimes.set(lt.traceId, lt);
    this.byShim.set(shimKey(lt.sandboxId, lt.shimPid), lt);
    const cur = this.current.get(lt.sandboxId);
    if (!cur || cur.ended || (!lt.ended && lt.lastNs >= cur.lastNs)) this.current.set(lt.sandboxId, lt);
  }

  /** The sandbox's current lifetime. */
  lifetimeOf(sandboxId: string): Lifetime | undefined {
    const exact = this.current.get(sandboxId);
    if (exact || sandboxId.length < 32) return exact;
    // The Go runtime names Firecracker's run directory after the first 32 characters of the id.
    const found = [...this.current.values()].filter((lt) => lt.sandboxId.startsWith(sandboxId));
    return found.length === 1 ? found[0] : undefined;
  }

  phaseOf(sandboxId: string): LifecyclePhase | undefined {
    return this.current.get(sandboxId)?.phase;
  }

  /**
   * Applies one record; returns the span it belongs to (undefined when it belongs to none) and leaves its
   * lifetime's phase in `phase`. A record that joins a lifetime allocates nothing (the hot path: most records).
   */
  apply(r: KataLogRecord): HeldSpan | undefined {
    const sid = r.attributes[ATTR_KATA_SANDBOX_ID];
    if (typeof sid !== 'string' || sid === '') return undefined;
    const t = r.timeUnixNano > 0n ? r.timeUnixNano : r.observedTimeUnixNano;
    const lt = this.lifetimeFor(r, sid, t);
    if (!lt) return undefined;
    if (this.lifetimes.size > MAX_HELD) this.evictEnded();
    if (t > lt.lastNs) lt.lastNs = t;
    if (t > this.latestNs) this.latestNs = t;
    if (r.timeUnixNano > 0n) {
      const lag = r.observedTimeUnixNano - r.timeUnixNano;
      this.lagNs = lag > 0n ? lag : 0n;
    }
    if (!lt.debug && r.severityNumber >= 5 && r.severityNumber <= 8 && r.attributes[ATTR_KATA_COMPONENT] === 'runtime')
      lt.debug = this.changed = true;
    const root = lt.spans[ROOT] as HeldSpan;
    this.noteHypervisor(lt, root, r);
    const a = lt.ended ? undefined : anchorOf(r, sid);
    const touched = a ? this.transition(lt, a, t, r) : undefined;
    this.phase = lt.phase;
    return touched ?? this.innermost(lt, r);
  }

  /** Closes every lifetime idle since before `nowNs - idleNs`: open spans end at the last record, incomplete. */
  closeIdle(nowNs: bigint, idleNs: bigint, retainNs: bigint): boolean {
    let changed = false;
    for (const lt of [...this.lifetimes.values()]) {
      if (lt.lastNs + idleNs <= nowNs && !lt.ended) {
        for (const s of Object.values(lt.spans).reverse()) {
          if (s.ended) continue;
          s.attributes[ATTR_KATA_SPAN_INCOMPLETE] = true;
          this.end(lt, s, lt.lastNs);
        }
        lt.ended = true;
        changed = true;
      }
      if (lt.ended && lt.lastNs + retainNs <= nowNs) {
        this.forget(lt);
        changed = true;
      }
    }
    if (changed) this.changed = true;
    return changed;
  }

  /** Lets go of the oldest ended lifetimes (Map order: the order they opened) down to half the bound. */
  private evictEnded(): void {
    for (const lt of this.lifetimes.values()) {
      if (this.lifetimes.size <= MAX_HELD / 2) return;
      if (!lt.ended) continue;
      this.forget(lt);
      this.changed = true;
    }
  }

  private forget(lt: Lifetime): void {
    this.lifetimes.delete(lt.traceId);
    this.byShim.delete(shimKey(lt.sandboxId, lt.shimPid));
    if (this.current.get(lt.sandboxId) === lt) this.current.delete(lt.sandboxId);
  }

  // ---- lifetimes ------------------------------------------------------------------------------------------

  private lifetimeFor(r: KataLogRecord, sid: string, t: bigint): Lifetime | undefined {
    const cur = this.current.get(sid);
    // Only the runtime's own records start or replace a lifetime: its pid is the shim's (the agent's pid is the
    // guest's, containerd's is containerd's).
    const runtime = r.attributes[ATTR_KATA_COMPONENT] === KATA_COMPONENT_VALUE_RUNTIME ? runtimeOf(r) : undefined;
    const pid = r.attributes[ATTR_PROCESS_PID];
    if (!runtime || typeof pid !== 'number') return cur;
    if (cur && cur.shimPid === pid) return cur;
    const known = this.byShim.get(shimKey(sid, pid));
    if (known) return known; // a late record of an older lifetime
    // Another pid alone does not end a lifetime: the Go shim's `start` process forks the daemon, `delete` runs as
    // its own process (both log with the sandbox id), and any local journal writer can vary the pid. Only a shim
    // starting up (its first lines: Go `loaded configuration`, runtime-rs `start to run`) begins a new one.
    if (cur && !startsShim(r)) return cur;
    if (cur && !cur.ended) return cur.lastNs > t ? undefined : this.replace(cur, r, sid, pid, runtime, t);
    return this.open(r, sid, pid, runtime, t);
  }

  private replace(
    cur: Lifetime,
    r: KataLogRecord,
    sid: string,
    pid: number,
    runtime: 'go' | 'rs',
    t: bigint,
  ): Lifetime {
    // A new shim for the same sandbox id while the old one never logged its end: the old one is incomplete.
    for (const s of Object.values(cur.spans).reverse()) {
      if (s.ended) continue;
      s.attributes[ATTR_KATA_SPAN_INCOMPLETE] = true;
      this.end(cur, s, cur.lastNs);
    }
    cur.ended = true;
    return this.open(r, sid, pid, runtime, t);
  }

  private open(r: KataLogRecord, sid: string, pid: number, runtime: 'go' | 'rs', t: bigint): Lifetime {
    const traceId = traceIdFor(sid, pid);
    this.changed = true;
    const resource: Lifetime['resource'] = {};
    for (const k of RESOURCE_ATTRIBUTE_KEYS) {
      const v = r.attributes[k];
      if (v !== undefined) resource[k] = v;
    }
    const lt: Lifetime = {
      resource,
      sandboxId: sid,
      shimPid: pid,
      traceId,
      runtime,
      phase: 'creating',
      lastNs: t,
      ended: false,
      debug: false,
      spans: {},
    };
    this.lifetimes.set(traceId, lt);
    this.byShim.set(shimKey(sid, pid), lt);
    this.current.set(sid, lt);
    const root = this.start(lt, SPAN_KATA_SANDBOX, t, '');
    root.attributes[ATTR_KATA_SHIM_PID] = pid;
    root.attributes[ATTR_KATA_RUNTIME] = runtime;
    this.start(lt, SPAN_KATA_SANDBOX_CREATE, t, root.spanId);
    return lt;
  }

  private noteHypervisor(lt: Lifetime, root: HeldSpan, r: KataLogRecord): void {
    // An ended root: every span ended with it, none takes the name any more.
    if (root.ended || root.attributes[ATTR_KATA_HYPERVISOR_NAME] !== undefined) return;
    const sub = r.attributes[ATTR_KATA_SUBSYSTEM];
    const name = (typeof sub === 'string' && GO_HYPERVISOR[sub]) || undefined;
    const hv = r.attributes[ATTR_KATA_COMPONENT] === 'hypervisor' ? r.attributes[ATTR_KATA_HYPERVISOR_NAME] : undefined;
    const v = name ?? (typeof hv === 'string' ? hv : undefined);
    if (!v) return;
    for (const s of Object.values(lt.spans)) if (!s.ended) s.attributes[ATTR_KATA_HYPERVISOR_NAME] = v;
    this.changed = true;
  }

  // ---- spans ----------------------------------------------------------------------------------------------

  private start(lt: Lifetime, name: string, t: bigint, parent: string, cid = '', eid = ''): HeldSpan {
    const k = key(name, cid, eid);
    const have = lt.spans[k];
    if (have) return have;
    this.changed = true;
    const root = lt.spans[ROOT];
    const attributes: KataSpan['attributes'] = {
      ...lt.resource,
      [ATTR_KATA_SANDBOX_ID]: lt.sandboxId,
      [ATTR_KATA_COMPONENT]: KATA_COMPONENT_VALUE_RUNTIME,
      [ATTR_KATA_SPAN_SYNTHESIZED]: true,
      [ATTR_KATA_RUNTIME]: lt.runtime,
    };
    const hv = root?.attributes[ATTR_KATA_HYPERVISOR_NAME];
    if (hv !== undefined) attributes[ATTR_KATA_HYPERVISOR_NAME] = hv;
    if (cid) attributes[ATTR_CONTAINER_ID] = cid;
    if (eid) attributes[ATTR_KATA_EXEC_ID] = eid;
    const eq = EQUIVALENT[name];
    if (eq) attributes[ATTR_KATA_TRACE_EQUIVALENT] = eq;
    const s: HeldSpan = {
      traceId: lt.traceId,
      spanId: spanIdFor(lt.traceId, name, cid, eid),
      parentSpanId: parent,
      name,
      startTimeUnixNano: t,
      endTimeUnixNano: t,
      attributes,
      events: [],
      status: { code: 0 },
      ended: false,
    };
    lt.spans[k] = s;
    return s;
  }

  private end(lt: Lifetime, s: HeldSpan | undefined, t: bigint, error?: { type: string; message: string }): void {
    if (!s || s.ended) return;
    s.ended = this.changed = true;
    s.endTimeUnixNano = t < s.startTimeUnixNano ? s.startTimeUnixNano : t;
    if (error) this.fail(s, t, error);
    this.opts.onEnd(s, lt);
  }

  private fail(s: HeldSpan, t: bigint, error: { type: string; message: string }): void {
    s.status = { code: 2, message: error.message };
    s.attributes[ATTR_ERROR_TYPE] = error.type;
    this.changed = true;
    this.event(s, 'exception', t, { 'exception.message': error.message, [ATTR_ERROR_TYPE]: error.type });
  }

  private event(s: HeldSpan, name: string, t: bigint, attributes: KataSpan['attributes'] = {}): void {
    // One event per name and span (a step logged by two lines, or read twice, is one event).
    if (s.events.some((e) => e.name === name)) return;
    s.events.push({ name, timeUnixNano: t, attributes });
    this.changed = true;
  }

  /** Sets a span attribute; a change is a change of state (most anchors repeat what is already held). */
  private set(s: HeldSpan, k: string, v: string | number): void {
    if (s.attributes[k] === v) return;
    s.attributes[k] = v;
    this.changed = true;
  }

  private setPhase(lt: Lifetime, phase: LifecyclePhase): void {
    if (lt.phase === phase) return;
    lt.phase = phase;
    this.changed = true;
  }

  private get(lt: Lifetime, name: string, cid = '', eid = ''): HeldSpan | undefined {
    return lt.spans[key(name, cid, eid)];
  }

  private open_(lt: Lifetime, name: string, cid = '', eid = ''): HeldSpan | undefined {
    const s = lt.spans[key(name, cid, eid)];
    return s && !s.ended ? s : undefined;
  }

  /** The innermost open span a record without an anchor belongs to. */
  private innermost(lt: Lifetime, r: KataLogRecord): HeldSpan {
    const root = lt.spans[ROOT] as HeldSpan;
    if (lt.ended) return root;
    const cid = r.attributes[ATTR_CONTAINER_ID];
    if (typeof cid === 'string' && cid !== '' && cid !== lt.sandboxId) {
      const eid = r.attributes[ATTR_KATA_EXEC_ID];
      if (typeof eid === 'string' && eid) {
        const ex = this.open_(lt, SPAN_KATA_EXEC, cid, eid);
        if (ex) return ex;
      }
      const c = this.open_(lt, SPAN_KATA_CONTAINER_CREATE, cid) ?? this.open_(lt, SPAN_KATA_CONTAINER, cid);
      if (c) return c;
    }
    if (cid === lt.sandboxId) {
      const pause = this.open_(lt, SPAN_KATA_CONTAINER_CREATE, lt.sandboxId);
      if (pause) return pause;
    }
    for (const k of SANDBOX_LEVEL) {
      const s = lt.spans[k];
      if (s && !s.ended) return s;
    }
    return root;
  }

  /** Applies an anchor; returns the span the anchor record belongs to. */
  private transition(lt: Lifetime, a: Anchor, t: bigint, r: KataLogRecord): HeldSpan | undefined {
    const root = lt.spans[ROOT] as HeldSpan;
    const create = lt.spans[CREATE] as HeldSpan;
    const sid = lt.sandboxId;
    const cid = a.containerId === sid ? '' : a.containerId;
    switch (a.kind) {
      case 'config.loaded':
        // Before every Create (no container id): the next container's create starts here.
        if (lt.phase !== 'creating' && lt.pendingConfigNs !== t) {
          lt.pendingConfigNs = t;
          this.changed = true;
        }
        return undefined;
      case 'vm.start.begin':
        return this.start(lt, SPAN_KATA_VM_START, t, create.spanId);
      case 'vm.start.end': {
        const s = this.get(lt, SPAN_KATA_VM_START) ?? this.start(lt, SPAN_KATA_VM_START, t, create.spanId);
        this.end(lt, s, t);
        return s;
      }
      case 'hypervisor.pid':
        if (a.hypervisorPid) {
          this.set(root, ATTR_KATA_HYPERVISOR_PID, a.hypervisorPid);
          const vm = this.open_(lt, SPAN_KATA_VM_START);
          if (vm) this.set(vm, ATTR_KATA_HYPERVISOR_PID, a.hypervisorPid);
        }
        return undefined;
      case 'agent.connect.begin': {
        const s = this.start(lt, SPAN_KATA_AGENT_CONNECT, t, create.spanId);
        const url = r.attributes[ATTR_KATA_FIELD('url')];
        if (typeof url === 'string') this.set(s, ATTR_KATA_AGENT_URL, url);
        return s;
      }
      case 'agent.connect.end': {
        const s = this.get(lt, SPAN_KATA_AGENT_CONNECT) ?? this.start(lt, SPAN_KATA_AGENT_CONNECT, t, create.spanId);
        this.end(lt, s, t);
        return s;
      }
      case 'start.failed':
      case 'sandbox.create.failed': {
        const agentTimeout = AGENT_TIMEOUT.test(a.error ?? '');
        const type = agentTimeout
          ? 'agent_connect_timeout'
          : a.kind === 'start.failed'
            ? 'vm_start_failed'
            : 'sandbox_create_failed';
        const message = failureText(r, a);
        const at = agentTimeout
          ? this.open_(lt, SPAN_KATA_AGENT_CONNECT)
          : (this.open_(lt, SPAN_KATA_VM_START) ?? this.open_(lt, SPAN_KATA_AGENT_CONNECT));
        if (at) this.end(lt, at, t, { type, message });
        this.closeAll(lt, t, { type, message });
        return at ?? root;
      }
      case 'container.attach': {
        if (a.containerId === sid || (lt.phase === 'creating' && !a.containerId))
          return this.start(lt, SPAN_KATA_CONTAINER_CREATE, t, create.spanId, sid);
        if (!cid) return undefined;
        return this.containerCreate(lt, cid, lt.pendingConfigNs ?? t);
      }
      case 'container.create.begin':
        if (!cid) return undefined;
        return this.containerCreate(lt, cid, t);
      case 'sandbox.created':
        this.created(lt, t);
        return create;
      case 'sandbox.started':
        this.event(root, 'sandbox.started', t);
        return root;
      case 'container.create.end': {
        if (!cid) return create;
        const s = this.get(lt, SPAN_KATA_CONTAINER_CREATE, cid);
        this.end(lt, s, t);
        return s;
      }
      case 'container.started': {
        if (!cid) return undefined;
        const c = this.containerCreate(lt, cid, t);
        const ctr = this.get(lt, SPAN_KATA_CONTAINER, cid) as HeldSpan;
        this.end(lt, c, t);
        this.event(ctr, 'container.started', t);
        if (lt.firstContainerStartedNs === undefined) {
          lt.firstContainerStartedNs = t;
          this.event(root, 'first_container.started', t);
          const hv = root.attributes[ATTR_KATA_HYPERVISOR_NAME];
          this.opts.onStartup?.(lt, t - root.startTimeUnixNano, typeof hv === 'string' ? hv : '');
        }
        return ctr;
      }
      case 'container.create.failed':
      case 'container.start.failed': {
        if (!cid) return undefined;
        const type = a.kind === 'container.create.failed' ? 'container_create_failed' : 'container_start_failed';
        const message = failureText(r, a);
        const c = this.get(lt, SPAN_KATA_CONTAINER_CREATE, cid);
        if (c && !c.ended) this.end(lt, c, t, { type, message });
        const ctr = this.get(lt, SPAN_KATA_CONTAINER, cid);
        if (ctr && !ctr.ended) this.end(lt, ctr, t, { type, message });
        return c ?? ctr;
      }
      case 'container.exit': {
        if (!cid) {
          // The pause container exited: the sandbox is being stopped.
          this.stopBegin(lt, t, KATA_STOP_REASON_VALUE_NORMAL);
          return this.get(lt, SPAN_KATA_SANDBOX_STOP);
        }
        const ctr = this.get(lt, SPAN_KATA_CONTAINER, cid);
        if (!ctr) return undefined;
        if (a.exitCode !== undefined) {
          this.set(ctr, ATTR_PROCESS_EXIT_CODE, a.exitCode);
          this.event(ctr, 'container.exited', t, { [ATTR_PROCESS_EXIT_CODE]: a.exitCode });
        }
        // With info-only logs nothing marks the delete: the container span ends at its exit.
        if (!lt.debug && lt.runtime === 'go') this.end(lt, ctr, t);
        return ctr;
      }
      case 'container.delete.end': {
        if (!cid) return undefined;
        const ctr = this.get(lt, SPAN_KATA_CONTAINER, cid);
        this.end(lt, ctr, t);
        return ctr;
      }
      case 'exec.begin': {
        if (!this.opts.execs || !cid || !a.execId) return undefined;
        const ctr = this.get(lt, SPAN_KATA_CONTAINER, cid);
        if (!ctr || ctr.ended) return undefined;
        return this.start(lt, SPAN_KATA_EXEC, t, ctr.spanId, cid, a.execId);
      }
      case 'exec.end': {
        if (!this.opts.execs || !cid || !a.execId) return undefined;
        const s = this.get(lt, SPAN_KATA_EXEC, cid, a.execId);
        this.end(lt, s, t);
        return s;
      }
      case 'stop.begin':
        this.stopBegin(lt, t, KATA_STOP_REASON_VALUE_NORMAL);
        return this.get(lt, SPAN_KATA_SANDBOX_STOP);
      case 'stop.abnormal': {
        const stop = this.stopBegin(lt, t, KATA_STOP_REASON_VALUE_VM_DIED);
        this.set(stop, ATTR_KATA_STOP_REASON, KATA_STOP_REASON_VALUE_VM_DIED);
        const message = failureText(r, a);
        this.event(stop, 'sandbox.died', t, a.error ? { 'exception.message': a.error } : {});
        if (root.status.code !== 2) this.fail(root, t, { type: 'sandbox_stopped_unexpectedly', message });
        return stop;
      }
      case 'agent.destroy.begin': {
        const stop = this.stopBegin(lt, t, KATA_STOP_REASON_VALUE_NORMAL);
        return this.start(lt, SPAN_KATA_AGENT_DESTROY_SANDBOX, t, stop.spanId);
      }
      case 'vm.stop.begin': {
        const stop = this.stopBegin(lt, t, KATA_STOP_REASON_VALUE_NORMAL);
        this.end(lt, this.open_(lt, SPAN_KATA_AGENT_DESTROY_SANDBOX), t);
        return this.start(lt, SPAN_KATA_VM_STOP, t, stop.spanId);
      }
      case 'vm.stop.end': {
        const s = this.get(lt, SPAN_KATA_VM_STOP);
        this.end(lt, s, t);
        return s;
      }
      case 'vm.stop.failed': {
        const s = this.get(lt, SPAN_KATA_VM_STOP);
        if (s && !s.ended) this.end(lt, s, t, { type: 'vm_stop_failed', message: a.error ?? r.body });
        return s;
      }
      case 'stop.failed': {
        const stop = this.stopBegin(lt, t, KATA_STOP_REASON_VALUE_NORMAL);
        this.fail(stop, t, { type: 'sandbox_stop_failed', message: failureText(r, a) });
        return stop;
      }
      case 'sandbox.end':
      case 'shim.disconnected':
        this.closeAll(lt, t);
        return root;
      case 'hypervisor.exit': {
        const at = this.innermost(lt, r);
        this.event(at, 'hypervisor.exited', t, a.error ? { 'exception.message': a.error } : {});
        return at;
      }
    }
  }

  private containerCreate(lt: Lifetime, cid: string, t: bigint): HeldSpan {
    const root = lt.spans[ROOT] as HeldSpan;
    if (lt.pendingConfigNs !== undefined) {
      lt.pendingConfigNs = undefined;
      this.changed = true;
    }
    const ctr = this.start(lt, SPAN_KATA_CONTAINER, t, root.spanId, cid);
    if (ctr.ended) return ctr;
    return this.start(lt, SPAN_KATA_CONTAINER_CREATE, t, ctr.spanId, cid);
  }

  private created(lt: Lifetime, t: bigint): void {
    this.end(lt, this.open_(lt, SPAN_KATA_CONTAINER_CREATE, lt.sandboxId), t);
    this.end(lt, this.get(lt, SPAN_KATA_SANDBOX_CREATE), t);
    if (lt.phase === 'creating') this.setPhase(lt, 'running');
  }

  private stopBegin(lt: Lifetime, t: bigint, reason: string): HeldSpan {
    const root = lt.spans[ROOT] as HeldSpan;
    this.setPhase(lt, 'stopping');
    const have = this.get(lt, SPAN_KATA_SANDBOX_STOP);
    if (have) return have;
    const s = this.start(lt, SPAN_KATA_SANDBOX_STOP, t, root.spanId);
    s.attributes[ATTR_KATA_STOP_REASON] = reason;
    return s;
  }

  /** Ends every open span at `t`, children first, the root last; the lifetime is over. */
  private closeAll(lt: Lifetime, t: bigint, error?: { type: string; message: string }): void {
    const root = lt.spans[ROOT] as HeldSpan;
    for (const s of Object.values(lt.spans).reverse()) {
      if (s.ended || s === root) continue;
      // Only the create path fails with the sandbox; containers still running are just cut at teardown.
      const failed = error && (s.name === SPAN_KATA_SANDBOX_CREATE || s.name === SPAN_KATA_CONTAINER_CREATE);
      this.end(lt, s, t, failed ? error : undefined);
    }
    this.end(lt, root, t, error && root.status.code !== 2 ? error : undefined);
    this.setPhase(lt, 'stopped');
    lt.ended = this.changed = true;
  }
}
