// Bench workloads, deterministic (seeded PRNG): what a node running 100 sandboxes with Kata debug logging on
// writes. Message texts and field sets follow the real lines in test/fixtures/corpus (Go shim logrus, Rust agent slog
// JSON, journald JSON); the values are synthetic.
//
//   logfmt    shim.log: `lines` Go-shim logfmt records (RFC3339Nano time with trailing zeros trimmed, as logrus
//             writes it), a realistic mix of subsystems and levels, 1% debug `reading guest console` records whose
//             `vmconsole=` carries a kata-agent JSON record; containerd.log: the containerd copy of every one of
//             them (journal short prefix `containerd[pid]:`, fixed 9-digit fraction), interleaved in time as a
//             node writes them. The receiver keeps one record per pair (duplicate suppression).
//   json      agent.log: `lines` kata-agent slog JSON records.
//   journald  journal.json: `lines / 10` entries of `journalctl -o json` (the shim's own entry, identifier kata,
//             followed by containerd's copy, unit containerd.service).
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export type WorkloadName = 'logfmt' | 'json' | 'journald';

export interface Workload {
  name: WorkloadName;
  files: string[];
  /** Lines (entries) in all files. */
  lines: number;
  bytes: number;
  /** Records the receiver must keep after parsing and duplicate suppression (alerts come on top). */
  expectedRecords: number;
}

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HEX = '0123456789abcdef';
function hexId(rnd: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += HEX[Math.floor(rnd() * 16)];
  return s;
}
const pick = <T>(rnd: () => number, a: readonly T[]): T => a[Math.floor(rnd() * a.length)] as T;

