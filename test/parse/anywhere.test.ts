// Issue 12: every real Kata line is read right wherever it was pasted from. One table per category (journal
// prefixes in other locales, a record after any prefix, fragments, who wrote it, guest console userspace),
// lines written in the real shapes with new ids and messages; each row checks component, severity, sandbox,
// container, subsystem, time to the nanosecond and body. Then the property: any valid shim or agent JSON record
// after any printable prefix of up to 200 characters parses to that record's fields.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { parseJournalEntry, parseText } from '../../receiver/parse/index.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_HOST_NAME,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_GUEST_TARGET,
  ATTR_KATA_HYPERVISOR_NAME,
  ATTR_KATA_JOURNAL_IDENTIFIER,
  ATTR_KATA_LOG_CARRIER,
  ATTR_KATA_LOG_FRAGMENT,
  ATTR_KATA_LOG_PARSE_ERROR,
  ATTR_KATA_LOG_PREFIX,
  ATTR_KATA_SANDBOX_ID,
  ATTR_KATA_SUBSYSTEM,
  ATTR_LOG_FILE_NAME,
} from '../../receiver/semconv/generated.js';
import { goQuote } from './helpers.js';

// Read on 2026-01-12 10:31:05 local time: December journal lines without a year are last year's.
const OBSERVED = BigInt(new Date(2026, 0, 12, 10, 31, 5).getTime()) * 1_000_000n;
const ctx = { observedTimeUnixNano: OBSERVED };
const local = (y: number, mo: number, d: number, h: number, mi: number, s: number, ns = 0) =>
  BigInt(new Date(y, mo - 1, d, h, mi, s).getTime()) * 1_000_000n + BigInt(ns);

const SB1 = '7d3f9e21c6a84b0f95e2d1c7a3b6f8e04c2d9a1b7e6f5c4d3a2b1c0f9e8d7c6b';
const SB2 = 'e41b07a9f3c25d68b1a0c9e8d7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8';
const CID = 'a9c04e7b1d2f3e4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a';

interface Want {
  component: string;
  severity: number;
  sandbox?: string;
  container?: string;
  subsystem?: string;
  time: bigint;
  body: string;
  /** Further attributes to check. */
  attrs?: Record<string, unknown>;
}

function check(r: KataLogRecord, w: Want): void {
  const a = r.attributes;
  expect({
    component: a[ATTR_KATA_COMPONENT],
    severity: r.severityNumber,
    sandbox: a[ATTR_KATA_SANDBOX_ID],
    container: a[ATTR_CONTAINER_ID],
    subsystem: a[ATTR_KATA_SUBSYSTEM],
    time: r.timeUnixNano,
    body: r.body,
    error: a[ATTR_KATA_LOG_PARSE_ERROR],
  }).toEqual({
    component: w.component,
    severity: w.severity,
    sandbox: w.sandbox,
    container: w.container,
    subsystem: w.subsystem,
    time: w.time,
    body: w.body,
    error: undefined,
  });
  for (const [k, v] of Object.entries(w.attrs ?? {})) expect(a[k], k).toEqual(v);
}

function table(rows: [string, string, Want][], c = ctx): void {
  for (const [name, line, want] of rows)
    it(name, () => {
      const recs = parseText(line, c);
      expect(recs).toHaveLength(1);
      check(recs[0] as KataLogRecord, want);
    });
}

/** A Go shim record (logrus keys sorted after time/level/msg, as the syslog hook writes them). */
const shim = (time: string, level: string, msg: string, rest: string) =>
  `time="${time}" level=${level} msg=${goQuote(msg)} name=containerd-shim-v2 pid=40912 ${rest}`;

/** A shim record of subsystem `sandbox` and what it parses to. */
function shimCase(
  time: string,
  level: string,
  severity: number,
  msg: string,
  sandbox: string,
  ns: bigint,
): [string, Want] {
  const line = shim(time, level, msg, `sandbox=${sandbox} source=virtcontainers subsystem=sandbox`);
  return [line, { component: 'runtime', severity, sandbox, subsystem: 'sandbox', time: ns, body: msg }];
}

