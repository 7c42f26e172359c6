// setAttribute (receiver/model/attributes.ts) and what it is for: a journal record's attributes stay in V8's fast
// layout through parsing, provenance and the host stage, so the later for…in passes over them (redaction, limits,
// dedupe, queue estimate, encoder, chain) do not each build a key list. The layout is read with V8's own
// %HasFastProperties in a child node (the flag that allows it is not for the test runner's process).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { setAttribute } from '../../receiver/model/attributes.js';
import type { Attributes } from '../../receiver/model/record.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('setAttribute', () => {
  it('adds an own enumerable, writable attribute, overwrites an existing one, and never changes the prototype', () => {
    const a: Attributes = { 'kata.component': 'runtime' };
    setAttribute(a, 'host.id', 'm1');
    setAttribute(a, 'kata.component', 'agent');
    setAttribute(a, '__proto__', 'x');
    // As `a[k] = v` does: a string cannot become the prototype, and no own `__proto__` appears.
    expect(Object.keys(a)).toEqual(['kata.component', 'host.id']);
    expect(a['kata.component']).toBe('agent');
    expect(Object.getPrototypeOf(a)).toBe(Object.prototype);
    a['host.id'] = 'm2';
    expect(a['host.id']).toBe('m2');
    expect(JSON.stringify(a)).toBe('{"kata.component":"agent","host.id":"m2"}');
  });

  it('keeps journal records (22+ attributes) out of dictionary mode through parse, provenance and host', () => {
    const script = `
      const { parseJournalEntry } = await import('./receiver/parse/index.ts');
      const { applyProvenance } = await import('./receiver/pipeline/provenance.ts');
      const { HostStage } = await import('./receiver/pipeline/host.ts');
      const { journalProvenance, DEFAULT_JOURNAL_TRUST } = await import('./receiver/sources/journald.ts');
      const fast = new Function('o', 'return %HasFastProperties(o)');
      const recs = [];
      for (let i = 0; i < 2000; i++) {
        const f = {
          MESSAGE: 'time="2026-12-06T08:26:09.04735791-07:00" level=info msg="endpoints found after scan" name=containerd-shim-v2 pid=880027 sandbox=c05e2fc7e777e40338377708d8676d655cd73971e34742010db9d860fdc32cac source=virtcontainers subsystem=network endpoints=1 tag=t' + i,
          __CURSOR: 's=f1e2edcf41514be68375b6953edfd266;i=' + i.toString(16) + ';b=aae3;m=71b;t=661f;x=a54c',
          __REALTIME_TIMESTAMP: '1796570769047358', _PID: '880027', _UID: '0', _COMM: 'containerd-shim',
          _EXE: '/usr/bin/containerd-shim-kata-v2', _HOSTNAME: 'node-17', _SYSTEMD_UNIT: 'containerd.service',
          SYSLOG_IDENTIFIER: 'kata', PRIORITY: '6', _BOOT_ID: 'aae3e7a59ebb42e09529266c02abc3a8', _TRANSPORT: 'syslog',
        };
        const a = journalProvenance(f, DEFAULT_JOURNAL_TRUST);
        const rs = parseJournalEntry(f, { observedTimeUnixNano: 1n, attributes: a, keepOriginal: false });
        applyProvenance(rs, a);
        recs.push(...rs);
      }
      new HostStage({ name: 'node-17', id: 'machine-id' }).process(recs);
      const n = recs.filter((r) => fast(r.attributes)).length;
      const keys = Object.keys(recs[0].attributes).length;
      process.stdout.write(JSON.stringify({ n, keys }));
    `;
    const r = spawnSync(
      process.execPath,
      ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    );
    expect(r.stderr).toBe('');
    const { n, keys } = JSON.parse(r.stdout) as { n: number; keys: number };
    expect(keys).toBeGreaterThan(20);
    expect(n).toBe(2000);
  });
});
