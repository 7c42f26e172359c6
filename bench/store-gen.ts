// Realistic Kata records for query/review tests and the query benchmark: sandboxes that start, run and stop,
// with the lifecycle messages of kata-lifecycle research (runtime `Starting VM` → `VM started` → `New client`
// → `Agent started in the sandbox` → `Sandbox is started`), hypervisor and guest lines, agent chatter, warnings,
// errors, alerts (event kata.alert with a rule id), unparsed lines, pods, containers, trace and span ids.
// Deterministic (seeded), so a failing property test reproduces.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KataLogRecord } from '../receiver/model/record.js';
import { encodeLogsJson } from '../receiver/otlp/index.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_POD_NAME,
  ATTR_KATA_ALERT_RULE_ID,
  ATTR_KATA_ALERT_SEVERITY,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_EXEC_ID,
  ATTR_KATA_HYPERVISOR_NAME,
  ATTR_KATA_LOG_PARSE_ERROR,
  ATTR_KATA_SANDBOX_ID,
  ATTR_KATA_SUBSYSTEM,
  ATTR_LOG_RECORD_UID,
  ATTR_SERVICE_NAME,
  EVENT_KATA_ALERT,
} from '../receiver/semconv/generated.js';

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}

const hex = (r: () => number, n: number) => {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
  return s;
};

export interface GenOptions {
  sandboxes: number;
  /** Records per sandbox on average (lifecycle lines included). */
  perSandbox: number;
  /** Time of the first sandbox start, ms. */
  startMs: number;
  /** Spread of sandbox starts, ms. */
  spanMs: number;
  seed?: number;
  /** Sandboxes with a failed start (error, no `Agent started`), every Nth. Default 7. */
  failEvery?: number;
}

export interface GenSandbox {
  id: string;
  pod: { namespace: string; name: string };
  container: string;
  hypervisor: string;
  traceId: string;
  startMs: number;
  failed: boolean;
}

const HYPERVISORS = ['qemu', 'cloud-hypervisor', 'firecracker'];
const NAMESPACES = ['default', 'payments', 'kube-system'];
const RULES = ['kata-debug-console-enabled', 'kata-agent-policy-denied', 'kata-guest-panic'];

/** The sandboxes a generation run will produce (for test oracles). */
export function planSandboxes(o: GenOptions): GenSandbox[] {
  const r = rng(o.seed ?? 1);
  return Array.from({ length: o.sandboxes }, (_, i) => ({
    id: hex(r, 64),
    pod: { namespace: NAMESPACES[i % NAMESPACES.length]!, name: `web-${i}-${hex(r, 5)}` },
    container: hex(r, 64),
    hypervisor: HYPERVISORS[i % HYPERVISORS.length]!,
    traceId: hex(r, 32),
    startMs: o.startMs + Math.floor((o.spanMs * i) / Math.max(1, o.sandboxes)),
    failed: i % (o.failEvery ?? 7) === 3,
  }));
}

type Step = [ms: number, comp: string, subsystem: string, sev: number, body: string, extra?: Partial<KataLogRecord>];