describe('1. journal prefixes in every locale', () => {
  const [rec, started] = shimCase(
    '2025-11-16T09:46:13.402118551+08:00',
    'info',
    9,
    'VM started',
    SB1,
    1_763_257_573_402_118_551n,
  );
  const host = { [ATTR_HOST_NAME]: 'worker-3', [ATTR_KATA_JOURNAL_IDENTIFIER]: 'kata' };
  table([
    ['Chinese/Japanese month', `11月 16 09:46:13 worker-3 kata[40912]: ${rec}`, { ...started, attrs: host }],
    ['Korean month', `11월 16 09:46:13 worker-3 kata[40912]: ${rec}`, { ...started, attrs: host }],
    ['German', `Nov 16 09:46:13 worker-3 kata[40912]: ${rec}`, { ...started, attrs: host }],
    ['French with a dot', `nov. 16 09:46:13 worker-3 kata[40912]: ${rec}`, { ...started, attrs: host }],
    ['Russian', `ноя 16 09:46:13 worker-3 kata[40912]: ${rec}`, { ...started, attrs: host }],
    [
      'a one-digit CJK month after a leading space, year from the read time',
      ` 5月 02 10:00:01 worker-3 kata[40912]: hybrid vsock: failed to connect to /run/kata/${SB2}/kata.hvsock`,
      {
        component: 'runtime',
        severity: 0,
        time: local(2025, 5, 2, 10, 0, 1),
        body: `hybrid vsock: failed to connect to /run/kata/${SB2}/kata.hvsock`,
      },
    ],
    [
      'German December read in January: last year',
      'Dez 31 23:59:58 worker-3 kata[40912]: cleanup sandbox resources',
      { component: 'runtime', severity: 0, time: local(2025, 12, 31, 23, 59, 58), body: 'cleanup sandbox resources' },
    ],
    [
      'Spanish December with the precise clock, Russian December: last year too',
      'dic 30 08:00:00.250001 worker-3 kata[40912]: stop monitor',
      { component: 'runtime', severity: 0, time: local(2025, 12, 30, 8, 0, 0, 250_001_000), body: 'stop monitor' },
    ],
    [
      'Russian December, the record has its own time: its year wins',
      `дек 31 23:59:59 worker-3 kata[40912]: ${shim('2024-12-31T23:59:59.999999999Z', 'warning', 'late', `sandbox=${SB1} source=virtcontainers subsystem=qemu`)}`,
      {
        component: 'runtime',
        severity: 13,
        sandbox: SB1,
        subsystem: 'qemu',
        time: 1_735_689_599_999_999_999n,
        body: 'late',
      },
    ],
  ]);
});

