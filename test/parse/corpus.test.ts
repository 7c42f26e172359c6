// Every line of the shared corpus through parseText, against expectations written as data from reading the lines
// (component, severity number, sandbox id, container id, subsystem; '' = the line shows none; undefined = the line
// does not show it, so it is not checked). Provenance of the lines: test/fixtures/corpus/SOURCES.md.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { LineAssembler, parseText } from '../../receiver/parse/index.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_LOG_PARSE_ERROR,
  ATTR_KATA_SANDBOX_ID,
  ATTR_KATA_SUBSYSTEM,
  ATTR_LOG_FILE_PATH,
} from '../../receiver/semconv/generated.js';

const CORPUS = new URL('../fixtures/corpus/', import.meta.url);
const lines = (file: string) => readFileSync(new URL(file, CORPUS), 'utf8').split('\n').slice(0, -1);
const ctxFor = (file: string) => ({
  observedTimeUnixNano: 1_764_000_000_000_000_000n,
  attributes: { [ATTR_LOG_FILE_PATH]: `/var/log/kata/${file}` },
});

type Row = [
  component: string | undefined,
  severity: number | undefined,
  sandbox: string,
  container: string,
  subsystem: string,
];

const EXPECTED: Record<string, Row[]> = {
  'runtime-logfmt.log': [
    ['runtime', 9, 'foo', '', ''],
    ['runtime', 9, 'foo', '', ''],
    ['runtime', 9, '', '', 'oci'],
    ['runtime', 9, 'foo', '', ''],
    ['runtime', 9, 'foo', '', 'qemu'],
    ['runtime', 9, 'foo', '', 'network'],
    ['runtime', 9, 'foo', '', 'sandbox'],
    ['runtime', 9, 'foo', '', 'qmp'],
    ['runtime', 9, 'foo', '', 'qmp'],
    ['runtime', 9, 'foo', '', 'qemu'],
    ['runtime', 9, 'foo', '', 'qmp'],
    ['runtime', 9, 'foo', '', 'sandbox'],
    ['runtime', 9, 'foo', '', 'kata_agent'],
    ['runtime', 9, 'foo', '', 'qemu'],
    ['runtime', 9, 'foo', '', 'qemu'],
    ['runtime', 13, 'foo', '', 'qmp'],
    ['runtime', 17, 'foo', '', 'qemu'],
    ['runtime', 9, 'foo', '', 'qemu'],
    ['runtime', 9, 'foo', '', 'qemu'],
    ['runtime', 9, 'foo', '', 'qemu'],
    ['runtime', 9, 'foo', '', 'network'],
    ['runtime', 13, 'foo', '', 'sandbox'],
    ['runtime', 9, 'foo', '', 'kata_agent'],
    ['runtime', 13, 'foo', '', ''],
  ],
  'shim-via-containerd.log': [
    ['containerd', 9, 'foo', '', ''],
    ['runtime', 5, 'foo', '', 'compatoci'],
    ['runtime', 9, 'foo', '', ''],
    ['runtime', 9, 'foo', '', ''],
    ['runtime', 9, '', '', 'oci'],
    ['runtime', 9, 'foo', '', ''],
    ['runtime', 9, 'foo', '', 'qemu'],
    ['runtime', 9, 'foo', '', 'network'],
    ['runtime', 9, 'foo', '', 'sandbox'],
    ['runtime', 9, 'foo', '', 'qmp'],
    ['runtime', 9, 'foo', '', 'qmp'],
    ['runtime', 9, 'foo', '', 'qemu'],
    ['runtime', 9, 'foo', '', 'qmp'],
    ['runtime', 9, 'foo', '', 'sandbox'],
    ['runtime', 9, 'foo', '', 'kata_agent'],
    ['runtime', 9, 'foo', '', 'qemu'],
    ['runtime', 9, 'foo', '', 'qemu'],
    ['runtime', 13, 'foo', '', 'qmp'],
    ['runtime', 17, 'foo', '', 'qemu'],
    ['runtime', 9, 'foo', '', 'qemu'],
    ['runtime', 9, 'foo', '', 'qemu'],
    ['runtime', 9, 'foo', '', 'qemu'],
    ['runtime', 9, 'foo', '', 'network'],
    ['runtime', 13, 'foo', '', 'sandbox'],
    ['runtime', 9, 'foo', '', 'kata_agent'],
    ['runtime', 13, 'foo', '', ''],
    ['containerd', 9, 'foo', '', ''],
    ['containerd', 13, 'foo', '', ''],
    ['containerd', 13, 'foo', '', ''],
  ],
  'shim-vmconsole-relogged.log': [
    ['guest-kernel', 9, 'ab9f633385d4987828d342e47554fc6442445b32039023eeddaa971c1bb56791', '', ''],
    ['guest-kernel', 9, 'ab9f633385d4987828d342e47554fc6442445b32039023eeddaa971c1bb56791', '', ''],
    ['guest-kernel', 9, 'ab9f633385d4987828d342e47554fc6442445b32039023eeddaa971c1bb56791', '', ''],
    ['guest-kernel', 9, 'ab9f633385d4987828d342e47554fc6442445b32039023eeddaa971c1bb56791', '', ''],
    ['guest-kernel', 9, 'ab9f633385d4987828d342e47554fc6442445b32039023eeddaa971c1bb56791', '', ''],
    ['agent', 5, '38f55c4a058a0f7227e64edd75f2aed134bee7db4b211f071be84fb44d17b0bb', '', 'rpc'],
    ['guest-kernel', 9, 'a13ffb2b9b5a66f7787bdae9a427fa954a4d21ec4031d0179eee2573986a8a6e', '', ''],
    ['guest-kernel', 9, 'a13ffb2b9b5a66f7787bdae9a427fa954a4d21ec4031d0179eee2573986a8a6e', '', ''],
    ['guest-kernel', 9, 'a13ffb2b9b5a66f7787bdae9a427fa954a4d21ec4031d0179eee2573986a8a6e', '', ''],
  ],
  'agent-json.log': [
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'signals'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'process'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '', 'signals'],
    ['agent', 9, '', '', 'signals'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '', 'cgroups'],
    ['agent', 9, '', '', 'cgroups'],
    ['agent', 9, '', '', 'cgroups'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '0123456789', 'container'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'baremount'],
    ['agent', 9, '', '', 'baremount'],
    ['agent', 9, '', '', 'baremount'],
    ['agent', 5, '', '', 'initdata'],
    ['agent', 5, '', '', 'initdata'],
    ['agent', 5, '', '', 'initdata'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'uevent'],
    ['agent', 9, '', '', 'uevent'],
    ['agent', 9, '', '', 'uevent'],
    ['agent', 9, '', '', 'uevent'],
    ['agent', 9, '', '', 'uevent'],
    ['agent', 5, '', '', 'uevent'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'uevent'],
    ['agent', 5, '', '', 'uevent'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'uevent'],
    ['agent', 9, '', '', 'uevent'],
    ['agent', 9, '', '', 'uevent'],
    ['agent', 9, '', '', 'uevent'],
    ['agent', 9, '', '', 'uevent'],
    ['agent', 9, '', '', 'uevent'],
    ['agent', 9, '', '', 'uevent'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'signals'],
    ['agent', 9, '', '', 'signals'],
    ['agent', 9, '', '', 'signals'],
    ['agent', 9, '', '', 'root'],
    ['agent', 9, '', '', 'uevent'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'root'],
    ['agent', 9, '', '', 'uevent'],
    ['agent', 9, '', '', 'rpc'],
  ],
  'agent-ctl-json.log': [
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'rpc'],
    ['agent', 9, '', '', 'rpc'],
  ],
  'agent-json-malformed.log': [
    ['agent', 9, '', '', 'root'],
    ['agent', 9, '', '', 'baremount'],
    [undefined, undefined, '', '', ''],
  ],
  'guest-console.log': [
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
    ['guest-kernel', 9, '', '', ''],
  ],
  'qemu.log': [
    ['hypervisor', 17, '', '', ''],
    ['hypervisor', 17, '', '', ''],
    ['hypervisor', 17, '54632572e15297178d78997f88f8e7e4b66d1568c16a89e038e096aca0298c4a', '', 'qemu'],
    ['runtime', 9, 'foo', '', 'qemu'],
    ['runtime', 9, 'foo', '', 'qmp'],
    ['runtime', 9, 'foo', '', 'qmp'],
    ['runtime', 9, 'foo', '', 'qemu'],
    ['runtime', 9, 'foo', '', 'qmp'],
    ['runtime', 9, 'foo', '', 'qemu'],
    ['runtime', 9, 'foo', '', 'qemu'],
    ['runtime', 13, 'foo', '', 'qmp'],
    ['runtime', 17, 'foo', '', 'qemu'],
    ['runtime', 9, 'foo', '', 'qemu'],
    ['runtime', 9, 'foo', '', 'qemu'],
    ['runtime', 9, 'foo', '', 'qemu'],
  ],
  'clh.log': [
    ['hypervisor', 5, '', '', ''],
    ['hypervisor', 5, '', '', ''],
    ['hypervisor', 9, '', '', ''],
    ['hypervisor', 9, '', '', ''],
  ],
  'firecracker.log': [
    ['hypervisor', undefined, '', '', ''],
    ['hypervisor', undefined, '', '', ''],
    ['hypervisor', undefined, '', '', ''],
    ['hypervisor', undefined, '', '', ''],
    ['hypervisor', undefined, '', '', ''],
    ['hypervisor', undefined, '', '', ''],
    ['hypervisor', undefined, '', '', ''],
    ['hypervisor', undefined, '', '', ''],
    ['hypervisor', undefined, '', '', ''],
    ['hypervisor', undefined, '', '', ''],
    ['hypervisor', undefined, '', '', ''],
    ['hypervisor', undefined, '', '', ''],
    ['hypervisor', undefined, '', '', ''],
    ['hypervisor', undefined, '', '', ''],
    ['hypervisor', undefined, '', '', ''],
    ['hypervisor', undefined, '', '', ''],
  ],
  'runtime-rs.log': [
    ['runtime', 5, 'foo', '', 'hypervisor'],
    ['runtime', 9, 'foo', '', 'virt-container'],
    ['runtime', 9, 'source', '', 'subsystem'],
  ],
};

