// The rule engine: a pipeline Stage that evaluates every record against the loaded rules and appends alert
// records (OTel events `kata.alert`). Time is the records' own time (observed time when they carry none), so
// replaying old logs alerts as it would have live; `flush(now)` is the only place wall time enters (absence
// deadlines, ends of suppression windows), driven by a timer in the product and directly by tests.
import type { AttrValue, Attributes, KataLogRecord } from '../model/record.js';
import { nowUnixNano } from '../model/record.js';
import type { Stage } from '../pipeline/types.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_KATA_ALERT_RULE_ID,
  ATTR_KATA_ALERT_SEVERITY,
  ATTR_KATA_ALERT_SUPPRESSED_COUNT,
  ATTR_KATA_ALERT_TRIGGER_UIDS,
  ATTR_KATA_EXEC_ID,
  ATTR_KATA_HYPERVISOR_NAME,
  ATTR_LOG_RECORD_UID,
  ATTR_SECURITY_RULE_CATEGORY,
  ATTR_SECURITY_RULE_DESCRIPTION,
  ATTR_SECURITY_RULE_NAME,
  ATTR_SECURITY_RULE_REFERENCE,
  ATTR_SECURITY_RULE_RULESET_NAME,
  EVENT_KATA_ALERT,
  RESOURCE_ATTRIBUTE_KEYS,
} from '../semconv/generated.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import { fieldValue } from './condition.js';
import { RulePrefilter } from './prefilter.js';
import { renderTemplate, type TemplateContext } from './template.js';
import { recordTrustRank, trustRank } from './trust.js';
import {
  SEVERITY_NUMBER,
  formatDuration,
  type AbsenceRule,
  type Rule,
  type RuleSet,
  type SequenceRule,
  type ThresholdRule,
} from './types.js';

/** Attributes copied from the triggering record, so the alert lands in that sandbox's resource and names its container. */
const COPIED_ATTRIBUTES = [...RESOURCE_ATTRIBUTE_KEYS, ATTR_CONTAINER_ID, ATTR_KATA_EXEC_ID, ATTR_KATA_HYPERVISOR_NAME];

export interface RuleEngineOptions {
  rules: RuleSet | Rule[];
  /** Observed time of the alerts produced (default: the wall clock). */
  clock?: () => bigint;
  logger?: Logger;
  metrics?: Metrics;
  /** Called for every alert (e.g. an Alertmanager notifier); must not block. */
  onAlert?: (alert: KataLogRecord) => void;
  /** Bound on the keys (sandboxes, hosts…) a rule keeps state for; the oldest key is forgotten beyond it. */
  maxKeysPerRule?: number;
  /** Bound on `kata.alert.trigger.uids` per alert. */
  maxTriggerUids?: number;
  /** Skip rules that cannot act on a record (prefilter.ts). Default true; false evaluates every rule on every
   *  record (tests compare the two). */
  prefilter?: boolean;
}

interface Suppression {
  until: bigint;
  suppressed: number;
  last?: KataLogRecord;
  lastTime: bigint;
  uids: string[];
}
interface Armed {
  lastSeen: bigint;
  alerted: boolean;
  /** The watched activity (`condition`) was seen for this key: only then can its absence be news. */
  active: boolean;
  record: KataLogRecord;
  uids: string[];
}
interface Stepped {
  start: bigint;
  at: bigint;
  uids: string[];
}
interface RuleState {
  dedup: Map<string, Suppression>;
  threshold: Map<string, { t: bigint; uid?: string }[]>;
  absence: Map<string, Armed>;
  sequence: Map<string, (Stepped | undefined)[]>;
}

/** Ends each group_by value in a state key. */
const SEP = '\u001f';

const recordTime = (r: KataLogRecord): bigint => (r.timeUnixNano > 0n ? r.timeUnixNano : r.observedTimeUnixNano);
const uidOf = (r: KataLogRecord): string | undefined => {
  const v = r.attributes[ATTR_LOG_RECORD_UID];
  return typeof v === 'string' && v !== '' ? v : undefined;
};

export class RuleEngine implements Stage {
  readonly name = 'rules';
  readonly rules: Rule[];
  private readonly state = new Map<Rule, RuleState>();
  private readonly clock: () => bigint;
  private readonly maxKeys: number;
  private readonly maxUids: number;
  private readonly failedRules = new Set<string>();
  private readonly prefilter: RulePrefilter;
  private readonly trustRanks: number[];
  private readonly absenceRules: AbsenceRule[];
  /** Per rule with one group_by field: the last value seen and its state key (keyOf). */
  private readonly lastKey = new Map<Rule, [string, string]>();
  /** Newest record time processed: the records' own clock, for telling a jump from time that passed. */
  private watermark = 0n;