describe('2. a Kata record after any prefix', () => {
  const [r, failed] = shimCase(
    '2026-01-04T10:02:11.000912004Z',
    'error',
    17,
    'failed to start VM',
    SB2,
    1_767_520_931_000_912_004n,
  );
  const created: Want = {
    component: 'agent',
    severity: 9,
    container: CID,
    subsystem: 'rpc',
    time: 1_767_520_932_123_456_789n,
    body: 'create container',
  };
  const esc = (t: string) => JSON.stringify(t).slice(1, -1);
  const agent = `{"msg":"create container","level":"INFO","ts":"2026-01-04T10:02:12.123456789Z","pid":"1","subsystem":"rpc","name":"kata-agent","source":"agent","cid":"${CID}"}`;
  table([
    [
      "a paste's line number",
      `412 Jan 04 10:02:11 worker-7 kata[3120]: ${r}`,
      { ...failed, attrs: { [ATTR_KATA_LOG_PREFIX]: '412 Jan 04 10:02:11 worker-7 kata[3120]: ' } },
    ],
    ['a bare clock time', `10:02:11 ${r}`, { ...failed, attrs: { [ATTR_KATA_LOG_PREFIX]: '10:02:11 ' } }],
    ['a truncated journal prefix', `ec  3 10:02:11 worker-7 kata[3120]: ${r}`, failed],
    [
      'a hostname without the ident[pid] form',
      `worker-7 ${r}`,
      { ...failed, attrs: { [ATTR_KATA_LOG_PREFIX]: 'worker-7 ' } },
    ],
    [
      "a relay's wrapper with JSON-escaped quotes",
      `relay-1: {"content": level=warning msg=\\"Stopping VM\\" name=containerd-shim-v2 pid=5120 sandbox=${SB1} source=virtcontainers subsystem=qemu time=\\"2026-02-01T11:00:00.123456789Z\\"}`,
      {
        component: 'runtime',
        severity: 13,
        sandbox: SB1,
        subsystem: 'qemu',
        time: 1_769_943_600_123_456_789n,
        body: 'Stopping VM',
        attrs: { [ATTR_KATA_LOG_PREFIX]: 'relay-1: {"content": ', [ATTR_KATA_HYPERVISOR_NAME]: 'qemu' },
      },
    ],
    [
      'a JSON field dump (MESSAGE)',
      `"MESSAGE":"${esc(r)}","PRIORITY":"3","_PID":"3120"`,
      { ...failed, attrs: { [ATTR_KATA_LOG_PREFIX]: '"MESSAGE":"' } },
    ],
    [
      'a JSON field dump (SYSLOG_RAW with PRI and journal prefix)',
      `"SYSLOG_RAW":"${esc(`<3>Jan  4 10:02:11 kata[3120]: ${r}`)}\\n"`,
      { ...failed, attrs: { [ATTR_KATA_JOURNAL_IDENTIFIER]: 'kata', [ATTR_KATA_LOG_PREFIX]: '"SYSLOG_RAW":"' } },
    ],
    ['agent JSON after a collector prefix', `2026-01-04 10:02:12,130 stdout F ${agent}`, created],
    ['agent JSON escaped inside a JSON string', `{"log":"x ${esc(agent)}\\n","stream":"stderr"`, created],
    [
      'a record after a kernel-looking prefix',
      `[ 1204.554] ${r}`,
      { ...failed, attrs: { [ATTR_KATA_LOG_PREFIX]: '[ 1204.554] ' } },
    ],
  ]);
});

describe('3. fragments of wrapped records', () => {
  table([
    [
      'the trailing pairs of a shim record',
      `pid=4411 sandbox=${SB1} source=virtcontainers subsystem=kata_agent`,
      {
        component: 'runtime',
        severity: 0,
        sandbox: SB1,
        subsystem: 'kata_agent',
        time: 0n,
        body: `pid=4411 sandbox=${SB1} source=virtcontainers subsystem=kata_agent`,
        attrs: { [ATTR_KATA_LOG_FRAGMENT]: true },
      },
    ],
    [
      'starting mid-value',
      `ing down the sandbox" container=${CID} name=containerd-shim-v2 pid=4411 sandbox=${SB2} source=virtcontainers subsystem=container`,
      {
        component: 'runtime',
        severity: 0,
        sandbox: SB2,
        container: CID,
        subsystem: 'container',
        time: 0n,
        body: `ing down the sandbox" container=${CID} name=containerd-shim-v2 pid=4411 sandbox=${SB2} source=virtcontainers subsystem=container`,
        attrs: { [ATTR_KATA_LOG_FRAGMENT]: true },
      },
    ],
    [
      'a fragment after a journal prefix takes the prefix time',
      `Jan 12 08:31:02 worker-3 kata[4411]: 9f2c0e1d source=virtcontainers subsystem=network sandbox=${SB1}`,
      {
        component: 'runtime',
        severity: 0,
        sandbox: SB1,
        subsystem: 'network',
        time: local(2026, 1, 12, 8, 31, 2),
        body: `9f2c0e1d source=virtcontainers subsystem=network sandbox=${SB1}`,
        attrs: { [ATTR_KATA_LOG_FRAGMENT]: true },
      },
    ],
  ]);

  it('text with a stray = is not a fragment', () => {
    const [r] = parseText('cpu usage=93% on node worker-3', ctx);
    expect(r?.attributes[ATTR_KATA_LOG_FRAGMENT]).toBeUndefined();
    expect(r?.attributes[ATTR_KATA_LOG_PARSE_ERROR]).toBe('unrecognised line');
  });
});

