// Provenance and trust end to end through the real sources, the real pipeline and the built-in rules:
// a guest that spoofs another sandbox over its hybrid-vsock log port (a peer in a child process), and
// `logger -t kata`-style entries of a local user in real journal files (systemd-journal-remote, read by journalctl).
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { parseText } from '../../receiver/parse/index.js';
import { Pipeline } from '../../receiver/pipeline/pipeline.js';
import { applyProvenance } from '../../receiver/pipeline/provenance.js';
import { RuleEngine } from '../../receiver/rules/engine.js';
import { loadBuiltinRules } from '../../receiver/rules/load.js';
import {
  ATTR_KATA_ALERT_RULE_ID,
  ATTR_KATA_ALERT_TRIGGER_UIDS,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_FIELD,
  ATTR_KATA_LOG_CARRIER,
  ATTR_KATA_LOG_GUEST_CONTROLLED,
  ATTR_KATA_LOG_IDENTITY_MISMATCH,
  ATTR_KATA_LOG_ORIGIN,
  ATTR_KATA_LOG_ORIGIN_ADDRESS,
  ATTR_KATA_LOG_TRUSTED,
  ATTR_KATA_SANDBOX_ID,
  ATTR_LOG_RECORD_UID,
  ATTR_PROCESS_COMMAND,
  ATTR_PROCESS_EXECUTABLE_PATH,
  ATTR_PROCESS_USER_ID,
  EVENT_KATA_ALERT,
} from '../../receiver/semconv/generated.js';
import { JournaldSource } from '../../receiver/sources/journald.js';
import type { SourceContext } from '../../receiver/sources/types.js';
import { VsockSource } from '../../receiver/sources/vsock.js';
import { createLogger } from '../../receiver/telemetry/log.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';
import { tempDir } from '../sources/source-harness.js';
import { startAgent } from '../support/hvsock-agent.js';
import {
  CONTAINERD_WRITER,
  JOURNAL_REMOTE,
  LOGGER_WRITER,
  SHIM_WRITER,
  TEST_BOOT_ID,
  writeJournal,
  type JournalRecord,
} from '../support/journal.js';

const ATTACKER = 'a77ac4e5a77ac4e5a77ac4e5a77ac4e5a77ac4e5a77ac4e5a77ac4e5a77ac4e5';
const VICTIM = '38f55c4a058a0f7227e64edd75f2aed134bee7db4b211f071be84fb44d17b0bb';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** The receiver's pipeline (provenance, built-in rules) over a source, collecting what reaches the queue. */
function pipelineContext(opts: { once: boolean }) {
  const records: KataLogRecord[] = [];
  const metrics = new Metrics();
  const logger = createLogger({ level: 'error', write: () => undefined });
  const pipeline = new Pipeline({
    stages: [new RuleEngine({ rules: loadBuiltinRules(), logger, metrics })],
    sinks: [{ name: 'collect', append: async (r) => void records.push(...r) }],
    metrics,
    logger,
  });
  const controller = new AbortController();
  const ctx: SourceContext = {
    emit: (b) => pipeline.process(b),
    signal: controller.signal,
    checkpointDir: join(tempDir(), 'checkpoints'),
    once: opts.once,
    logger,
    metrics,
  };
  const alerts = () => records.filter((r) => r.eventName === EVENT_KATA_ALERT);
  const logs = () => records.filter((r) => r.eventName !== EVENT_KATA_ALERT);
  return { ctx, controller, records, alerts, logs };
}

