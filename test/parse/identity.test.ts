// The identity rule (issue 11 item 3, docs/architecture.md): text written by the guest and carried by a host
// component that already names the sandbox (the Go shim's `vmconsole=`/`contents=` records, a Kata 1.x
// kata-proxy re-log, a runtime-rs re-log) never changes that sandbox or container id, and neither text changes a
// sandbox id the source put in the ParseContext (vsock socket path, FIFO path). A different claim is kept, as
// written, in `kata.field.sandbox` / `kata.field.container`.
import { describe, expect, it } from 'vitest';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { parseJournalEntry } from '../../receiver/parse/index.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_FIELD,
  ATTR_KATA_LOG_CARRIER,
  ATTR_KATA_SANDBOX_ID,
} from '../../receiver/semconv/generated.js';
import { ctx, goQuote, one } from './helpers.js';

const REAL = '5e1f0c2a9d3b4e6f8a7c1b2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';
const SPOOF = 'aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00';
const FIELD_SANDBOX = ATTR_KATA_FIELD('sandbox');
const FIELD_CONTAINER = ATTR_KATA_FIELD('container');

/** The Go shim's console watcher record (containerd relay shape of 2025) carrying one guest console line. */
const vmconsole = (inner: string, extra = '') =>
  `time="2026-01-12T08:31:02.118532907Z" level=debug msg="reading guest console" name=containerd-shim-v2 pid=40912 sandbox=${REAL} source=virtcontainers subsystem=sandbox${extra} vmconsole=${goQuote(inner)}`;

/** An agent slog record as a guest could forge it. */
const agent = (fields: string) =>
  `{"msg":"rpc call","level":"INFO","ts":"2026-01-12T08:31:02.120004511Z","pid":"1","version":"0.1.0","subsystem":"rpc","name":"kata-agent","source":"agent"${fields}}`;

/** A runtime-rs (< 3.20) slog record: `source` is the sandbox id. */
const runtimeRs = (msg: string) =>
  `{"msg":${JSON.stringify(msg)},"level":"INFO","ts":"2026-01-12T08:31:05.500000001Z","pid":"2211","name":"kata-runtime","source":"${REAL}","subsystem":"hypervisor"}`;

function identity(r: KataLogRecord) {
  const a = r.attributes;
  return {
    sandbox: a[ATTR_KATA_SANDBOX_ID],
    claimed: a[FIELD_SANDBOX],
    container: a[ATTR_CONTAINER_ID],
    claimedContainer: a[FIELD_CONTAINER],
  };
}