describe('4. who wrote it', () => {
  table([
    [
      'virtiofsd re-logged by the shim is virtiofsd, whatever the subsystem',
      shim(
        '2026-01-12T08:31:03.5Z',
        'warning',
        'virtio_session_mount: Waiting for vhost-user socket connection...',
        `sandbox=${SB1} source=virtiofsd subsystem=hypervisor`,
      ),
      {
        component: 'virtiofsd',
        severity: 13,
        sandbox: SB1,
        subsystem: 'hypervisor',
        time: 1_768_206_663_500_000_000n,
        body: 'virtio_session_mount: Waiting for vhost-user socket connection...',
      },
    ],
    [
      "the runtime's hypervisor driver is the runtime, naming the hypervisor",
      shim(
        '2026-01-12T08:31:04.000000001Z',
        'error',
        'QEMU exited with an error',
        `error="exit status 1" sandbox=${SB1} source=virtcontainers/hypervisor subsystem=qemu`,
      ),
      {
        component: 'runtime',
        severity: 17,
        sandbox: SB1,
        subsystem: 'qemu',
        time: 1_768_206_664_000_000_001n,
        body: 'QEMU exited with an error',
        attrs: { [ATTR_KATA_HYPERVISOR_NAME]: 'qemu' },
      },
    ],
    [
      "QEMU's own stderr re-logged by the shim is the hypervisor",
      `${shim('2026-01-12T08:31:04.2Z', 'error', 'qemu-system-x86_64: -device vhost-vsock-pci: vhost-vsock: unable to set guest cid', `qemuPid=88120 sandbox=${SB1} source=virtcontainers/hypervisor subsystem=qemu`)}`,
      {
        component: 'hypervisor',
        severity: 17,
        sandbox: SB1,
        subsystem: 'qemu',
        time: 1_768_206_664_200_000_000n,
        body: 'qemu-system-x86_64: -device vhost-vsock-pci: vhost-vsock: unable to set guest cid',
      },
    ],
    [
      'a kata-hypervisor journal line with the CH level',
      'Jan 12 08:31:02 worker-3 kata-hypervisor[5521]: cloud-hypervisor: 12.345678s: <vmm> WARN:vmm/src/vm.rs:1520 -- Failed to set TDX memory',
      {
        component: 'hypervisor',
        severity: 13,
        time: local(2026, 1, 12, 8, 31, 2),
        body: 'Failed to set TDX memory',
        attrs: { [ATTR_KATA_HYPERVISOR_NAME]: 'cloud-hypervisor' },
      },
    ],
    [
      'a kata-hypervisor journal line in no known format',
      'Jan 12 08:31:02 worker-3 kata-hypervisor[5521]: vhost-user-fs backend disconnected',
      {
        component: 'hypervisor',
        severity: 0,
        time: local(2026, 1, 12, 8, 31, 2),
        body: 'vhost-user-fs backend disconnected',
      },
    ],
  ]);
  const cli = { observedTimeUnixNano: OBSERVED, attributes: { [ATTR_LOG_FILE_NAME]: 'kata-runtime-check.log' } };
  table(
    [
      [
        'ERROR:',
        'ERROR: System is not capable of running Kata Containers',
        { component: 'runtime', severity: 17, time: 0n, body: 'System is not capable of running Kata Containers' },
      ],
      [
        'Error:',
        'Error: open /etc/kata-containers/configuration.toml: no such file or directory',
        {
          component: 'runtime',
          severity: 17,
          time: 0n,
          body: 'open /etc/kata-containers/configuration.toml: no such file or directory',
        },
      ],
      [
        'FATAL:',
        'FATAL: kvm module not loaded',
        { component: 'runtime', severity: 21, time: 0n, body: 'kvm module not loaded' },
      ],
    ],
    cli,
  );
});

/** A Kata 1.x kata-proxy line re-logging guest console text (`msg` already Go-quoted as written). */
const proxy = (time: string, quotedMsg: string) =>
  `time="${time}" level=info msg="${quotedMsg}" name=kata-proxy pid=21770 sandbox=${SB2} source=agent`;
