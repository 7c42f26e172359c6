// journald entries: the Go shim through syslog, containerd's copy, runtime-rs ≥ 3.20 native records, and what
// runtime-rs forwards. The last group writes a real journal file (systemd-journal-remote) and reads it back with
// journalctl -o json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { parseJournalEntry, parseText } from '../../receiver/parse/index.js';
import {
  ATTR_CODE_FILE_PATH,
  ATTR_CODE_FUNCTION_NAME,
  ATTR_CODE_LINE_NUMBER,
  ATTR_CONTAINER_ID,
  ATTR_HOST_NAME,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_FIELD,
  ATTR_KATA_HYPERVISOR_NAME,
  ATTR_KATA_JOURNAL_CURSOR,
  ATTR_KATA_JOURNAL_IDENTIFIER,
  ATTR_KATA_JOURNAL_UNIT,
  ATTR_KATA_LOG_CARRIER,
  ATTR_KATA_LOG_FORMAT,
  ATTR_KATA_LOG_PARSE_ERROR,
  ATTR_KATA_NAME,
  ATTR_KATA_SANDBOX_ID,
  ATTR_KATA_SOURCE,
  ATTR_KATA_SUBSYSTEM,
  ATTR_LOG_RECORD_ORIGINAL,
  ATTR_PROCESS_PID,
} from '../../receiver/semconv/generated.js';
import { CORPUS, ctx, one } from './helpers.js';

const entry = (f: Record<string, unknown>, keepOriginal = false): KataLogRecord => {
  const recs = parseJournalEntry(f, ctx({ keepOriginal }));
  expect(recs).toHaveLength(1);
  return recs[0] as KataLogRecord;
};

const SHM =
  'time="2021-05-17T19:43:30.6520286-07:00" level=info msg="shm-size detected: 67108864" source=virtcontainers subsystem=oci';
const base = {
  __CURSOR: 's=abc;i=1',
  __REALTIME_TIMESTAMP: '1621305810652100',
  _HOSTNAME: 'raisin',
  _SYSTEMD_UNIT: 'containerd.service',
};