describe('a carrier that names the sandbox keeps it over the guest text it carries', () => {
  const cases: [string, string, { component?: string; carrier: string }][] = [
    [
      'vmconsole carrying agent JSON that claims another sandbox',
      vmconsole(agent(`,"sandbox":"${SPOOF}"`)),
      { component: 'agent', carrier: 'vmconsole' },
    ],
    [
      'vmconsole carrying a logfmt line that claims another sandbox',
      vmconsole(`time="2026-01-12T08:31:02.2Z" level=error msg="policy allows everything" sandbox=${SPOOF}`),
      { carrier: 'vmconsole' },
    ],
    [
      'vmconsole nested in vmconsole (the inner shim record names another sandbox)',
      vmconsole(vmconsole(agent('')).replace(REAL, SPOOF)),
      { component: 'agent', carrier: 'vmconsole' },
    ],
    [
      'Kata 1.x kata-proxy re-log',
      `time="2026-01-12T08:31:03.4Z" level=info msg=${goQuote(`time="2026-01-12T08:31:03.39Z" level=info msg="exec started" name=kata-agent pid=1 sandbox=${SPOOF} source=agent\n`)} name=kata-proxy pid=3990 sandbox=${REAL} source=agent`,
      { component: 'agent', carrier: 'kata-proxy' },
    ],
    [
      'Firecracker FIFO contents naming another instance',
      `time="2026-01-12T08:31:04Z" level=debug msg="read firecracker fifo" contents=${goQuote(`2026-01-12T08:31:04.000123456 [${SPOOF}:fc_vcpu 0:WARN:src/vmm.rs:88] vcpu exit`)} sandbox=${REAL} source=virtcontainers subsystem=firecracker`,
      { component: 'hypervisor', carrier: 'firecracker-fifo' },
    ],
    [
      'runtime-rs forwarding agent JSON',
      runtimeRs(agent(`,"sandbox":"${SPOOF}"`)),
      { component: 'agent', carrier: 'runtime-rs' },
    ],
    [
      'runtime-rs vm console carrying a logfmt line',
      runtimeRs(`vm console: "time=\\"2026-01-12T08:31:05Z\\" level=info msg=boot sandbox=${SPOOF}"`),
      { carrier: 'runtime-rs' },
    ],
  ];
  for (const [name, line, want] of cases) {
    it(name, () => {
      const r = one(line);
      expect(identity(r)).toMatchObject({ sandbox: REAL, claimed: SPOOF });
      if (want.component !== undefined) expect(r.attributes[ATTR_KATA_COMPONENT]).toBe(want.component);
      expect(r.attributes[ATTR_KATA_LOG_CARRIER]).toBe(want.carrier);
    });
  }

  it('the carrier container id wins too, the claim kept', () => {
    const r = one(vmconsole(agent(`,"cid":"c-guest","sandbox":"${REAL}"`), ' container=c-host'));
    expect(identity(r)).toEqual({
      sandbox: REAL,
      claimed: undefined,
      container: 'c-host',
      claimedContainer: 'c-guest',
    });
  });

  it('a carried record that names the same sandbox, or none, has no claim', () => {
    expect(identity(one(vmconsole(agent(`,"sandbox":"${REAL}"`))))).toEqual({
      sandbox: REAL,
      claimed: undefined,
      container: undefined,
      claimedContainer: undefined,
    });
    expect(
      identity(one(vmconsole('[    1.204417] virtio_blk virtio2: [vda] 2097152 512-byte logical blocks'))),
    ).toEqual({ sandbox: REAL, claimed: undefined, container: undefined, claimedContainer: undefined });
  });

  it('without a carrier, a record names its own sandbox', () => {
    expect(identity(one(agent(`,"sandbox":"${SPOOF}"`)))).toMatchObject({ sandbox: SPOOF, claimed: undefined });
  });
});

describe('a sandbox id in the ParseContext wins over any sandbox in the text', () => {
  const vsock = ctx({ attributes: { [ATTR_KATA_SANDBOX_ID]: REAL, [ATTR_KATA_LOG_CARRIER]: 'vsock' } });

  it('agent JSON read from the sandbox vsock claiming another sandbox', () => {
    const r = one(agent(`,"sandbox":"${SPOOF}"`), vsock);
    expect(identity(r)).toMatchObject({ sandbox: REAL, claimed: SPOOF });
  });

  it('a shim record in the text naming another sandbox, and the guest line it carries', () => {
    const line = vmconsole(agent(`,"sandbox":"${SPOOF}"`)).replace(`sandbox=${REAL}`, 'sandbox=bb11');
    expect(identity(one(line, vsock))).toMatchObject({ sandbox: REAL, claimed: SPOOF });
    expect(identity(one(line.replace('vmconsole=', 'other='), vsock))).toMatchObject({
      sandbox: REAL,
      claimed: 'bb11',
    });
  });

  it('a journald entry whose runtime-rs SOURCE names another sandbox', () => {
    const [r] = parseJournalEntry(
      {
        MESSAGE: 'Start sandbox',
        SYSLOG_IDENTIFIER: 'kata',
        _TRANSPORT: 'journal',
        SOURCE: SPOOF,
        SUBSYSTEM: 'sandbox',
        PRIORITY: '5',
        __REALTIME_TIMESTAMP: '1768206665000000',
      },
      vsock,
    );
    expect(identity(r as KataLogRecord)).toMatchObject({ sandbox: REAL, claimed: SPOOF });
  });
});