/** Buffered writer: one writeSync per ~1 MiB. */
class Out {
  private fd: number;
  private parts: string[] = [];
  private size = 0;
  bytes = 0;
  lines = 0;
  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }
  line(s: string): void {
    this.parts.push(s, '\n');
    this.size += s.length + 1;
    this.lines++;
    if (this.size >= 1 << 20) this.flush();
  }
  private flush(): void {
    const chunk = Buffer.from(this.parts.join(''), 'utf8');
    writeSync(this.fd, chunk);
    this.bytes += chunk.length;
    this.parts = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

// ---- time ------------------------------------------------------------------------------------------------

/** A clock that advances by a random step per record; formats RFC3339 in a fixed zone (cached per second). */
class Clock {
  sec: number;
  nanos = 0;
  private cachedSec = -1;
  private cachedLocal = '';
  private cachedUtc = '';
  constructor(
    startSec: number,
    private readonly offsetMin: number,
  ) {
    this.sec = startSec;
  }
  advance(maxNs: number, rnd: () => number): void {
    this.nanos += 1 + Math.floor(rnd() * maxNs);
    while (this.nanos >= 1e9) {
      this.nanos -= 1e9;
      this.sec++;
    }
  }
  private cache(): void {
    if (this.cachedSec === this.sec) return;
    this.cachedSec = this.sec;
    this.cachedLocal = new Date((this.sec + this.offsetMin * 60) * 1000).toISOString().slice(0, 19);
    this.cachedUtc = new Date(this.sec * 1000).toISOString().slice(0, 19);
  }
  private zone(): string {
    const o = Math.abs(this.offsetMin);
    return `${this.offsetMin < 0 ? '-' : '+'}${String(Math.floor(o / 60)).padStart(2, '0')}:${String(o % 60).padStart(2, '0')}`;
  }
  /** logrus RFC3339Nano: trailing zeros of the fraction trimmed (no fraction at all when zero). */
  logrus(): string {
    this.cache();
    let f = String(this.nanos).padStart(9, '0').replace(/0+$/, '');
    if (f) f = '.' + f;
    return this.cachedLocal + f + this.zone();
  }
  /** containerd's relay: always 9 digits. */
  containerd(): string {
    this.cache();
    return `${this.cachedLocal}.${String(this.nanos).padStart(9, '0')}${this.zone()}`;
  }
  /** slog (agent): 9 digits, UTC as +00:00. */
  agent(): string {
    this.cache();
    return `${this.cachedUtc}.${String(this.nanos).padStart(9, '0')}+00:00`;
  }
  /** Journal short prefix time in the local zone: `May 01 10:00:00`. */
  syslog(): string {
    this.cache();
    const d = new Date((this.sec + this.offsetMin * 60) * 1000);
    const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
    return `${mon} ${String(d.getUTCDate()).padStart(2, '0')} ${this.cachedLocal.slice(11)}`;
  }
  micros(): number {
    return this.sec * 1e6 + Math.floor(this.nanos / 1000);
  }
}

// ---- Go shim records ---------------------------------------------------------------------------------------

interface Sandbox {
  id: string;
  shimPid: number;
  containers: string[];
}

const START_SEC = Date.UTC(2024, 4, 1, 17, 0, 0) / 1000;
const ZONE_MIN = -7 * 60;
const HOST = 'node-17';
const CONTAINERD_PID = 1024;

function sandboxes(rnd: () => number, n: number): Sandbox[] {
  const out: Sandbox[] = [];
  for (let i = 0; i < n; i++)
    out.push({
      id: hexId(rnd, 64),
      shimPid: 100_000 + Math.floor(rnd() * 800_000),
      containers: [hexId(rnd, 64), hexId(rnd, 64)],
    });
  return out;
}

const AGENT_REQUESTS = [
  'grpc.StatsContainerRequest',
  'grpc.CheckRequest',
  'grpc.ReadStreamRequest',
  'grpc.WaitProcessRequest',
];

/** Builds one shim record's fields after `time=… level=… msg=…` (the part the containerd copy repeats). */
type ShimTemplate = (sb: Sandbox, rnd: () => number) => { level: string; msg: string; fields: string };

const common = (sb: Sandbox, source: string, subsystem: string) =>
  `name=containerd-shim-v2 pid=${sb.shimPid} sandbox=${sb.id} source=${source} subsystem=${subsystem}`;

// Weights: a debug-level node in steady state is dominated by the periodic stats/health calls to the agent.
const SHIM_TEMPLATES: [number, ShimTemplate][] = [
  [
    22,
    (sb, rnd) => ({
      level: 'debug',
      msg: 'sending request',
      fields: `${common(sb, 'virtcontainers', 'kata_agent')} req-name=${pick(rnd, AGENT_REQUESTS)}`,
    }),
  ],
  [
    20,
    (sb, rnd) => ({
      level: 'debug',
      msg: 'request end',
      fields: `duration=${Math.floor(rnd() * 900) + 100}.${Math.floor(rnd() * 1000)}µs ${common(sb, 'virtcontainers', 'kata_agent')} req-name=grpc.CheckRequest`,
    }),
  ],
  [
    8,
    (sb) => ({
      level: 'debug',
      msg: 'New client',
      fields: `${common(sb, 'virtcontainers', 'kata_agent')} url="vsock://3:1024"`,
    }),
  ],
  [
    8,
    (sb, rnd) => ({
      level: 'debug',
      msg: 'Stats container',
      fields: `container=${pick(rnd, sb.containers)} ${common(sb, 'virtcontainers', 'container')}`,
    }),
  ],
  [
    6,
    (sb) => ({
      level: 'debug',
      msg: 'ready to get stats for sandbox',
      fields: common(sb, 'virtcontainers', 'sandbox'),
    }),
  ],
  [
    5,
    (sb, rnd) => ({
      level: 'info',
      msg: 'Checking ' + pick(rnd, ['cpu', 'memory', 'io', 'pids']) + ' cgroup',
      fields: common(sb, 'virtcontainers', 'cgroups'),
    }),
  ],
  [
    4,
    (sb, rnd) => ({
      level: 'debug',
      msg: 'QMP details',
      fields: `${common(sb, 'virtcontainers', 'qmp')} qmp-major-version=${pick(rnd, ['7', '8'])} qmp-minor-version=2`,
    }),
  ],
  [
    4,
    (sb) => ({
      level: 'info',
      msg: 'endpoints found after scan',
      fields: `${common(sb, 'virtcontainers', 'network')} endpoints=1`,
    }),
  ],
  [
    4,
    (sb, rnd) => ({
      level: 'info',
      msg: 'Device added',
      fields: `${common(sb, 'virtcontainers', 'device')} device-major=${pick(rnd, ['8', '253'])} device-minor=${Math.floor(rnd() * 16)}`,
    }),
  ],
  [
    3,
    (sb) => ({
      level: 'info',
      msg: `converting /run/containerd/io.containerd.runtime.v2.task/k8s.io/${sb.id}/config.json`,
      fields: common(sb, 'virtcontainers', 'compatoci'),
    }),
  ],
  [
    3,
    (sb) => ({
      level: 'info',
      msg: 'loaded configuration',
      fields: `file=/opt/kata/share/defaults/kata-containers/configuration-qemu.toml format=TOML name=containerd-shim-v2 pid=${sb.shimPid} sandbox=${sb.id} source=katautils`,
    }),
  ],
  [
    3,
    (sb, rnd) => ({
      level: 'warning',
      msg: 'failed to get container stats',
      fields: `container=${pick(rnd, sb.containers)} error="rpc error: code = NotFound desc = container \\"${pick(rnd, sb.containers).slice(0, 12)}\\" not found" ${common(sb, 'virtcontainers', 'container')}`,
    }),
  ],
  [2, (sb) => ({ level: 'info', msg: 'Sandbox is started', fields: common(sb, 'virtcontainers', 'sandbox') })],
  [
    2,
    (sb) => ({
      level: 'debug',
      msg: 'virtiofsd process started',
      fields: `${common(sb, 'virtcontainers', 'virtiofsd')} virtiofsd-pid=${sb.shimPid + 3}`,
    }),
  ],
  [
    1,
    (sb, rnd) => ({
      level: 'error',
      msg: 'Failed to update container',
      fields: `container=${pick(rnd, sb.containers)} error="cgroup path is not valid" ${common(sb, 'virtcontainers', 'cgroups')}`,
    }),
  ],
];
const SHIM_TOTAL = SHIM_TEMPLATES.reduce((a, [w]) => a + w, 0);

/** One kata-agent slog JSON record (also what `vmconsole=` carries). */
function agentRecord(clock: Clock, rnd: () => number, cid: string): string {
  const r = rnd();
  const ts = clock.agent();
  if (r < 0.45)
    return `{"msg":"rpc call from shim to agent: \\"${pick(rnd, ['stats_container', 'check', 'read_stdout'])}\\"","level":"DEBG","ts":"${ts}","pid":"1","version":"3.2.0","subsystem":"rpc","name":"kata-agent","source":"agent"}`;
  if (r < 0.7)
    return `{"msg":"rpc call","level":"DEBG","ts":"${ts}","pid":"1","version":"3.2.0","subsystem":"rpc","name":"kata-agent","source":"agent","req":"${pick(rnd, AGENT_REQUESTS)}"}`;
  if (r < 0.82)
    return `{"msg":"handling signal","level":"INFO","ts":"${ts}","source":"agent","pid":"1","version":"3.2.0","subsystem":"signals","name":"kata-agent","signal":"SIGCHLD"}`;
  if (r < 0.92)
    return `{"msg":"enter container.start!","level":"INFO","ts":"${ts}","cid":"${cid}","module":"rustjail","name":"kata-agent","version":"3.2.0","source":"agent","pid":"1","subsystem":"container"}`;
  if (r < 0.98)
    return `{"msg":"cgroup manager set resources for container","level":"DEBG","ts":"${ts}","name":"kata-agent","subsystem":"cgroups","pid":"1","version":"3.2.0","source":"agent"}`;
  return `{"msg":"failed to read process stdout","level":"WARN","ts":"${ts}","source":"agent","pid":"1","version":"3.2.0","subsystem":"stream","name":"kata-agent","error":"EOF"}`;
}

/** Escape a string as a logfmt quoted value (logrus: Go %q). */
const goQuote = (s: string) => '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';

function genLogfmt(dir: string, lines: number, seed: number): Workload {
  const rnd = prng(seed);
  const sbs = sandboxes(rnd, 100);
  const clock = new Clock(START_SEC, ZONE_MIN);
  const shimPath = join(dir, 'shim.log');
  const ctrdPath = join(dir, 'containerd.log');
  const shim = new Out(shimPath);
  const ctrd = new Out(ctrdPath);
  for (let i = 0; i < lines; i++) {
    clock.advance(1_000_000, rnd); // ~2000 lines/s on the node
    const sb = pick(rnd, sbs);
    let level: string;
    let msg: string;
    let fields: string;
    const r = rnd();
    if (r < 0.01) {
      level = 'debug';
      msg = 'reading guest console';
      fields = `console-protocol=unix console-url=/run/vc/vm/${sb.id}/console.sock pid=${sb.shimPid} sandbox=${sb.id} source=virtcontainers subsystem=sandbox vmconsole=${goQuote(agentRecord(clock, rnd, pick(rnd, sb.containers)))}`;
    } else if (r < 0.01002) {
      // Rare faults, so the alert rules fire now and then as they would on a real node.
      level = 'error';
      msg = 'failed to ping agent';
      fields = `error="rpc error: code = DeadlineExceeded desc = timed out connecting to vsock" ${common(sb, 'virtcontainers', 'kata_agent')}`;
    } else {
      let w = rnd() * SHIM_TOTAL;
      let t = SHIM_TEMPLATES[0]![1];
      for (const [weight, tpl] of SHIM_TEMPLATES) {
        t = tpl;
        if ((w -= weight) < 0) break;
      }
      ({ level, msg, fields } = t(sb, rnd));
    }
    const rest = ` level=${level} msg=${goQuote(msg)} ${fields}`;
    shim.line(`time="${clock.logrus()}"${rest}`);
    ctrd.line(`${clock.syslog()} ${HOST} containerd[${CONTAINERD_PID}]: time="${clock.containerd()}"${rest}`);
  }
  shim.close();
  ctrd.close();
  return {
    name: 'logfmt',
    files: [shimPath, ctrdPath],
    lines: shim.lines + ctrd.lines,
    bytes: shim.bytes + ctrd.bytes,
    expectedRecords: lines,
  };
}

function genJson(dir: string, lines: number, seed: number): Workload {
  const rnd = prng(seed);
  const clock = new Clock(START_SEC, 0);
  const cids = Array.from({ length: 20 }, () => hexId(rnd, 64));
  const path = join(dir, 'agent.log');
  const out = new Out(path);
  for (let i = 0; i < lines; i++) {
    clock.advance(1_000_000, rnd);
    out.line(agentRecord(clock, rnd, pick(rnd, cids)));
  }
  out.close();
  return { name: 'json', files: [path], lines: out.lines, bytes: out.bytes, expectedRecords: lines };
}

function genJournald(dir: string, entries: number, seed: number): Workload {
  const rnd = prng(seed);
  const sbs = sandboxes(rnd, 100);
  const clock = new Clock(START_SEC, ZONE_MIN);
  const path = join(dir, 'journal.json');
  const out = new Out(path);
  const boot = hexId(rnd, 32);
  const machine = hexId(rnd, 32);
  let seqnum = 1_000_000;
  let monotonic = 86_400_000_000;
  const pairs = Math.floor(entries / 2);
  for (let i = 0; i < pairs; i++) {
    clock.advance(2_000_000, rnd);
    const sb = pick(rnd, sbs);
    const [, tpl] = SHIM_TEMPLATES[Math.floor(rnd() * SHIM_TEMPLATES.length)]!;
    const { level, msg, fields } = tpl(sb, rnd);
    const rest = ` level=${level} msg=${goQuote(msg)} ${fields}`;
    const priority = level === 'error' ? '3' : level === 'warning' ? '4' : level === 'info' ? '6' : '7';
    for (const copy of ['kata', 'containerd'] as const) {
      const us = clock.micros() + (copy === 'containerd' ? 40 : 0);
      monotonic += 40;
      const ident = copy === 'kata' ? 'kata' : 'containerd';
      const pid = copy === 'kata' ? sb.shimPid : CONTAINERD_PID;
      const message = `time="${copy === 'kata' ? clock.logrus() : clock.containerd()}"${rest}`;
      const cursor = `s=${boot};i=${(seqnum++).toString(16)};b=${boot};m=${monotonic.toString(16)};t=${us.toString(16)};x=${hexId(rnd, 16)}`;
      const entry: Record<string, string> = {
        __CURSOR: cursor,
        __REALTIME_TIMESTAMP: String(us),
        __MONOTONIC_TIMESTAMP: String(monotonic),
        _BOOT_ID: boot,
        _MACHINE_ID: machine,
        _HOSTNAME: HOST,
        PRIORITY: priority,
        SYSLOG_FACILITY: '3',
        _UID: '0',
        _GID: '0',
        _TRANSPORT: copy === 'kata' ? 'syslog' : 'stdout',
        _SYSTEMD_SLICE: 'system.slice',
        _SYSTEMD_UNIT: 'containerd.service',
        _SYSTEMD_CGROUP: '/system.slice/containerd.service',
        _SYSTEMD_INVOCATION_ID: machine,
        SYSLOG_IDENTIFIER: ident,
        _COMM: copy === 'kata' ? 'containerd-shim' : 'containerd',
        _EXE: copy === 'kata' ? '/opt/kata/bin/containerd-shim-kata-v2' : '/usr/bin/containerd',
        _CMDLINE:
          copy === 'kata'
            ? `/opt/kata/bin/containerd-shim-kata-v2 -namespace k8s.io -address /run/containerd/containerd.sock -publish-binary /usr/bin/containerd -id ${sb.id}`
            : '/usr/bin/containerd',
        _PID: String(pid),
        MESSAGE: message,
      };
      if (copy === 'kata') {
        entry.SYSLOG_PID = String(pid);
        entry._SOURCE_REALTIME_TIMESTAMP = String(us - 3);
      }
      out.line(JSON.stringify(entry));
    }
  }
  out.close();
  return { name: 'journald', files: [path], lines: out.lines, bytes: out.bytes, expectedRecords: pairs };
}

export interface GenerateOptions {
  /** Shim records (logfmt; each also has its containerd copy) and agent records (json). Journald: lines / 10. */
  lines: number;
  seed?: number;
  only?: WorkloadName[];
}

/** Writes the workloads into `dir` (created if missing); returns what was written. */
export function generateWorkloads(dir: string, opts: GenerateOptions): Workload[] {
  mkdirSync(dir, { recursive: true });
  const seed = opts.seed ?? 20240501;
  const want = (w: WorkloadName) => !opts.only || opts.only.includes(w);
  const out: Workload[] = [];
  if (want('logfmt')) out.push(genLogfmt(dir, opts.lines, seed));
  if (want('json')) out.push(genJson(dir, opts.lines, seed + 1));
  if (want('journald')) out.push(genJournald(dir, Math.max(2, Math.floor(opts.lines / 10)), seed + 2));
  return out;
}

// ---- steady-state lines (bench/steady-writer.ts) -----------------------------------------------------------

/** One line of the steady-state scenario, with a `bench_tag` field holding `tag` (the sink's id and write time). */
export interface SteadyLine {
  /** Go-shim logfmt line (journald MESSAGE) or kata-agent JSON line (a file). */
  text: string;
  /** journald PRIORITY of a shim line. */
  priority: number;
  /** Index of the sandbox that wrote it (0..sandboxes-1). */
  sandbox: number;
  shimPid: number;
}

/**
 * The generators above, at the current time instead of a synthetic clock: shim records from the same weighted
 * templates (no `vmconsole=` records, whose fields are the unpacked agent record's) and agent records, each with
 * one more field, `bench_tag` (kept as the attribute `kata.field.bench_tag`). A field, not the message: messages
 * stay as repetitive as a node's, so caches keyed on them (redaction's) behave as they would there.
 */
export function steadyLines(seed: number, sandboxCount: number) {
  const rnd = prng(seed);
  const sbs = sandboxes(rnd, sandboxCount);
  const clock = new Clock(0, ZONE_MIN);
  const utc = new Clock(0, 0);
  const at = (c: Clock, nowMs: number) => {
    c.sec = Math.floor(nowMs / 1000);
    c.nanos = Math.floor((nowMs % 1000) * 1e6);
  };
  return {
    sandboxes: sbs,
    shim(nowMs: number, tag: string): SteadyLine {
      at(clock, nowMs);
      const i = Math.floor(rnd() * sbs.length);
      const sb = sbs[i]!;
      let w = rnd() * SHIM_TOTAL;
      let t = SHIM_TEMPLATES[0]![1];
      for (const [weight, tpl] of SHIM_TEMPLATES) {
        t = tpl;
        if ((w -= weight) < 0) break;
      }
      const { level, msg, fields } = t(sb, rnd);
      const priority = level === 'error' ? 3 : level === 'warning' ? 4 : level === 'info' ? 6 : 7;
      return {
        text: `time="${clock.logrus()}" level=${level} msg=${goQuote(msg)} ${fields} bench_tag=${tag}`,
        priority,
        sandbox: i,
        shimPid: sb.shimPid,
      };
    },
    agent(nowMs: number, tag: string): SteadyLine {
      at(utc, nowMs);
      const i = Math.floor(rnd() * sbs.length);
      const sb = sbs[i]!;
      const rec = agentRecord(utc, rnd, pick(rnd, sb.containers));
      return { text: `${rec.slice(0, -1)},"bench_tag":"${tag}"}`, priority: 7, sandbox: i, shimPid: sb.shimPid };
    },
  };
}