const fromProxy = (time: bigint, body: string, attrs: Record<string, unknown>): Want => ({
  component: 'guest-kernel',
  severity: 9,
  sandbox: SB2,
  time,
  body,
  attrs,
});

describe('5. guest console output that is not the kernel', () => {
  const console = (inner: string) =>
    shim(
      '2026-01-12T08:31:02.118532907Z',
      'debug',
      'reading guest console',
      `sandbox=${SB1} source=virtcontainers subsystem=sandbox vmconsole=${goQuote(inner)}`,
    );
  const guest = (rest: Partial<Want>): Want => ({
    component: 'guest-kernel',
    severity: 9,
    sandbox: SB1,
    time: 0n,
    body: '',
    ...rest,
  });
  table([
    [
      'env_logger line (attestation-agent) in vmconsole',
      console('[2026-01-12T08:31:04Z INFO  attestation_agent::rpc::getresource] Get resource request from CDH'),
      guest({
        time: 1_768_206_664_000_000_000n,
        body: 'Get resource request from CDH',
        attrs: {
          [ATTR_KATA_GUEST_TARGET]: 'attestation_agent::rpc::getresource',
          [ATTR_KATA_LOG_CARRIER]: 'vmconsole',
        },
      }),
    ],
    [
      'coloured tracing line (confidential-data-hub) in vmconsole',
      console(
        '\x1b[2m2026-01-12T08:31:05.004211Z\x1b[0m \x1b[31mERROR\x1b[0m \x1b[2mconfidential_data_hub::hub\x1b[0m\x1b[2m:\x1b[0m unwrap key failed',
      ),
      guest({
        severity: 17,
        time: 1_768_206_665_004_211_000n,
        body: 'unwrap key failed',
        attrs: { [ATTR_KATA_GUEST_TARGET]: 'confidential_data_hub::hub' },
      }),
    ],
    [
      "systemd's coloured status in vmconsole",
      console('[\x1b[0;32m  OK  \x1b[0m] Started Journal Service.'),
      guest({
        time: 1_768_206_662_118_532_907n,
        body: 'Started Journal Service.',
        attrs: { [ATTR_KATA_GUEST_TARGET]: 'systemd' },
      }),
    ],
    [
      "systemd's FAILED status",
      console('[\x1b[0;1;31mFAILED\x1b[0m] Failed to start Network Name Resolution.'),
      guest({
        severity: 17,
        time: 1_768_206_662_118_532_907n,
        body: 'Failed to start Network Name Resolution.',
        attrs: { [ATTR_KATA_GUEST_TARGET]: 'systemd' },
      }),
    ],
    [
      'Kata 1.x proxy re-log with a kernel timestamp',
      proxy('2020-03-09T14:05:22.61793Z', '[    2.871620] virtio_net virtio1 eth0: renamed\\n'),
      fromProxy(1_583_762_722_617_930_000n, 'virtio_net virtio1 eth0: renamed', {
        [ATTR_KATA_LOG_CARRIER]: 'kata-proxy',
      }),
    ],
    [
      "Kata 1.x proxy re-log of systemd's coloured [  OK  ]",
      proxy('2020-03-09T14:05:23.0002Z', '[\\x1b[0;32m  OK  \\x1b[0m] Reached target Basic System.\\n'),
      fromProxy(1_583_762_723_000_200_000n, 'Reached target Basic System.', { [ATTR_KATA_GUEST_TARGET]: 'systemd' }),
    ],
  ]);

  it('runtime-rs vm console with Rust escapes and colours (journald record)', () => {
    const [r] = parseJournalEntry(
      {
        MESSAGE:
          'vm console: "\\u{1b}[2m2026-01-12T08:31:06.5Z\\u{1b}[0m \\u{1b}[33m WARN\\u{1b}[0m \\u{1b}[2mimage_rs::pull\\u{1b}[0m\\u{1b}[2m:\\u{1b}[0m retry pulling \\"registry.local/app:1\\""',
        SYSLOG_IDENTIFIER: 'kata',
        _TRANSPORT: 'journal',
        SOURCE: SB2,
        SUBSYSTEM: 'hypervisor',
        NAME: 'kata-runtime',
        PRIORITY: '6',
        __REALTIME_TIMESTAMP: '1768206666600000',
      },
      ctx,
    );
    check(r as KataLogRecord, {
      component: 'guest-kernel',
      severity: 13,
      sandbox: SB2,
      time: 1_768_206_666_500_000_000n,
      body: 'retry pulling "registry.local/app:1"',
      attrs: { [ATTR_KATA_GUEST_TARGET]: 'image_rs::pull', [ATTR_KATA_LOG_CARRIER]: 'runtime-rs' },
    });
  });
});