  constructor(private readonly opts: RuleEngineOptions) {
    this.rules = (Array.isArray(opts.rules) ? opts.rules : opts.rules.rules).filter((r) => r.enabled);
    this.clock = opts.clock ?? nowUnixNano;
    this.maxKeys = opts.maxKeysPerRule ?? 10_000;
    this.maxUids = opts.maxTriggerUids ?? 20;
    for (const r of this.rules)
      this.state.set(r, { dedup: new Map(), threshold: new Map(), absence: new Map(), sequence: new Map() });
    this.prefilter = new RulePrefilter(opts.prefilter === false ? [] : this.rules);
    this.trustRanks = this.rules.map((r) => trustRank(r.trust));
    this.absenceRules = this.rules.filter((r): r is AbsenceRule => r.kind === 'absence');
  }

  /**
   * Record time jumped: the next record is newer than every record before it by more than an absence rule's
   * timeout (a replay of files from different days, a paste of lines from several reports, a node whose logs
   * stopped). Nothing was observed in the gap, so it is no evidence of silence: armed deadlines move forward by
   * the gap instead of firing. Live, the receiver's timer calls flush(wall clock) within the timeout, so a silent
   * sandbox alerts before any later record could move its deadline.
   */
  private advance(t: bigint): void {
    if (t <= this.watermark) return;
    const gap = this.watermark === 0n ? 0n : t - this.watermark;
    this.watermark = t;
    if (gap === 0n) return;
    for (const rule of this.absenceRules) {
      if (gap <= rule.timeoutNs) continue;
      for (const armed of (this.state.get(rule) as RuleState).absence.values())
        if (!armed.alerted) armed.lastSeen += gap;
    }
  }

  process(records: KataLogRecord[]): KataLogRecord[] {
    const alerts: KataLogRecord[] = [];
    const rules = this.rules;
    const pre = this.prefilter;
    for (const r of records) {
      if (r.eventName === EVENT_KATA_ALERT) continue; // never alert on our own alerts
      if (this.absenceRules.length > 0) this.advance(recordTime(r));
      pre.begin(r);
      const trust = recordTrustRank(r);
      if (pre.size === rules.length) {
        // Only the rules the prefilter lets through (prefilter.ts), in order: its set bits.
        const bits = pre.bits;
        for (let w = 0; w < bits.length; w++) {
          let x = bits[w] as number;
          while (x !== 0) {
            const low = x & -x;
            x ^= low;
            this.tryRule((w << 5) + 31 - Math.clz32(low), trust, r, alerts);
          }
        }
      } else for (let i = 0; i < rules.length; i++) if (pre.may(i)) this.tryRule(i, trust, r, alerts);
    }
    if (alerts.length === 0) return records;
    this.publish(alerts);
    return records.concat(alerts);
  }

  /** Evaluate rule `i` on `r` unless it does not believe the record's writer (trust.ts); never throws. */
  private tryRule(i: number, trust: number, r: KataLogRecord, alerts: KataLogRecord[]): void {
    if (trust > (this.trustRanks[i] as number)) return;
    const rule = this.rules[i] as Rule;
    try {
      this.evaluate(rule, r, alerts);
    } catch (e) {
      // A rule must not stop the pipeline; report each broken rule once.
      if (!this.failedRules.has(rule.id)) {
        this.failedRules.add(rule.id);
        this.opts.logger?.error('alert rule failed on a record; the record passes on unchanged', {
          rule: rule.id,
          error: e,
        });
      }
    }
  }

  /** Absence deadlines and ends of suppression windows up to `nowUnixNano`; prunes expired state. */
  flush(nowUnixNano: bigint): KataLogRecord[] {
    const alerts: KataLogRecord[] = [];
    for (const rule of this.rules) {
      const st = this.state.get(rule) as RuleState;
      if (rule.kind === 'absence') this.checkAbsence(rule, st, nowUnixNano, alerts);
      for (const [key, s] of st.dedup) {
        if (s.until > nowUnixNano) continue;
        st.dedup.delete(key);
        if (s.suppressed > 0 && s.last) {
          alerts.push(this.makeAlert(rule, s.last, s.lastTime, s.uids, s.suppressed, this.contextFor(rule)));
        }
      }
      if (rule.kind === 'threshold') {
        for (const [key, entries] of st.threshold) {
          const keep = entries.filter((e) => e.t > nowUnixNano - rule.windowNs);
          if (keep.length === 0) st.threshold.delete(key);
          else st.threshold.set(key, keep);
        }
      }
      if (rule.kind === 'sequence') {
        for (const [key, stages] of st.sequence) {
          if (stages.every((s) => s === undefined || s.start < nowUnixNano - rule.windowNs)) st.sequence.delete(key);
        }
      }
    }
    this.publish(alerts);
    return alerts;
  }