describe('parseJournalEntry', () => {
  it('Go shim through syslog: inner time and level, journal carrier attributes', () => {
    const r = entry(
      {
        ...base,
        _TRANSPORT: 'syslog',
        PRIORITY: '6',
        SYSLOG_IDENTIFIER: 'kata',
        SYSLOG_PID: '1614807',
        _PID: '1614807',
        MESSAGE: SHM,
      },
      true,
    );
    expect(r.timeUnixNano).toBe(1_621_305_810_652_028_600n);
    expect(r.severityText).toBe('info');
    expect(r.attributes).toMatchObject({
      [ATTR_KATA_COMPONENT]: 'runtime',
      [ATTR_KATA_LOG_FORMAT]: 'logfmt',
      [ATTR_HOST_NAME]: 'raisin',
      [ATTR_KATA_JOURNAL_IDENTIFIER]: 'kata',
      [ATTR_KATA_JOURNAL_UNIT]: 'containerd.service',
      [ATTR_KATA_JOURNAL_CURSOR]: 's=abc;i=1',
      [ATTR_PROCESS_PID]: 1614807,
      [ATTR_KATA_SUBSYSTEM]: 'oci',
      [ATTR_LOG_RECORD_ORIGINAL]: SHM,
    });
  });

  it("containerd's copy: no containerd pid on the shim's record", () => {
    const r = entry({ ...base, SYSLOG_IDENTIFIER: 'containerd', _PID: '1614424', PRIORITY: '6', MESSAGE: SHM });
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('runtime');
    expect(r.attributes[ATTR_PROCESS_PID]).toBeUndefined();
  });

  it('time falls back to _SOURCE_REALTIME_TIMESTAMP, then __REALTIME_TIMESTAMP; severity to PRIORITY', () => {
    const src = entry({
      ...base,
      _SOURCE_REALTIME_TIMESTAMP: '1582281087810805',
      SYSLOG_IDENTIFIER: 'virtiofsd',
      PRIORITY: '3',
      MESSAGE: 'fuse: bad mount',
    });
    expect(src.timeUnixNano).toBe(1_582_281_087_810_805_000n);
    expect(src.severityNumber).toBe(17);
    expect(src.severityText).toBe('3');
    expect(src.attributes[ATTR_KATA_COMPONENT]).toBe('virtiofsd');
    const rt = entry({ ...base, SYSLOG_IDENTIFIER: 'virtiofsd', MESSAGE: 'x' });
    expect(rt.timeUnixNano).toBe(1_621_305_810_652_100_000n);
  });

  it('MESSAGE as an array of bytes', () => {
    const r = entry({ ...base, SYSLOG_IDENTIFIER: 'kata', MESSAGE: [...Buffer.from(SHM + '\x1b')] });
    expect(r.body).toBe('shm-size detected: 67108864');
  });

  it('runtime-rs ≥ 3.20 native record: fields carry the structure, its PRIORITY is one step shifted', () => {
    const r = entry({
      ...base,
      _TRANSPORT: 'journal',
      SYSLOG_IDENTIFIER: 'kata',
      PRIORITY: '5',
      MESSAGE: 'resource clean up',
      SUBSYSTEM: 'virt-container',
      NAME: 'kata-runtime',
      SOURCE: '5463a0b1',
      PID: '3327263',
      VERSION: '0.1.0',
      COMPONENT: 'runtimes',
      CONTAINER_ID: 'c1',
      CODE_FILE: 'crates/runtimes/src/manager.rs',
      CODE_LINE: '120',
      CODE_FUNCTION: 'cleanup',
      CODE_MODULE: 'runtimes::manager',
    });
    expect(r.body).toBe('resource clean up');
    expect(r.severityNumber).toBe(9); // info (journald 5)
    expect(r.severityText).toBe('5');
    expect(r.timeUnixNano).toBe(1_621_305_810_652_100_000n);
    expect(r.attributes).toMatchObject({
      [ATTR_KATA_COMPONENT]: 'runtime',
      [ATTR_KATA_LOG_FORMAT]: 'journald',
      [ATTR_KATA_SUBSYSTEM]: 'virt-container',
      [ATTR_KATA_NAME]: 'kata-runtime',
      [ATTR_KATA_SOURCE]: '5463a0b1',
      [ATTR_KATA_SANDBOX_ID]: '5463a0b1',
      [ATTR_PROCESS_PID]: 3327263,
      [ATTR_CONTAINER_ID]: 'c1',
      [ATTR_KATA_FIELD('version')]: '0.1.0',
      [ATTR_KATA_FIELD('component')]: 'runtimes',
      [ATTR_KATA_FIELD('code_module')]: 'runtimes::manager',
      [ATTR_CODE_FILE_PATH]: 'crates/runtimes/src/manager.rs',
      [ATTR_CODE_LINE_NUMBER]: 120,
      [ATTR_CODE_FUNCTION_NAME]: 'cleanup',
    });
    expect(
      entry({
        ...base,
        _TRANSPORT: 'journal',
        SYSLOG_IDENTIFIER: 'kata',
        PRIORITY: '6',
        MESSAGE: 'x',
        NAME: 'kata-runtime',
      }).severityNumber,
    ).toBe(5);
  });

  it('runtime-rs forwarded agent JSON: the agent record, its own time and level', () => {
    const r = entry({
      ...base,
      _TRANSPORT: 'journal',
      SYSLOG_IDENTIFIER: 'kata',
      PRIORITY: '4',
      SUBSYSTEM: 'agent',
      COMPONENT: 'agent',
      NAME: 'kata-runtime',
      SOURCE: '5463a0b1',
      MESSAGE:
        '{"msg":"policy: ignoring error for CreateContainerRequest","level":"WARN","ts":"2025-11-20T16:05:09.374408769Z","source":"agent","subsystem":"policy","name":"kata-agent","pid":"1"}',
    });
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('agent');
    expect(r.attributes[ATTR_KATA_LOG_CARRIER]).toBe('runtime-rs');
    expect(r.attributes[ATTR_KATA_SANDBOX_ID]).toBe('5463a0b1');
    expect(r.attributes[ATTR_KATA_SUBSYSTEM]).toBe('policy');
    expect(r.timeUnixNano).toBe(1_763_654_709_374_408_769n);
    expect(r.severityText).toBe('WARN');
    expect(r.attributes[ATTR_KATA_JOURNAL_CURSOR]).toBe('s=abc;i=1');
  });

  it('runtime-rs Cloud Hypervisor line (STREAM) and qemu stderr', () => {
    const ch = entry({
      ...base,
      _TRANSPORT: 'journal',
      SYSLOG_IDENTIFIER: 'kata',
      PRIORITY: '5',
      NAME: 'kata-runtime',
      SOURCE: 'sb',
      SUBSYSTEM: 'cloud-hypervisor',
      STREAM: 'stderr',
      MESSAGE: '"cloud-hypervisor: 3.1ms: <vmm> DEBUG:vmm/src/lib.rs:1 -- hello"',
    });
    expect(ch.severityNumber).toBe(5);
    expect(ch.attributes[ATTR_KATA_HYPERVISOR_NAME]).toBe('cloud-hypervisor');
    expect(ch.attributes[ATTR_KATA_SANDBOX_ID]).toBe('sb');
    const q = entry({
      ...base,
      _TRANSPORT: 'journal',
      SYSLOG_IDENTIFIER: 'kata',
      NAME: 'kata-runtime',
      SOURCE: 'sb',
      MESSAGE: 'qemu stderr: "qemu-system-x86_64: oops"',
    });
    expect(q.attributes[ATTR_KATA_COMPONENT]).toBe('hypervisor');
    expect(q.severityNumber).toBe(17);
  });

  it('never throws on odd fields', () => {
    const r = entry({ MESSAGE: null, PRIORITY: [1, 2], __REALTIME_TIMESTAMP: 'x', _PID: {} });
    expect(r.body).toBe('');
    expect(r.attributes[ATTR_KATA_LOG_PARSE_ERROR]).toBe('empty line');
  });

  it('the same object as text (corpus journald record)', () => {
    const text = readFileSync(new URL('journald-record-kata-runtime.json', CORPUS), 'utf8');
    const fromText = one(text);
    const fromObject = entry(JSON.parse(text) as Record<string, unknown>);
    expect(fromText).toEqual(fromObject);
    expect(fromText.attributes[ATTR_KATA_JOURNAL_UNIT]).toBe('crio.service');
    expect(fromText.attributes[ATTR_HOST_NAME]).toBe('minikube');
    expect(fromText.attributes[ATTR_KATA_JOURNAL_IDENTIFIER]).toBe('kata-runtime');
    expect(fromText.timeUnixNano).toBe(1_582_281_087_810_781_647n);
  });
});

