// slog JSON: the agent, kata-agent-ctl, runtime-rs before 3.20 (and what runtime-rs re-logs), damaged records.
import { describe, expect, it } from 'vitest';
import {
  ATTR_CODE_FILE_PATH,
  ATTR_CODE_LINE_NUMBER,
  ATTR_CONTAINER_ID,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_EXEC_ID,
  ATTR_KATA_FIELD,
  ATTR_KATA_HYPERVISOR_NAME,
  ATTR_KATA_LOG_CARRIER,
  ATTR_KATA_LOG_FORMAT,
  ATTR_KATA_LOG_PARSE_ERROR,
  ATTR_KATA_NAME,
  ATTR_KATA_SANDBOX_ID,
  ATTR_KATA_SOURCE,
  ATTR_KATA_SUBSYSTEM,
  ATTR_PROCESS_PID,
  ATTR_SERVICE_NAME,
  ATTR_THREAD_NAME,
} from '../../receiver/semconv/generated.js';
import { one } from './helpers.js';

const SID = '5463a0b1';
const rs = (o: Record<string, unknown>) =>
  JSON.stringify({
    level: 'INFO',
    ts: '2023-03-15T14:17:02.527047136Z',
    name: 'kata-runtime',
    pid: '3327263',
    version: '0.1.0',
    source: SID,
    ...o,
  });

describe('agent slog JSON', () => {
  it('maps the agent fields (any key order)', () => {
    const r = one(
      '{"msg":"enter container.start!","level":"INFO","ts":"2021-09-15T15:41:48.092678830+00:00","cid":"0123456789","module":"rustjail","name":"kata-agent","version":"0.1.0","source":"agent","pid":"56","subsystem":"container","eid":"e1","action":"child process log","wait_status result":"Exited(Pid(110), 0)"}',
    );
    expect(r.body).toBe('enter container.start!');
    expect(r.timeUnixNano).toBe(1_631_720_508_092_678_830n);
    expect(r.severityText).toBe('INFO');
    expect(r.attributes).toMatchObject({
      [ATTR_KATA_COMPONENT]: 'agent',
      [ATTR_SERVICE_NAME]: 'kata-agent',
      [ATTR_KATA_LOG_FORMAT]: 'slog-json',
      [ATTR_CONTAINER_ID]: '0123456789',
      [ATTR_KATA_EXEC_ID]: 'e1',
      [ATTR_PROCESS_PID]: 56,
      [ATTR_KATA_SUBSYSTEM]: 'container',
      [ATTR_KATA_SOURCE]: 'agent',
      [ATTR_KATA_NAME]: 'kata-agent',
      [ATTR_KATA_FIELD('module')]: 'rustjail',
      [ATTR_KATA_FIELD('action')]: 'child process log',
      [ATTR_KATA_FIELD('version')]: '0.1.0',
      [ATTR_KATA_FIELD('wait_status result')]: 'Exited(Pid(110), 0)',
    });
    expect(r.attributes[ATTR_KATA_SANDBOX_ID]).toBeUndefined();
  });

  it('container-id / exec-id, and every level', () => {
    const lv = (level: string) =>
      one(
        `{"msg":"m","level":"${level}","ts":"2025-11-20T16:05:09Z","name":"kata-agent","source":"agent","container-id":"c","exec-id":"x"}`,
      );
    expect(lv('TRCE').severityNumber).toBe(1);
    expect(lv('DEBG').severityNumber).toBe(5);
    expect(lv('WARN').severityNumber).toBe(13);
    expect(lv('ERRO').severityNumber).toBe(17);
    expect(lv('CRIT').severityNumber).toBe(21);
    expect(lv('INFO').attributes[ATTR_CONTAINER_ID]).toBe('c');
    expect(lv('INFO').attributes[ATTR_KATA_EXEC_ID]).toBe('x');
  });

  it('kata-agent-ctl is agent', () => {
    const r = one(
      '{"msg":"announce","level":"INFO","ts":"2021-09-15T08:40:14.189360410-07:00","subsystem":"rpc","name":"kata-agent-ctl","pid":"830920","version":"0.1.0","source":"kata-agent-ctl"}',
    );
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('agent');
    expect(r.timeUnixNano).toBe(1_631_720_414_189_360_410n);
  });

  it('damaged JSON (doc-mangled inner quotes): raw body, tolerant level/msg, parse error', () => {
    const line =
      '{"msg":"announce","level":"INFO","subsystem":"root","version":"0.1.0","pid":"214","source":"agent","name":"kata-agent","config":"AgentConfig { debug_console: true, server_addr: "vsock://-1:1024", tracing: false }","agent-version":"3.3.0-alpha0"}';
    const r = one(line);
    expect(r.body).toBe(line);
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('agent');
    expect(r.attributes[ATTR_KATA_FIELD('msg')]).toBe('announce');
    expect(r.attributes[ATTR_PROCESS_PID]).toBe(214);
    expect(r.attributes[ATTR_KATA_SUBSYSTEM]).toBe('root');
    expect(r.severityNumber).toBe(9);
    expect(String(r.attributes[ATTR_KATA_LOG_PARSE_ERROR])).toMatch(/^invalid JSON: /);
  });

  it('an invalid ts is reported', () => {
    const r = one('{"msg":"m","level":"INFO","ts":"later","name":"kata-agent","source":"agent"}');
    expect(r.timeUnixNano).toBe(0n);
    expect(r.attributes[ATTR_KATA_LOG_PARSE_ERROR]).toBe('invalid ts "later"');
  });

  it('smart-quoted JSON from documentation', () => {
    const r = one(
      '{“msg”:“ttRPC server started”,“level”:“INFO”,“ts”:“2021-07-14T14:56:42.558522099+08:00”,“name”:“kata-agent”,“source”:“agent”}',
    );
    expect(r.body).toBe('ttRPC server started');
    expect(r.attributes[ATTR_KATA_LOG_PARSE_ERROR]).toBeUndefined();
  });
});