function check(rec: KataLogRecord, [component, severity, sandbox, container, subsystem]: Row) {
  const a = rec.attributes;
  if (component !== undefined) expect(a[ATTR_KATA_COMPONENT]).toBe(component);
  if (severity !== undefined) expect(rec.severityNumber).toBe(severity);
  expect(a[ATTR_KATA_SANDBOX_ID] ?? '').toBe(sandbox);
  expect(a[ATTR_CONTAINER_ID] ?? '').toBe(container);
  expect(a[ATTR_KATA_SUBSYSTEM] ?? '').toBe(subsystem);
}

describe('corpus: every line', () => {
  for (const [file, rows] of Object.entries(EXPECTED)) {
    it(`${file}: ${rows.length} lines`, () => {
      const ls = lines(file);
      expect(ls).toHaveLength(rows.length);
      ls.forEach((line, i) => {
        const recs = parseText(line, ctxFor(file));
        expect(recs, `${file}:${i + 1}`).toHaveLength(1);
        const rec = recs[0] as KataLogRecord;
        expect(typeof rec.body).toBe('string');
        try {
          check(rec, rows[i] as Row);
        } catch (e) {
          throw new Error(`${file}:${i + 1}: ${(e as Error).message}\n${line.slice(0, 300)}`);
        }
        // Only the damaged agent records are not fully understood.
        if (file === 'agent-json-malformed.log') expect(rec.attributes[ATTR_KATA_LOG_PARSE_ERROR]).toBeDefined();
        else expect(rec.attributes[ATTR_KATA_LOG_PARSE_ERROR], `${file}:${i + 1}`).toBeUndefined();
      });
    });
  }

  it('journald-record-kata-runtime.json: the pretty-printed object, grouped by LineAssembler', () => {
    const file = 'journald-record-kata-runtime.json';
    const asm = new LineAssembler();
    const entries = lines(file).flatMap((l) => asm.push(l));
    entries.push(...asm.flush());
    expect(entries).toHaveLength(1);
    const [rec] = parseText(entries[0] as string, ctxFor(file)) as [KataLogRecord];
    check(rec, [
      'runtime',
      9,
      '1c3e77cad66aa2b6d8cc846f818370f79cb0104c0b840f67d0f502fd6562b68c',
      '7cdd31660d8705facdadeb8598d2c0bd008e8142c54e3b3069abd392c8d58997',
      'sandbox',
    ]);
    expect(rec.body).toBe('release sandbox');
    expect(rec.attributes[ATTR_KATA_LOG_PARSE_ERROR]).toBeUndefined();
  });

  it('the console-split agent record is whole again once LineAssembler joins its two lines', () => {
    const asm = new LineAssembler();
    const entries = lines('agent-json-malformed.log').flatMap((l) => asm.push(l));
    entries.push(...asm.flush());
    expect(entries).toHaveLength(2);
    const [rec] = parseText(entries[1] as string, ctxFor('agent-json-malformed.log')) as [KataLogRecord];
    check(rec, ['agent', 9, '', '', 'baremount']);
    expect(rec.body).toBe(
      'baremount source="proc", dest="/proc", fs_type="proc", options="", flags=MS_NOSUID | MS_NODEV | MS_NOEXEC',
    );
    expect(rec.timeUnixNano).toBe(1_686_133_043_537_542_429n);
    expect(rec.attributes[ATTR_KATA_LOG_PARSE_ERROR]).toBeUndefined();
  });
});