const REMOTE = '/lib/systemd/systemd-journal-remote';
const haveJournalTools = existsSync(REMOTE) && existsSync('/usr/bin/journalctl');

/** journald export format; fields with newlines or control characters in the binary form. */
function exportEntry(fields: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of fields) {
    const b = Buffer.from(v, 'utf8');
    if (/[\x00-\x08\x0a-\x1f]/.test(v)) {
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(b.length));
      parts.push(Buffer.from(`${k}\n`), len, b, Buffer.from('\n'));
    } else parts.push(Buffer.from(`${k}=${v}\n`));
  }
  parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}

describe.skipIf(!haveJournalTools)('real journalctl -o json output', () => {
  it('parses entries written to a journal file and read back by journalctl', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kata-otel-journal-'));
    try {
      const common: [string, string][] = [
        ['__MONOTONIC_TIMESTAMP', '1000'],
        ['_BOOT_ID', '590edceeef5545a784ec8c6181a10400'],
        ['_HOSTNAME', 'raisin'],
      ];
      const exp = Buffer.concat([
        exportEntry([
          ['__REALTIME_TIMESTAMP', '1621305810652100'],
          ...common,
          ['_TRANSPORT', 'syslog'],
          ['PRIORITY', '6'],
          ['SYSLOG_IDENTIFIER', 'kata'],
          ['SYSLOG_PID', '1614807'],
          ['MESSAGE', SHM],
        ]),
        exportEntry([
          ['__REALTIME_TIMESTAMP', '1621305810652200'],
          ...common,
          ['_TRANSPORT', 'journal'],
          ['PRIORITY', '4'],
          ['SYSLOG_IDENTIFIER', 'kata'],
          ['NAME', 'kata-runtime'],
          ['SUBSYSTEM', 'hypervisor'],
          ['SOURCE', 'sb1'],
          ['PID', '77'],
          ['MESSAGE', 'vm console: "\\u{1b}[1mhi"\x1b'],
        ]),
        exportEntry([
          ['__REALTIME_TIMESTAMP', '1621305810652300'],
          ...common,
          ['_TRANSPORT', 'stdout'],
          ['PRIORITY', '6'],
          ['SYSLOG_IDENTIFIER', 'containerd'],
          ['_PID', '1614424'],
          ['MESSAGE', 'time="2021-05-17T19:44:00.757065583-07:00" level=info msg="shim disconnected" id=foo'],
        ]),
      ]);
      const file = join(dir, 'test.journal');
      writeFileSync(join(dir, 'in.export'), exp);
      execFileSync(REMOTE, [`--output=${file}`, join(dir, 'in.export')], { stdio: 'pipe' });
      const out = execFileSync('/usr/bin/journalctl', ['--file', file, '-o', 'json'], { encoding: 'utf8' });
      const recs = out
        .trim()
        .split('\n')
        .flatMap((l) => parseJournalEntry(JSON.parse(l) as Record<string, unknown>, ctx()));
      expect(recs).toHaveLength(3);
      const [shim, rs, cd] = recs as [KataLogRecord, KataLogRecord, KataLogRecord];
      expect(shim.body).toBe('shm-size detected: 67108864');
      expect(shim.attributes[ATTR_PROCESS_PID]).toBe(1614807);
      expect(String(shim.attributes[ATTR_KATA_JOURNAL_CURSOR])).toMatch(/^s=/);
      // a MESSAGE with a control character comes as a byte array
      expect(rs.attributes[ATTR_KATA_COMPONENT]).toBe('guest-kernel');
      expect(rs.body).toBe('hi'); // console colours are stripped
      expect(rs.attributes[ATTR_KATA_SANDBOX_ID]).toBe('sb1');
      expect(rs.timeUnixNano).toBe(1_621_305_810_652_200_000n);
      expect(cd.attributes[ATTR_KATA_COMPONENT]).toBe('containerd');
      expect(cd.attributes[ATTR_PROCESS_PID]).toBe(1614424);
      expect(cd.attributes[ATTR_HOST_NAME]).toBe('raisin');
      // the text form of a journal object (a line of that output) gives the same record
      const again = parseText(out.trim().split('\n')[0] as string, ctx());
      expect(again[0]).toEqual(shim);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('journal entries get a stable log.record.uid from their cursor', () => {
  it('uses the cursor sequence-number id and sequence number, the same on a re-read', async () => {
    const { parseJournalEntry } = await import('../../receiver/parse/index.js');
    const { ATTR_LOG_RECORD_UID } = await import('../../receiver/semconv/generated.js');
    const cursor =
      's=739ad463348b4ceca5a9e69c95a3c93f;i=4ece7;b=6c7c6013a8494bd5ad1ac5c9b3b3a7b1;m=12c5b2f0;t=5cd2b2c9a8e2b;x=d32ab8d7c9a7f6e1';
    const entry = {
      __CURSOR: cursor,
      MESSAGE: 'hello',
      SYSLOG_IDENTIFIER: 'kata',
      __REALTIME_TIMESTAMP: '1582281087810805',
    };
    const a = parseJournalEntry(entry, { observedTimeUnixNano: 1n });
    const b = parseJournalEntry(entry, { observedTimeUnixNano: 2n });
    expect(a[0]?.attributes[ATTR_LOG_RECORD_UID]).toBe('739ad463348b4ceca5a9e69c95a3c93f-4ece7');
    expect(b[0]?.attributes[ATTR_LOG_RECORD_UID]).toBe(a[0]?.attributes[ATTR_LOG_RECORD_UID]);
    const other = parseJournalEntry(
      { ...entry, __CURSOR: cursor.replace('i=4ece7', 'i=4ece8') },
      { observedTimeUnixNano: 1n },
    );
    expect(other[0]?.attributes[ATTR_LOG_RECORD_UID]).not.toBe(a[0]?.attributes[ATTR_LOG_RECORD_UID]);
  });
});
