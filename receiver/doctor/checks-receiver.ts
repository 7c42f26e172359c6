// Checks of kata-otel's own configuration against a profile: durability, retention, transport security,
// self-telemetry exposure, and sources that would hide what the rules need.
import type { ReceiverConfig } from '../config/index.js';
import { resolveOtlpSettings } from '../exporters/otlp-config.js';
import { isLoopback, urlHostPort } from './net.js';
import type { ProfilePolicy } from './profiles/policy.js';
import { RULES_NEEDING_INFO } from './rule-levels.js';
import type { Finding } from './types.js';

const PRIORITY_ORDER = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];
const days = (ms: number) => `${Math.round((ms / 86_400_000) * 10) / 10} days`;

export function checkReceiver(
  c: ReceiverConfig,
  policy: ProfilePolicy,
  env: NodeJS.ProcessEnv = process.env,
): Finding[] {
  const out: Finding[] = [];
  const file = c.source ?? undefined;
  const want = policy.receiverConfig;
  const sev = policy.receiver;
  const profileFile = `exporter-config/kata/${policy.name}/kata-otel.yaml`;
  const add = (id: string, key: string, message: string, fix: string, severity = sev) =>
    out.push({ id, severity, file, key, message, fix });

  if (c.queue.kind !== 'disk')
    add(
      'receiver-queue-not-durable',
      'queue.kind',
      'queue.kind = memory: records waiting for a backend are lost when kata-otel restarts or crashes',
      'set queue.kind: disk',
    );
  else if (c.queue.fsync === 'never' && want.queue.fsync !== 'never')
    add(
      'receiver-queue-not-durable',
      'queue.fsync',
      'queue.fsync = never: queued records can be lost in a power cut',
      `set queue.fsync: ${want.queue.fsync}`,
      'info',
    );
  if (c.queue.maxBytes < want.queue.maxBytes)
    add(
      'receiver-retention',
      'queue.max_bytes',
      `the queue holds ${c.queue.maxBytes} bytes, less than the ${policy.name} profile's ${want.queue.maxBytes}: a shorter backend outage fills it`,
      `raise queue.max_bytes (${profileFile})`,
    );
  const wantStore = want.exporters.find((e) => e.type === 'store');
  if (wantStore?.type === 'store') {
    const stores = c.exporters.filter((e) => e.type === 'store');
    const best = Math.max(0, ...stores.map((e) => (e.type === 'store' ? e.maxAgeMs : 0)));
    if (best < wantStore.maxAgeMs)
      add(
        'receiver-retention',
        'exporters[].max_age_ms',
        stores.length
          ? `the local store keeps records for ${days(best)}, less than the ${policy.name} profile's ${days(wantStore.maxAgeMs)}`
          : `no local store: the ${policy.name} profile keeps ${days(wantStore.maxAgeMs)} of records on the node`,
        `add a store exporter with max_age_ms: ${wantStore.maxAgeMs} (${profileFile})`,
      );
  }
  c.exporters.forEach((e, i) => {
    if (e.type !== 'otlp') return;
    let s;
    try {
      s = resolveOtlpSettings(e, env);
    } catch {
      return; // loadConfig already reported it
    }
    const hp = urlHostPort(s.endpoint) ?? { host: s.grpcTarget.replace(/:\d+$/, ''), port: 0 };
    if (!s.secure && !isLoopback(hp.host))
      add(
        'receiver-plaintext-export',
        `exporters[${i}].endpoint`,
        `exporter "${e.name}" sends records to ${s.endpoint} without TLS: Kata records (sandbox ids, commands, policy text) cross the network in clear`,
        'use an https:// endpoint (or gRPC without tls.insecure), or a node-local Collector on the loopback',
      );
  });
  const listen = c.telemetry.listen;
  if (listen) {
    const host = listen.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    if (!isLoopback(host))
      add(
        'receiver-metrics-exposed',
        'telemetry.listen',
        `/metrics listens on ${listen}: anyone who reaches the node reads its Kata activity (sandboxes, alerts, errors) without authentication`,
        'set telemetry.listen: 127.0.0.1:8888 and scrape through a node-local agent',
      );
  }
  const j = c.sources.journald;
  if (j.enabled && PRIORITY_ORDER.indexOf(j.priority) < PRIORITY_ORDER.indexOf('info'))
    add(
      'receiver-level-hides-events',
      'sources.journald.priority',
      `sources.journald.priority = ${j.priority} skips the info records built-in rules match (${[...new Set(Object.values(RULES_NEEDING_INFO).flat())].join(', ')})`,
      'set sources.journald.priority: debug (or info)',
      'warning',
    );
  if (!j.enabled && want.sources.journald.enabled)
    add(
      'receiver-source-missing',
      'sources.journald.enabled',
      'the journal is not read: that is where both Kata runtimes log',
      'set sources.journald.enabled: true',
    );
  if (!policy.debug && (!c.pipeline.rules.enabled || !c.pipeline.rules.builtin))
    add(
      'receiver-rules-off',
      'pipeline.rules',
      'the built-in Kata security rules are off: no alerts for the debug console, policy bypass or VM crashes',
      'set pipeline.rules.enabled: true and pipeline.rules.builtin: true',
    );
  return out;
}
