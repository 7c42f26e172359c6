// Token buckets of the per-sandbox guest rate limit (receiver/sources/ratelimit.ts), on explicit clocks; and
// journalProvenance, the journal writer check (receiver/sources/journald.ts).
import { describe, expect, it } from 'vitest';
import {
  ATTR_KATA_JOURNAL_PID,
  ATTR_KATA_LOG_DROPPED_COUNT,
  ATTR_KATA_LOG_ORIGIN,
  ATTR_KATA_LOG_TRUSTED,
  ATTR_PROCESS_COMMAND,
  ATTR_PROCESS_EXECUTABLE_PATH,
  ATTR_PROCESS_USER_ID,
} from '../../receiver/semconv/generated.js';
import { DEFAULT_JOURNAL_TRUST, journalProvenance } from '../../receiver/sources/journald.js';
import { SandboxRateLimit, TokenBucket } from '../../receiver/sources/ratelimit.js';
import { createLogger } from '../../receiver/telemetry/log.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';

describe('TokenBucket', () => {
  it('allows the burst at once, then the rate', () => {
    const b = new TokenBucket(10, 2, 0);
    let taken = 0;
    for (let i = 0; i < 100; i++) if (b.take(1, 0)) taken++;
    expect(taken).toBe(20);
    expect(b.take(1, 50)).toBe(false); // half a token
    expect(b.take(1, 100)).toBe(true);
    let later = 0;
    for (let i = 0; i < 100; i++) if (b.take(1, 10_000)) later++;
    expect(later).toBe(20); // refilled to the burst, not beyond
  });

  it('a rate of 0 is unlimited', () => {
    const b = new TokenBucket(0, 1, 0);
    for (let i = 0; i < 1000; i++) expect(b.take(1_000_000, 0)).toBe(true);
  });
});

describe('SandboxRateLimit', () => {
  it('drops over the limit, counts per sandbox, logs, and tells the next record how many went', () => {
    const metrics = new Metrics();
    const logs: Array<Record<string, unknown>> = [];
    const log = createLogger({ level: 'debug', write: (l) => logs.push(JSON.parse(l) as Record<string, unknown>) });
    const limit = new SandboxRateLimit(
      { recordsPerSecond: 5, bytesPerSecond: 0, burstSeconds: 1, reportIntervalMs: 60_000 },
      { source: 'vsock', sandbox: 'sb1', metrics, log },
    );
    const admitted = Array.from({ length: 25 }, (_, i) => limit.admit({ kind: 'text', text: `l${i}` }, 2)).filter(
      (e) => e !== undefined,
    );
    expect(admitted).toHaveLength(5);
    expect(admitted.every((e) => e.attributes?.[ATTR_KATA_LOG_DROPPED_COUNT] === undefined)).toBe(true);
    expect(logs.filter((l) => String(l['msg']).includes('rate limit'))).toHaveLength(1);
    limit.report();
    expect(logs.filter((l) => String(l['msg']).includes('rate limit')).map((l) => l['dropped'])).toEqual([1, 19]);
    return metrics.text().then((text) => {
      expect(text).toContain('kata_otel_guest_records_dropped_total{source="vsock",sandbox="sb1"} 20');
    });
  });

  it('drops a line larger than the byte budget', () => {
    const limit = new SandboxRateLimit(
      { recordsPerSecond: 0, bytesPerSecond: 100, burstSeconds: 1 },
      { source: 'fifo', sandbox: 'sb', metrics: new Metrics(), log: createLogger({ write: () => undefined }) },
    );
    expect(limit.admit({ kind: 'text', text: 'x' }, 101)).toBeUndefined();
    const next = limit.admit({ kind: 'text', text: 'y' }, 10);
    expect(next?.attributes?.[ATTR_KATA_LOG_DROPPED_COUNT]).toBe(1);
  });
});

describe('journalProvenance', () => {
  const f = (o: Record<string, string>) => journalProvenance(o, DEFAULT_JOURNAL_TRUST);

  it('trusts the shim, containerd and CRI-O by uid 0 and command, executable or unit', () => {
    expect(f({ _UID: '0', _COMM: 'containerd-shim', _EXE: '/usr/local/bin/containerd-shim-kata-v2' })).toEqual({
      [ATTR_KATA_LOG_ORIGIN]: 'journald',
      [ATTR_PROCESS_USER_ID]: 0,
      [ATTR_PROCESS_COMMAND]: 'containerd-shim',
      [ATTR_PROCESS_EXECUTABLE_PATH]: '/usr/local/bin/containerd-shim-kata-v2',
      [ATTR_KATA_LOG_TRUSTED]: true,
    });
    expect(
      f({ _UID: '0', _COMM: 'tokio-runtime-w', _EXE: '/opt/kata/bin/containerd-shim-kata-v2' })[ATTR_KATA_LOG_TRUSTED],
    ).toBe(true);
    expect(f({ _UID: '0', _COMM: 'qemu-system-x86', _SYSTEMD_UNIT: 'containerd.service' })[ATTR_KATA_LOG_TRUSTED]).toBe(
      true,
    );
    expect(f({ _UID: '0', _COMM: 'crio', _PID: '812' })[ATTR_KATA_JOURNAL_PID]).toBe(812);
  });

  it('does not trust a local user, root in a login session, or an entry without journald’s fields', () => {
    expect(
      f({ _UID: '1000', _COMM: 'logger', _EXE: '/usr/bin/logger', _SYSTEMD_UNIT: 'session-3.scope' })[
        ATTR_KATA_LOG_TRUSTED
      ],
    ).toBe(false);
    expect(
      f({ _UID: '1000', _COMM: 'containerd-shim', _SYSTEMD_UNIT: 'containerd.service' })[ATTR_KATA_LOG_TRUSTED],
    ).toBe(false);
    expect(
      f({ _UID: '0', _COMM: 'logger', _EXE: '/usr/bin/logger', _SYSTEMD_UNIT: 'session-1.scope' })[
        ATTR_KATA_LOG_TRUSTED
      ],
    ).toBe(false);
    expect(f({ SYSLOG_IDENTIFIER: 'kata', MESSAGE: 'x' })[ATTR_KATA_LOG_TRUSTED]).toBe(false);
  });
});