/** Records of every sandbox, interleaved in time order (as a node writes them). */
export function* generateRecords(o: GenOptions): Generator<KataLogRecord> {
  const r = rng((o.seed ?? 1) + 7);
  const sbs = planSandboxes(o);
  let uid = 0;
  const steps: { t: number; sb: GenSandbox; s: Step }[] = [];
  const flushUpTo = function* (t: number) {
    steps.sort((a, b) => a.t - b.t);
    while (steps.length && steps[0]!.t <= t) {
      const { sb, s } = steps.shift()!;
      yield make(sb, s);
    }
  };
  const make = (sb: GenSandbox, [ms, comp, sub, sev, body, extra]: Step): KataLogRecord => {
    const ns = BigInt(Math.round(ms)) * 1_000_000n + BigInt(Math.floor(r() * 1_000_000));
    const rec: KataLogRecord = {
      timeUnixNano: ns,
      observedTimeUnixNano: ns + 2_000_000n,
      severityNumber: sev,
      severityText: ['', 'trace', '', '', '', 'debug', '', '', '', 'info', '', '', '', 'warning'][sev] ?? 'error',
      body,
      attributes: {
        [ATTR_SERVICE_NAME]: comp === 'agent' ? 'kata-agent' : comp === 'runtime' ? 'kata-runtime' : comp,
        [ATTR_KATA_SANDBOX_ID]: sb.id,
        [ATTR_KATA_COMPONENT]: comp,
        [ATTR_K8S_NAMESPACE_NAME]: sb.pod.namespace,
        [ATTR_K8S_POD_NAME]: sb.pod.name,
        [ATTR_LOG_RECORD_UID]: `u${uid++}`,
      },
      traceId: sb.traceId,
      spanId: hex(r, 16),
    };
    if (extra?.eventName) rec.eventName = extra.eventName;
    if (sub) rec.attributes[ATTR_KATA_SUBSYSTEM] = sub;
    if (comp === 'hypervisor' || sub === 'sandbox') rec.attributes[ATTR_KATA_HYPERVISOR_NAME] = sb.hypervisor;
    if (extra?.attributes) rec.attributes = { ...rec.attributes, ...extra.attributes };
    return rec;
  };
  for (const sb of sbs) {
    yield* flushUpTo(sb.startMs);
    let t = sb.startMs;
    const at = (d: number) => (t += d);
    const boot =
      2 * Math.floor(150 + r() * (sb.hypervisor === 'firecracker' ? 200 : sb.hypervisor === 'qemu' ? 1500 : 700));
    const life: Step[] = [
      [at(0), 'runtime', 'katautils', 9, 'loaded configuration'],
      [at(5), 'runtime', 'sandbox', 9, 'Starting VM'],
      [at(40), 'hypervisor', 'qemu', 9, `Start logging QEMU (qemuPid=${1000 + Math.floor(r() * 9000)})`],
      [at(boot / 2), 'runtime', 'sandbox', 9, 'VM started'],
      [at(2), 'runtime', 'kata_agent', 9, 'New client'],
    ];
    if (sb.failed) {
      life.push([at(boot), 'runtime', 'sandbox', 17, 'failed to start VM: rpc error: code = DeadlineExceeded']);
    } else {
      life.push(
        [at(boot / 2), 'guest-kernel', '', 9, `[    0.${hex(r, 6)}] Run /init as init process`],
        [at(30), 'agent', 'rpc', 9, 'announce'],
        [at(10), 'runtime', 'sandbox', 9, 'Agent started in the sandbox'],
        [at(3), 'runtime', 'shim', 9, 'management server started'],
        [at(20), 'runtime', 'sandbox', 9, 'Sandbox is started'],
        [at(40), 'runtime', 'container', 9, 'Attach devices', { attributes: { [ATTR_CONTAINER_ID]: sb.container } }],
        [
          at(30),
          'runtime',
          'sandbox',
          9,
          'Container is started',
          { attributes: { [ATTR_CONTAINER_ID]: sb.container } },
        ],
      );
    }
    const chatter = Math.max(0, o.perSandbox - life.length - 6);
    for (let i = 0; i < chatter; i++) {
      const k = r();
      at(50 + Math.floor(r() * 500));
      if (k < 0.45)
        life.push([
          t,
          'agent',
          'rpc',
          5,
          `handling request ${['ExecProcess', 'WaitProcess', 'ReadStdout'][i % 3]} id=${i}`,
        ]);
      else if (k < 0.6)
        life.push([
          t,
          'agent',
          'mount',
          9,
          `mounted /run/kata-containers/shared/containers/${sb.container.slice(0, 12)}`,
          { attributes: { [ATTR_CONTAINER_ID]: sb.container, [ATTR_KATA_EXEC_ID]: `exec-${i % 4}` } },
        ]);
      else if (k < 0.7) life.push([t, 'runtime', 'kata_agent', 13, `Read from agent timed out after ${100 + i}ms`]);
      else if (k < 0.75) life.push([t, 'hypervisor', 'qemu', 17, `qemu-system-x86_64: vhost-user-fs: error ${i}`]);
      else if (k < 0.77)
        life.push([
          t,
          'agent',
          'policy',
          13,
          `Kata debug console is enabled for sandbox ${sb.id.slice(0, 8)}`,
          {
            eventName: EVENT_KATA_ALERT,
            attributes: { [ATTR_KATA_ALERT_RULE_ID]: RULES[i % RULES.length]!, [ATTR_KATA_ALERT_SEVERITY]: 'high' },
          },
        ]);
      else if (k < 0.79)
        life.push([
          t,
          'guest-kernel',
          '',
          0,
          `\u0000\u0007garbage ${hex(r, 8)} <script>alert(1)</script>`,
          { attributes: { [ATTR_KATA_LOG_PARSE_ERROR]: 'no known format' } },
        ]);
      else if (k < 0.81)
        at(40_000); // a silence in the agent's stream
      else life.push([t, 'guest-kernel', '', 9, `[  ${i}.${hex(r, 6)}] virtio_net virtio1 eth0: link up`]);
    }
    if (!sb.failed) {
      life.push(
        [at(200), 'runtime', 'sandbox', 9, 'Stopping sandbox in the VM'],
        [at(5), 'runtime', 'sandbox', 9, 'Stopping VM'],
        [at(80), 'hypervisor', 'qemu', 9, 'Stop logging QEMU'],
        [at(10), 'runtime', 'fs_share', 9, 'Cleanup agent'],
      );
    }
    for (const s of life) steps.push({ t: s[0], sb, s });
  }
  yield* flushUpTo(Infinity);
}

/** Write records as a store directory (Collector file-exporter lines, `batch` records a line, files of about
 * `fileRecords` records), fast enough for the benchmark; names as StoreExporter writes them. */
export function writeStoreDir(
  dir: string,
  records: Iterable<KataLogRecord>,
  o: { batch?: number; fileRecords?: number } = {},
): { files: number; records: number } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const batch = o.batch ?? 200;
  const per = o.fileRecords ?? 50_000;
  let seq = 0;
  let inFile = 0;
  let lines: string[] = [];
  let pending: KataLogRecord[] = [];
  let total = 0;
  let firstMs = 0;
  const flushFile = () => {
    if (!lines.length) return;
    const name = `logs-${new Date(firstMs).toISOString().replace(/[-:.]/g, '')}-${String(seq++).padStart(6, '0')}.jsonl`;
    writeFileSync(join(dir, name), lines.join(''), { mode: 0o600 });
    lines = [];
    inFile = 0;
  };
  const flushBatch = () => {
    if (!pending.length) return;
    if (!lines.length) firstMs = Number(pending[0]!.timeUnixNano / 1_000_000n);
    lines.push(encodeLogsJson(pending) + '\n');
    inFile += pending.length;
    pending = [];
    if (inFile >= per) flushFile();
  };
  for (const rec of records) {
    pending.push(rec);
    total++;
    if (pending.length >= batch) flushBatch();
  }
  flushBatch();
  flushFile();
  return { files: seq, records: total };
}