async function waitFor(pred: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ruleIds = (alerts: KataLogRecord[]) => alerts.map((a) => a.attributes[ATTR_KATA_ALERT_RULE_ID]).sort();

describe('a guest spoofing another sandbox over its vsock log port', () => {
  it('is attributed to its socket’s sandbox, keeps the claim, raises kata-guest-identity-spoof and no runtime alert', async () => {
    const base = tempDir('ko-');
    const socket = join(base, 'vm', ATTACKER, 'clh.sock');
    const lines = [
      // An agent record naming the victim sandbox.
      `{"msg":"rpc call from shim to agent: \\"exec_process\\"","level":"INFO","ts":"2025-11-20T16:25:33.010026353Z","source":"agent","name":"kata-agent","subsystem":"rpc","pid":"1","sandbox":"${VICTIM}"}`,
      // Runtime-shaped text claiming the victim's VM died (a host-only alert).
      `time="2025-11-20T16:25:34.002816400Z" level=warning msg="QEMU exited with an error" error="exit status 1" name=containerd-shim-v2 pid=3426175 sandbox=${VICTIM} source=virtcontainers/hypervisor subsystem=qemu`,
      // The guest's own sandbox, honestly.
      `{"msg":"get debug shell pid","level":"INFO","ts":"2025-11-20T16:25:35.000000000Z","source":"agent","name":"kata-agent","subsystem":"console","pid":"1","sandbox":"${ATTACKER}"}`,
    ];
    await startAgent({ socket, mode: 'lines', lines }, children);
    const p = pipelineContext({ once: false });
    const source = new VsockSource({ roots: [join(base, 'vm')], pollMs: 50, flushMs: 20, reconnectInitialMs: 50 });
    const run = source.run(p.ctx);
    try {
      await waitFor(() => p.logs().length >= 3, 'the three guest records');
    } finally {
      p.controller.abort();
      await run;
    }
    const logs = p.logs();
    expect(logs).toHaveLength(3);
    for (const r of logs) {
      expect(r.attributes[ATTR_KATA_SANDBOX_ID], r.body).toBe(ATTACKER);
      expect(r.attributes[ATTR_KATA_LOG_ORIGIN]).toBe('vsock');
      expect(r.attributes[ATTR_KATA_LOG_ORIGIN_ADDRESS]).toBe(socket);
      expect(r.attributes[ATTR_KATA_LOG_GUEST_CONTROLLED]).toBe(true);
    }
    const [exec, died, own] = logs as [KataLogRecord, KataLogRecord, KataLogRecord];
    expect(exec.attributes[ATTR_KATA_FIELD('sandbox')]).toBe(VICTIM);
    expect(exec.attributes[ATTR_KATA_LOG_IDENTITY_MISMATCH]).toBe(true);
    expect(died.attributes[ATTR_KATA_FIELD('sandbox')]).toBe(VICTIM);
    expect(died.attributes[ATTR_KATA_COMPONENT]).toBe('runtime'); // what the text claims, marked guest-controlled
    expect(own.attributes[ATTR_KATA_FIELD('sandbox')]).toBeUndefined();
    expect(own.attributes[ATTR_KATA_LOG_IDENTITY_MISMATCH]).toBeUndefined();

    const alerts = p.alerts();
    // Spoof: one alert (the second mismatch is inside its deduplication window, reported when it closes).
    expect(ruleIds(alerts)).toEqual(['kata-container-exec', 'kata-debug-console-used', 'kata-guest-identity-spoof']);
    for (const a of alerts) expect(a.attributes[ATTR_KATA_SANDBOX_ID]).toBe(ATTACKER);
    const spoof = alerts.find((a) => a.attributes[ATTR_KATA_ALERT_RULE_ID] === 'kata-guest-identity-spoof');
    expect(spoof?.body).toContain(`claiming sandbox ${VICTIM}`);
    expect(spoof?.attributes[ATTR_KATA_ALERT_TRIGGER_UIDS]).toBeUndefined(); // a live stream has no uids
  });
});

describe.skipIf(!JOURNAL_REMOTE)('`logger -t kata` entries of a local user in real journal files', () => {
  const QEMU_DIED = (sandbox: string) =>
    `time="2025-11-20T16:40:11.517263144Z" level=warning msg="QEMU exited with an error" error="exit status 1" name=containerd-shim-v2 pid=3426175 qemuPid=103538 sandbox=${sandbox} source=virtcontainers/hypervisor subsystem=qemu`;
  const DEBUG_CONSOLE = (sandbox: string) =>
    `time="2025-11-20T16:40:12.000000000Z" level=info msg="reading guest console" name=containerd-shim-v2 pid=3426175 sandbox=${sandbox} source=virtcontainers subsystem=sandbox vmconsole="{\\"msg\\":\\"get debug shell pid\\",\\"level\\":\\"INFO\\",\\"source\\":\\"agent\\",\\"pid\\":\\"1\\"}"`;
  let t = 1_763_656_811_000_000n;
  const entry = (writer: JournalRecord, message: string, pid: number): JournalRecord => ({
    __REALTIME_TIMESTAMP: (t += 1000n),
    __MONOTONIC_TIMESTAMP: t - 1_763_000_000_000_000n,
    _BOOT_ID: TEST_BOOT_ID,
    _HOSTNAME: 'node1',
    _SYSTEMD_UNIT: 'containerd.service',
    _TRANSPORT: 'syslog',
    SYSLOG_IDENTIFIER: 'kata',
    PRIORITY: 4,
    _PID: pid,
    ...writer,
    MESSAGE: message,
  });

  async function readJournal(records: JournalRecord[]) {
    const dir = tempDir();
    const file = join(dir, 'system.journal');
    await writeJournal(file, records);
    const p = pipelineContext({ once: true });
    await new JournaldSource({ files: [file] }).run(p.ctx);
    return p;
  }

  it('keeps them, marked untrusted with their writer, and raises no security alert from them', async () => {
    const p = await readJournal([
      entry(LOGGER_WRITER, QEMU_DIED(VICTIM), 5001),
      entry(LOGGER_WRITER, DEBUG_CONSOLE(VICTIM), 5002),
      entry({ ...LOGGER_WRITER, _UID: 0 }, QEMU_DIED(VICTIM), 5003), // root, but logger in a login session
    ]);
    const logs = p.logs();
    expect(logs.length).toBeGreaterThanOrEqual(3);
    for (const r of logs) {
      expect(r.attributes[ATTR_KATA_LOG_ORIGIN]).toBe('journald');
      expect(r.attributes[ATTR_KATA_LOG_TRUSTED]).toBe(false);
      expect(r.attributes[ATTR_PROCESS_COMMAND]).toBe('logger');
      expect(r.attributes[ATTR_PROCESS_EXECUTABLE_PATH]).toBe('/usr/bin/logger');
    }
    expect(logs.map((r) => r.attributes[ATTR_PROCESS_USER_ID])).toContain(1000);
    expect(logs.some((r) => r.body === 'QEMU exited with an error')).toBe(true);
    expect(p.alerts()).toEqual([]);
  });

  it('alerts on the same lines written by the shim and containerd, and only on those', async () => {
    const p = await readJournal([
      entry(LOGGER_WRITER, QEMU_DIED(VICTIM), 5001),
      entry(SHIM_WRITER, QEMU_DIED(ATTACKER), 3426175),
      entry({ ...CONTAINERD_WRITER, SYSLOG_IDENTIFIER: 'containerd' }, DEBUG_CONSOLE(ATTACKER), 2771108),
      entry(LOGGER_WRITER, DEBUG_CONSOLE(VICTIM), 5002),
    ]);
    const trusted = p.logs().filter((r) => r.attributes[ATTR_KATA_LOG_TRUSTED] === true);
    expect(trusted.length).toBeGreaterThanOrEqual(2);
    expect(trusted.every((r) => r.attributes[ATTR_PROCESS_USER_ID] === 0)).toBe(true);
    const alerts = p.alerts();
    expect(ruleIds(alerts)).toEqual(['kata-debug-console-used', 'kata-hypervisor-crashed']);
    for (const a of alerts) expect(a.attributes[ATTR_KATA_SANDBOX_ID]).toBe(ATTACKER);
    const trustedUids = new Set(trusted.map((r) => r.attributes[ATTR_LOG_RECORD_UID]));
    for (const a of alerts)
      for (const u of a.attributes[ATTR_KATA_ALERT_TRIGGER_UIDS] as string[]) expect(trustedUids.has(u)).toBe(true);
  });
});

describe('applyProvenance', () => {
  const rec = (attrs: Record<string, string>): KataLogRecord => ({
    timeUnixNano: 0n,
    observedTimeUnixNano: 0n,
    severityNumber: 9,
    severityText: 'INFO',
    body: 'x',
    attributes: { ...attrs },
  });

  it('marks console text re-logged by the shim as guest-controlled and flags a differing kept claim', () => {
    const r = rec({
      [ATTR_KATA_LOG_CARRIER]: 'vmconsole',
      [ATTR_KATA_SANDBOX_ID]: ATTACKER,
      'kata.field.sandbox': VICTIM,
    });
    applyProvenance([r], { [ATTR_KATA_LOG_ORIGIN]: 'journald', [ATTR_KATA_LOG_TRUSTED]: true });
    expect(r.attributes[ATTR_KATA_LOG_GUEST_CONTROLLED]).toBe(true);
    expect(r.attributes[ATTR_KATA_LOG_IDENTITY_MISMATCH]).toBe(true);
    expect(r.attributes[ATTR_KATA_SANDBOX_ID]).toBe(ATTACKER);
  });

  it('leaves a shim record host-trusted and lets no text override the source’s provenance', () => {
    const r = rec({ [ATTR_KATA_COMPONENT]: 'runtime', [ATTR_KATA_LOG_ORIGIN]: 'file', [ATTR_PROCESS_COMMAND]: 'evil' });
    applyProvenance([r], { [ATTR_KATA_LOG_ORIGIN]: 'journald', [ATTR_KATA_LOG_TRUSTED]: false });
    expect(r.attributes[ATTR_KATA_LOG_GUEST_CONTROLLED]).toBeUndefined();
    expect(r.attributes[ATTR_KATA_LOG_ORIGIN]).toBe('journald');
    expect(r.attributes[ATTR_KATA_LOG_TRUSTED]).toBe(false);
    expect(r.attributes[ATTR_PROCESS_COMMAND]).toBeUndefined();
  });

  it('takes the full id from an agent record when a Firecracker run directory holds its first 32 characters', () => {
    const r = rec({ [ATTR_KATA_SANDBOX_ID]: VICTIM });
    applyProvenance([r], { [ATTR_KATA_LOG_ORIGIN]: 'fifo', [ATTR_KATA_SANDBOX_ID]: VICTIM.slice(0, 32) });
    expect(r.attributes[ATTR_KATA_SANDBOX_ID]).toBe(VICTIM);
    expect(r.attributes[ATTR_KATA_LOG_IDENTITY_MISMATCH]).toBeUndefined();
    expect(r.attributes['kata.field.sandbox']).toBeUndefined();
  });
});

/** One journal line read as a source with `carrier` provenance: its first record and the built-in alerts it raised. */
function parseWithRules(line: string, carrier: Record<string, string | boolean>) {
  const recs = parseText(line, { observedTimeUnixNano: 1n, attributes: { ...carrier } });
  applyProvenance(recs, carrier);
  const fired = new RuleEngine({ rules: loadBuiltinRules() })
    .process(recs)
    .filter((a) => a.eventName === EVENT_KATA_ALERT)
    .map((a) => a.attributes[ATTR_KATA_ALERT_RULE_ID]);
  return { rec: recs[0]!, fired };
}

describe('runtime-rs console text shaped like host records', () => {
  // The guest writes whatever it likes on its console; runtime-rs re-logs each line as `vm console: "…"` in its own
  // journal entries, next to `qemu stderr: "…"` re-logs of the real QEMU. Only the latter may count as the host's.
  const journal = {
    [ATTR_KATA_LOG_ORIGIN]: 'journald',
    [ATTR_KATA_LOG_TRUSTED]: true,
    [ATTR_PROCESS_COMMAND]: 'containerd-shim',
  };
  const run = (line: string) => parseWithRules(line, journal);

  it('is guest-controlled and raises no host-trust alert, whatever shape the console line has', () => {
    for (const payload of [
      'qemu-system-x86_64: error: failed to set MSR 0x48d to 0x5600000016',
      'time=\\"2026-01-12T08:31:05Z\\" level=error msg=\\"Cannot start VM\\" source=virtcontainers subsystem=sandbox',
      'time=\\"2026-01-12T08:31:05Z\\" level=info msg=\\"mark agent dead\\" source=virtcontainers subsystem=kata_agent',
    ]) {
      const { rec, fired } = run(`Jul 29 13:29:18 node kata[2293724]: vm console: "${payload}"`);
      expect(rec.attributes[ATTR_KATA_LOG_GUEST_CONTROLLED], payload).toBe(true);
      expect(fired, payload).toEqual([]);
    }
  });

  it('leaves the same QEMU line host-trusted when runtime-rs re-logs it from QEMU’s stderr', () => {
    const { rec, fired } = run(
      'Jul 29 13:29:18 node kata[2293724]: qemu stderr: "qemu-system-x86_64: error: failed to set MSR 0x48d to 0x5600000016"',
    );
    expect(rec.attributes[ATTR_KATA_LOG_GUEST_CONTROLLED]).toBeUndefined();
    expect(fired).toEqual(['kata-sandbox-start-failed']);
  });
});

describe('runtime-rs agent-log forwarder', () => {
  // runtime-rs's log forwarder (crates/agent/src/log_forwarder.rs) reads the guest's agent-log vsock port and re-logs
  // each line whole as the MESSAGE of its own journal entry (SUBSYSTEM=agent), at the line's JSON `level` and at
  // info for anything else: the guest chooses that text. The same subsystem carries runtime-rs's own agent-client
  // messages (plain text, at their own levels), which stay the host's.
  const journal = {
    [ATTR_KATA_LOG_ORIGIN]: 'journald',
    [ATTR_KATA_LOG_TRUSTED]: true,
    [ATTR_PROCESS_COMMAND]: 'containerd-shim-kata-v2',
  };
  const entry = (message: string, subsystem: string, priority: string) =>
    JSON.stringify({
      __REALTIME_TIMESTAMP: '1767170000000000',
      _TRANSPORT: 'journal',
      SYSLOG_IDENTIFIER: 'kata',
      _PID: '2293724',
      PRIORITY: priority,
      MESSAGE: message,
      SUBSYSTEM: subsystem,
      COMPONENT: subsystem,
      NAME: 'kata-runtime',
      SOURCE: VICTIM,
    });
  const run = (line: string) => parseWithRules(line, journal);
  const forged = 'Cannot start VM: forged by the guest';

  it('marks forwarded text guest-controlled and raises no host-trust alert from it', () => {
    for (const [message, priority] of [
      [forged, '5'], // a plain line: the forwarder logs it at info (runtime-rs info = PRIORITY 5)
      [JSON.stringify({ msg: forged, level: 'ERRO', name: 'containerd-shim-v2', source: 'virtcontainers' }), '3'],
      [JSON.stringify({ msg: forged, level: 'ERRO', name: 'kata-runtime', source: VICTIM, subsystem: 'sandbox' }), '3'],
    ] as const) {
      const { rec, fired } = run(entry(message, 'agent', priority));
      expect(rec.attributes[ATTR_KATA_LOG_GUEST_CONTROLLED], message).toBe(true);
      expect(fired, message).toEqual([]);
    }
  });

  it('leaves the same text host-trusted, and alerting, under runtime-rs’s own subsystems', () => {
    const { rec, fired } = run(entry(forged, 'sandbox', '3'));
    expect(rec.attributes[ATTR_KATA_LOG_GUEST_CONTROLLED]).toBeUndefined();
    expect(fired).toEqual(['kata-sandbox-start-failed']);
  });

  it('leaves runtime-rs’s own agent-client messages at other levels host-trusted', () => {
    const text = 'connect agent vsock failed: Os { code: 111, kind: ConnectionRefused }';
    const { rec } = run(entry(text, 'agent', '4'));
    expect(rec.attributes[ATTR_KATA_LOG_GUEST_CONTROLLED]).toBeUndefined();
    expect(rec.body).toBe(text);
  });
});