  /**
   * End every open suppression window now and emit the counts they hold (end of a replay, shutdown), without
   * evaluating absence deadlines, which need a real `now`.
   */
  /** Stage shutdown hook: the suppressed counts of windows still open. */
  close(): KataLogRecord[] {
    return this.closeWindows();
  }

  closeWindows(): KataLogRecord[] {
    const alerts: KataLogRecord[] = [];
    for (const rule of this.rules) {
      const st = this.state.get(rule) as RuleState;
      for (const s of st.dedup.values()) {
        if (s.suppressed > 0 && s.last)
          alerts.push(this.makeAlert(rule, s.last, s.lastTime, s.uids, s.suppressed, this.contextFor(rule)));
      }
      st.dedup.clear();
    }
    this.publish(alerts);
    return alerts;
  }

  private publish(alerts: KataLogRecord[]): void {
    for (const a of alerts) {
      this.opts.metrics?.alerts.inc({ rule: String(a.attributes[ATTR_KATA_ALERT_RULE_ID]) });
      if (!this.opts.onAlert) continue;
      try {
        this.opts.onAlert(a);
      } catch (e) {
        this.opts.logger?.warn('alert hook failed', { error: e });
      }
    }
  }

  /**
   * The state key of a record: its group_by values. Absence and sequence rules follow one entity (a sandbox)
   * over time, so a record that lacks a group_by attribute cannot take part (undefined).
   */
  private keyOf(rule: Rule, r: KataLogRecord): string | undefined {
    const fields = rule.groupBy;
    // One group_by field (the usual case): its text is the key, with the separator the multi-field form uses, so
    // the keys are the same as before; a constant string for a missing value rather than a fresh one per record.
    if (fields.length === 1) {
      const v = fieldValue(r, fields[0] as string);
      if (v === undefined || v === '') return rule.kind === 'absence' || rule.kind === 'sequence' ? undefined : SEP;
      if (typeof v === 'string') {
        // Consecutive records mostly share the value (one host, runs of one sandbox): the key built for the last
        // one is reused, whose hash the state maps have already computed, instead of a fresh string per record.
        const last = this.lastKey.get(rule);
        if (last !== undefined && last[0] === v) return last[1];
        const key = v + SEP;
        if (v.length <= 256) this.lastKey.set(rule, [v, key]);
        return key;
      }
      return (Array.isArray(v) ? v.join(',') : String(v)) + SEP;
    }
    let key = '';
    for (const f of fields) {
      const v = fieldValue(r, f);
      if ((v === undefined || v === '') && (rule.kind === 'absence' || rule.kind === 'sequence')) return undefined;
      key += (v === undefined ? '' : Array.isArray(v) ? v.join(',') : String(v)) + SEP;
    }
    return key;
  }

