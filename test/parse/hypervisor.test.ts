// Hypervisor and guest shapes read directly: raw QEMU stderr, Cloud Hypervisor, Firecracker, guest kernel.
import { describe, expect, it } from 'vitest';
import {
  ATTR_CODE_LINE_NUMBER,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_FIELD,
  ATTR_KATA_HYPERVISOR_NAME,
  ATTR_KATA_LOG_FORMAT,
  ATTR_KATA_LOG_PARSE_ERROR,
  ATTR_KATA_SANDBOX_ID,
  ATTR_SERVICE_NAME,
  ATTR_THREAD_NAME,
} from '../../receiver/semconv/generated.js';
import { one } from './helpers.js';

describe('hypervisor shapes on their own', () => {
  it('raw QEMU stderr', () => {
    const e = one(
      'qemu-system-s390x: KVM PV command 2 (KVM_PV_SET_SEC_PARMS) failed: header rc 108 rrc 5 IOCTL rc: -22',
    );
    expect(e.attributes[ATTR_KATA_COMPONENT]).toBe('hypervisor');
    expect(e.severityNumber).toBe(17);
    expect(e.attributes[ATTR_KATA_HYPERVISOR_NAME]).toBe('qemu');
    expect(e.attributes[ATTR_KATA_LOG_PARSE_ERROR]).toBeUndefined();
    const w = one("/usr/bin/qemu-system-x86_64: warning: host doesn't support requested feature");
    expect(w.severityNumber).toBe(13);
    expect(w.severityText).toBe('warning');
  });

  it('a QEMU continuation line is QEMU only when its file says so', () => {
    expect(
      one('Protected boot has failed: 0xa02', {
        observedTimeUnixNano: 1n,
        attributes: { 'log.file.path': '/tmp/qemu-stderr.log' },
      }).attributes[ATTR_KATA_COMPONENT],
    ).toBe('hypervisor');
    const r = one('Protected boot has failed: 0xa02');
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('unknown');
    expect(r.attributes[ATTR_KATA_LOG_PARSE_ERROR]).toBe('unrecognised line');
  });

  it('Cloud Hypervisor without a thread, and with a target instead of file:line', () => {
    const r = one(
      'cloud-hypervisor: 19.762449ms: DEBUG:vmm/src/vm.rs:510 -- [Debug I/O port: Firmware code 0x0] 0.019004 seconds',
    );
    expect(r.severityNumber).toBe(5);
    expect(r.attributes[ATTR_THREAD_NAME]).toBeUndefined();
    expect(r.attributes[ATTR_CODE_LINE_NUMBER]).toBe(510);
    expect(r.attributes[ATTR_KATA_FIELD('elapsed')]).toBe('19.762449ms');
    expect(r.body).toBe('[Debug I/O port: Firmware code 0x0] 0.019004 seconds');
    const t = one('cloud-hypervisor: 5ms: <vmm> TRACE:vmm::vm -- tick');
    expect(t.severityNumber).toBe(1);
    expect(t.attributes[ATTR_KATA_FIELD('target')]).toBe('vmm::vm');
  });

  it('Firecracker: instance id, thread, optional level and origin', () => {
    const r = one('2023-10-13T14:15:55.422429270 [sb1:fc_api:WARN:src/api_server/src/lib.rs:100] slow');
    expect(r.attributes[ATTR_KATA_SANDBOX_ID]).toBe('sb1');
    expect(r.attributes[ATTR_THREAD_NAME]).toBe('fc_api');
    expect(r.severityNumber).toBe(13);
    expect(r.attributes[ATTR_CODE_LINE_NUMBER]).toBe(100);
    const anon = one('2023-10-13T14:15:55.422429270 [anonymous-instance:main] Running Firecracker v1.6.0-dev');
    expect(anon.attributes[ATTR_KATA_SANDBOX_ID]).toBeUndefined();
    expect(anon.severityNumber).toBe(9);
    expect(anon.severityText).toBe('');
  });
});

describe('guest kernel', () => {
  it('uptime, body, info, no time of its own', () => {
    const r = one('[   32.130338] nvidia 0000:07:00.0: enabling device (0140 -> 0142)');
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('guest-kernel');
    expect(r.attributes[ATTR_SERVICE_NAME]).toBe('kata-guest-kernel');
    expect(r.attributes[ATTR_KATA_LOG_FORMAT]).toBe('kernel');
    expect(r.attributes[ATTR_KATA_FIELD('uptime')]).toBe('32.130338');
    expect(r.body).toBe('nvidia 0000:07:00.0: enabling device (0140 -> 0142)');
    expect(r.severityNumber).toBe(9);
    expect(r.timeUnixNano).toBe(0n);
  });

  it('`[  OK  ]` and `[ 12 ]` are not uptimes', () => {
    expect(one('[  OK  ] Started x').attributes[ATTR_KATA_LOG_FORMAT]).toBe('text');
    expect(one('[ 12 ] y').attributes[ATTR_KATA_LOG_FORMAT]).toBe('text');
  });
});