describe('property: a shim or agent record after any printable prefix of up to 200 characters', () => {
  const LEVELS: [string, number][] = [
    ['debug', 5],
    ['info', 9],
    ['warning', 13],
    ['error', 17],
  ];
  const hex = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 });
  const prefix = fc.string({ maxLength: 200 }); // printable ASCII
  const time = fc.record({
    s: fc.integer({ min: 1_600_000_000, max: 1_900_000_000 }),
    ns: fc.integer({ min: 0, max: 999_999_999 }),
  });
  const iso = (t: { s: number; ns: number }) =>
    `${new Date(t.s * 1000).toISOString().slice(0, 19)}.${String(t.ns).padStart(9, '0')}Z`;
  const nanos = (t: { s: number; ns: number }) => BigInt(t.s) * 1_000_000_000n + BigInt(t.ns);
  const message = fc.string({ minLength: 1, maxLength: 60 }).filter((m) => m.trim() === m && m.length > 0);

  it('shim logfmt records, keys in any order', () => {
    fc.assert(
      fc.property(
        prefix,
        hex,
        time,
        fc.constantFrom(...LEVELS),
        message,
        fc.integer({ min: 0, max: 5 }),
        (p, sb, t, [lv, sev], msg, rot) => {
          const pairs = [
            `time="${iso(t)}"`,
            `level=${lv}`,
            `msg=${goQuote(msg)}`,
            `sandbox=${sb}`,
            'source=virtcontainers',
            'subsystem=sandbox',
          ];
          const rec = [...pairs.slice(rot), ...pairs.slice(0, rot)].join(' ');
          // A record whose first key is not time/level/msg needs a space before it (else that key runs into the
          // prefix: `abcsandbox=…` is a key `abcsandbox`).
          const sep = /^(time|level|msg)=/.test(rec) ? '' : ' ';
          const [r] = parseText(`${p}${sep}${rec}`, ctx);
          expect(r?.body).toBe(msg);
          expect(r?.severityNumber).toBe(sev);
          expect(r?.timeUnixNano).toBe(nanos(t));
          expect(r?.attributes[ATTR_KATA_SANDBOX_ID]).toBe(sb);
          expect(r?.attributes[ATTR_KATA_SUBSYSTEM]).toBe('sandbox');
          expect(r?.attributes[ATTR_KATA_COMPONENT]).toBe('runtime');
        },
      ),
      { numRuns: Number(process.env.KATA_FC_RUNS ?? 400) },
    );
  });

  it('agent slog JSON records', () => {
    fc.assert(
      fc.property(
        prefix,
        hex,
        time,
        fc.constantFrom(['INFO', 9], ['WARN', 13], ['ERRO', 17], ['DEBG', 5]),
        message,
        (p, cid, t, [lv, sev], msg) => {
          const rec = JSON.stringify({
            msg,
            level: lv,
            ts: iso(t),
            pid: '1',
            subsystem: 'rpc',
            name: 'kata-agent',
            source: 'agent',
            cid,
          });
          const [r] = parseText(`${p}${rec}`, ctx);
          expect(r?.body).toBe(msg);
          expect(r?.severityNumber).toBe(sev);
          expect(r?.timeUnixNano).toBe(nanos(t));
          expect(r?.attributes[ATTR_CONTAINER_ID]).toBe(cid);
          expect(r?.attributes[ATTR_KATA_COMPONENT]).toBe('agent');
        },
      ),
      { numRuns: Number(process.env.KATA_FC_RUNS ?? 400) },
    );
  });
});