describe('runtime-rs slog JSON (before 3.20)', () => {
  it('source is the sandbox id', () => {
    const r = one(rs({ msg: 'resource clean up', subsystem: 'virt-container' }));
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('runtime');
    expect(r.attributes[ATTR_KATA_SANDBOX_ID]).toBe(SID);
    expect(r.attributes[ATTR_KATA_SOURCE]).toBe(SID);
    expect(r.attributes[ATTR_PROCESS_PID]).toBe(3327263);
    const hv = one(rs({ msg: 'start vm', subsystem: 'dragonball' }));
    expect(hv.attributes[ATTR_KATA_HYPERVISOR_NAME]).toBe('dragonball');
    expect(hv.attributes[ATTR_KATA_COMPONENT]).toBe('runtime');
  });

  it('a forwarded agent line becomes the agent record with carrier runtime-rs', () => {
    const agent =
      '{"msg":"rpc call from shim to agent: \\"create_sandbox\\"","level":"WARN","ts":"2025-11-20T16:05:09.374408769Z","source":"agent","subsystem":"rpc","version":"0.1.0","name":"kata-agent","pid":"1"}';
    const r = one(rs({ msg: agent, subsystem: 'agent', level: 'WARN' }));
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('agent');
    expect(r.attributes[ATTR_KATA_LOG_CARRIER]).toBe('runtime-rs');
    expect(r.attributes[ATTR_KATA_SANDBOX_ID]).toBe(SID);
    expect(r.attributes[ATTR_PROCESS_PID]).toBe(1);
    expect(r.body).toBe('rpc call from shim to agent: "create_sandbox"');
    expect(r.timeUnixNano).toBe(1_763_654_709_374_408_769n);
    expect(r.severityNumber).toBe(13);
  });

  it('`qemu stderr: "…"` (Rust Debug-quoted) is a QEMU record', () => {
    const r = one(
      rs({
        msg: 'qemu stderr: "qemu-system-x86_64: warning: host doesn\'t support \\"pmu\\""',
        subsystem: 'hypervisor',
      }),
    );
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('hypervisor');
    expect(r.attributes[ATTR_KATA_HYPERVISOR_NAME]).toBe('qemu');
    expect(r.attributes[ATTR_KATA_LOG_CARRIER]).toBe('runtime-rs');
    expect(r.body).toBe('qemu-system-x86_64: warning: host doesn\'t support "pmu"');
    expect(r.severityNumber).toBe(13);
    expect(r.attributes[ATTR_KATA_SANDBOX_ID]).toBe(SID);
    expect(r.timeUnixNano).toBe(1_678_889_822_527_047_136n);
  });

  it('`vm console: "…"` and `fc stderr: "…"`', () => {
    const k = one(rs({ msg: 'vm console: "[    0.443558] loop: module loaded\\r"', subsystem: 'hypervisor' }));
    expect(k.attributes[ATTR_KATA_COMPONENT]).toBe('guest-kernel');
    expect(k.attributes[ATTR_KATA_LOG_CARRIER]).toBe('runtime-rs');
    expect(k.body).toBe('loop: module loaded');
    expect(k.attributes[ATTR_KATA_SANDBOX_ID]).toBe(SID);
    const f = one(
      rs({
        msg: 'fc stderr: "2023-10-13T14:15:38.851263983 [anonymous-instance:main] Running Firecracker v1.6.0-dev"',
        subsystem: 'firecracker',
      }),
    );
    expect(f.attributes[ATTR_KATA_HYPERVISOR_NAME]).toBe('firecracker');
    expect(f.body).toBe('Running Firecracker v1.6.0-dev');
    expect(f.attributes[ATTR_THREAD_NAME]).toBe('main');
    expect(f.attributes[ATTR_KATA_SANDBOX_ID]).toBe(SID);
  });

  it('Cloud Hypervisor lines (`stream`): the level comes from the CH text', () => {
    const r = one(
      rs({
        msg: '"cloud-hypervisor: 1.2s: <vmm> ERROR:vmm/src/lib.rs:10 -- VM boot failed"',
        stream: 'stderr',
        subsystem: 'cloud-hypervisor',
        level: 'INFO',
      }),
    );
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('hypervisor');
    expect(r.severityNumber).toBe(17);
    expect(r.severityText).toBe('ERROR');
    expect(r.attributes[ATTR_THREAD_NAME]).toBe('vmm');
    expect(r.attributes[ATTR_CODE_FILE_PATH]).toBe('vmm/src/lib.rs');
    expect(r.attributes[ATTR_CODE_LINE_NUMBER]).toBe(10);
    expect(r.attributes[ATTR_KATA_FIELD('elapsed')]).toBe('1.2s');
    expect(r.body).toBe('VM boot failed');
    const plain = one(rs({ msg: '"Error booting VM: VmBoot(...)"', stream: 'stderr', level: 'WARN' }));
    expect(plain.attributes[ATTR_KATA_HYPERVISOR_NAME]).toBe('cloud-hypervisor');
    expect(plain.severityNumber).toBe(13);
    expect(plain.body).toBe('Error booting VM: VmBoot(...)');
  });
});