  private remember<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key); // re-insert: Map order then tracks recency
    map.set(key, value);
    if (map.size > this.maxKeys) map.delete(map.keys().next().value as string);
  }

  private evaluate(rule: Rule, r: KataLogRecord, out: KataLogRecord[]): void {
    switch (rule.kind) {
      case 'match':
        if (rule.condition.test(r)) this.fire(rule, this.keyOf(rule, r) as string, r, recordTime(r), uidList(r), out);
        return;
      case 'threshold':
        if (rule.condition.test(r)) this.threshold(rule, r, out);
        return;
      case 'absence':
        this.absence(rule, r);
        return;
      case 'sequence':
        this.sequence(rule, r, out);
        return;
    }
  }

  /** Raise an alert unless the key is inside its suppression window, where the match is only counted. */
  private fire(
    rule: Rule,
    key: string,
    trigger: KataLogRecord,
    t: bigint,
    uids: string[],
    out: KataLogRecord[],
    ctx?: TemplateContext,
  ): boolean {
    const st = this.state.get(rule) as RuleState;
    const s = st.dedup.get(key);
    if (s && t < s.until) {
      this.suppress(s, trigger, t, uids);
      return false;
    }
    // A window that ended without a flush hands its count to this alert ("emitted on the next alert").
    const carried = s ? s.suppressed : 0;
    const carriedUids = s ? s.uids : [];
    st.dedup.delete(key);
    out.push(
      this.makeAlert(
        rule,
        trigger,
        t,
        [...carriedUids, ...uids].slice(-this.maxUids),
        carried,
        ctx ?? this.contextFor(rule),
      ),
    );
    if (rule.dedupWindowNs > 0n)
      this.remember(st.dedup, key, { until: t + rule.dedupWindowNs, suppressed: 0, lastTime: t, uids: [] });
    return true;
  }

  /** A match inside the suppression window is only counted. Hot (a busy rule matches most records of a noisy
   *  node within its window), so the uid list is kept in place: it belongs to this window alone (alerts copy it). */
  private suppress(s: Suppression, trigger: KataLogRecord, t: bigint, uids: readonly string[]): void {
    s.suppressed++;
    s.last = trigger;
    if (t > s.lastTime) s.lastTime = t;
    if (uids.length === 0) return;
    for (const u of uids) s.uids.push(u);
    if (this.maxUids > 0 && s.uids.length > this.maxUids) s.uids.splice(0, s.uids.length - this.maxUids);
  }

  private contextFor(rule: Rule, count?: number): TemplateContext {
    const window =
      rule.kind === 'threshold' || rule.kind === 'sequence'
        ? rule.windowNs
        : rule.kind === 'absence'
          ? rule.timeoutNs
          : undefined;
    return {
      rule: rule.id,
      count: count !== undefined ? String(count) : rule.kind === 'threshold' ? String(rule.count) : undefined,
      window: window !== undefined ? formatDuration(window) : undefined,
    };
  }

  private threshold(rule: ThresholdRule, r: KataLogRecord, out: KataLogRecord[]): void {
    const st = this.state.get(rule) as RuleState;
    const key = this.keyOf(rule, r) as string;
    const t = recordTime(r);
    const s = st.dedup.get(key);
    if (s && t < s.until) {
      const uid = uidOf(r);
      this.suppress(s, r, t, uid === undefined ? NO_UIDS : [uid]);
      return;
    }
    const entries = st.threshold.get(key) ?? [];
    // Keep entries sorted by time: records from several sources can arrive slightly out of order.
    let at = entries.length;
    while (at > 0 && (entries[at - 1] as { t: bigint }).t > t) at--;
    entries.splice(at, 0, { t, uid: uidOf(r) });
    const newest = (entries[entries.length - 1] as { t: bigint }).t;
    while (entries.length > 0 && (entries[0] as { t: bigint }).t < newest - rule.windowNs) entries.shift();
    if (entries.length > rule.count * 4 + 64) entries.splice(0, entries.length - (rule.count * 4 + 64)); // bound memory
    // Largest number of entries in any window of length W that contains t. In order (t is the newest, the usual
    // case) that is every entry kept: the trim above left only those within W of it. Otherwise a scan (it was run
    // for every match, a bigint loop over up to count × 4 entries per record while a key stays under the count).
    let best = 0;
    let bestFrom = 0;
    let j = 0;
    const from = t - rule.windowNs;
    if (t === newest) best = entries.length;
    else
      for (let i = 0; i < entries.length; i++) {
        const ti = (entries[i] as { t: bigint }).t;
        if (ti < from) continue;
        if (ti > t) break;
        if (j < i) j = i;
        while (j < entries.length && (entries[j] as { t: bigint }).t <= ti + rule.windowNs) j++;
        if (j - i > best) {
          best = j - i;
          bestFrom = i;
        }
      }
    if (best >= rule.count) {
      const window = entries.slice(bestFrom, bestFrom + best);
      const uids = window.map((e) => e.uid).filter((u): u is string => u !== undefined);
      st.threshold.delete(key);
      this.fire(rule, key, r, t, uids, out, this.contextFor(rule, best));
    } else {
      this.remember(st.threshold, key, entries);
    }
  }

  private absence(rule: AbsenceRule, r: KataLogRecord): void {
    const key = this.keyOf(rule, r);
    if (key === undefined) return;
    const st = this.state.get(rule) as RuleState;
    // A record older than the newest one seen (a file from an earlier day read after a later one, merged sources)
    // is activity as of its arrival: counting from its own time would put its deadline in the past at once.
    const own = recordTime(r);
    const t = own > this.watermark ? own : this.watermark;
    if (rule.stop.test(r)) {
      st.absence.delete(key);
      return;
    }
    const armed = st.absence.get(key);
    if (rule.start.test(r)) {
      if (!armed || t >= armed.lastSeen) {
        const active = armed?.active === true || rule.condition.test(r);
        this.remember(st.absence, key, { lastSeen: t, alerted: false, active, record: r, uids: uidList(r) });
      }
      return;
    }
    if (armed && rule.condition.test(r) && t >= armed.lastSeen) {
      armed.lastSeen = t;
      armed.alerted = false;
      armed.active = true;
      armed.uids = uidList(r);
    }
  }

  private checkAbsence(rule: AbsenceRule, st: RuleState, now: bigint, out: KataLogRecord[]): void {
    for (const [key, armed] of st.absence) {
      if (armed.alerted || !armed.active || now - armed.lastSeen < rule.timeoutNs) continue;
      armed.alerted = true;
      this.fire(rule, key, armed.record, armed.lastSeen + rule.timeoutNs, armed.uids, out);
    }
  }

  private sequence(rule: SequenceRule, r: KataLogRecord, out: KataLogRecord[]): void {
    const n = rule.steps.length;
    let matched: boolean[] | undefined;
    for (let i = 0; i < n; i++) {
      if ((rule.steps[i] as { test: (r: KataLogRecord) => boolean }).test(r))
        (matched ??= new Array<boolean>(n).fill(false))[i] = true;
    }
    if (!matched) return;
    const key = this.keyOf(rule, r);
    if (key === undefined) return;
    const st = this.state.get(rule) as RuleState;
    const t = recordTime(r);
    const stages = st.sequence.get(key) ?? new Array<Stepped | undefined>(n - 1).fill(undefined);
    // Last step first, so one record never serves as two consecutive steps.
    for (let j = n - 1; j >= 0; j--) {
      if (!matched[j]) continue;
      if (j === 0) {
        const cur = stages[0];
        if (!cur || cur.start <= t) stages[0] = { start: t, at: t, uids: uidList(r) };
        continue;
      }
      const prev = stages[j - 1];
      if (!prev || t < prev.at || t - prev.start > rule.windowNs) continue;
      const uids = [...prev.uids, ...uidList(r)];
      if (j === n - 1) {
        st.sequence.delete(key);
        this.fire(rule, key, r, t, uids, out);
        return;
      }
      const cur = stages[j];
      if (!cur || cur.start <= prev.start) stages[j] = { start: prev.start, at: t, uids };
    }
    this.remember(st.sequence, key, stages);
  }

  private makeAlert(
    rule: Rule,
    trigger: KataLogRecord,
    t: bigint,
    uids: string[],
    suppressed: number,
    ctx: TemplateContext,
  ): KataLogRecord {
    const attributes: Attributes = {};
    for (const k of COPIED_ATTRIBUTES) {
      const v: AttrValue | undefined = trigger.attributes[k];
      if (v !== undefined) attributes[k] = v;
    }
    attributes[ATTR_KATA_ALERT_RULE_ID] = rule.id;
    attributes[ATTR_KATA_ALERT_SEVERITY] = rule.severity;
    attributes[ATTR_SECURITY_RULE_NAME] = rule.name;
    attributes[ATTR_SECURITY_RULE_DESCRIPTION] = rule.desc;
    if (rule.category) attributes[ATTR_SECURITY_RULE_CATEGORY] = rule.category;
    if (rule.references[0]) attributes[ATTR_SECURITY_RULE_REFERENCE] = rule.references[0];
    attributes[ATTR_SECURITY_RULE_RULESET_NAME] = rule.ruleset;
    if (suppressed > 0) attributes[ATTR_KATA_ALERT_SUPPRESSED_COUNT] = suppressed;
    if (uids.length > 0) attributes[ATTR_KATA_ALERT_TRIGGER_UIDS] = [...new Set(uids)];
    const body = renderTemplate(rule.output, trigger, ctx);
    const alert: KataLogRecord = {
      timeUnixNano: t,
      observedTimeUnixNano: this.clock(),
      severityNumber: SEVERITY_NUMBER[rule.severity],
      severityText: rule.severity,
      body: suppressed > 0 ? `${body} (+${suppressed} similar suppressed)` : body,
      attributes,
      eventName: EVENT_KATA_ALERT,
    };
    if (trigger.traceId) alert.traceId = trigger.traceId;
    if (trigger.spanId) alert.spanId = trigger.spanId;
    return alert;
  }
}

const NO_UIDS: readonly string[] = [];

function uidList(r: KataLogRecord): string[] {
  const u = uidOf(r);
  return u ? [u] : [];
}
