// Go runtime records (logfmt, logrus JSON, logrus terminal), containerd's shim lines, and the records the shim
// carries (QEMU stderr, guest console, Firecracker FIFO, Kata 1.x kata-proxy).
import { describe, expect, it } from 'vitest';
import {
  ATTR_CODE_FILE_PATH,
  ATTR_CODE_LINE_NUMBER,
  ATTR_CONTAINER_ID,
  ATTR_ERROR_MESSAGE,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_EXEC_ID,
  ATTR_KATA_FIELD,
  ATTR_KATA_HYPERVISOR_NAME,
  ATTR_KATA_HYPERVISOR_PID,
  ATTR_KATA_LOG_CARRIER,
  ATTR_KATA_LOG_FORMAT,
  ATTR_KATA_LOG_PARSE_ERROR,
  ATTR_KATA_NAME,
  ATTR_KATA_SANDBOX_ID,
  ATTR_KATA_SOURCE,
  ATTR_KATA_SUBSYSTEM,
  ATTR_LOG_FILE_PATH,
  ATTR_LOG_RECORD_ORIGINAL,
  ATTR_PROCESS_PID,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_NAMESPACE,
  ATTR_THREAD_NAME,
} from '../../receiver/semconv/generated.js';
import { ctx, goQuote, one, OBSERVED } from './helpers.js';

const SB = '38f55c4a058a0f7227e64edd75f2aed134bee7db4b211f071be84fb44d17b0bb';
const shim = (time: string, level: string, msg: string, rest: string) =>
  `time="${time}" level=${level} msg=${goQuote(msg)} name=containerd-shim-v2 pid=3426175 sandbox=${SB} source=virtcontainers ${rest}`;

describe('Go shim logfmt', () => {
  it('maps every field to the semantic conventions', () => {
    const line =
      'time="2021-05-17T19:44:00.753876182-07:00" level=warning msg="failed to cleanup netns" container=c1 exec=e1 error="failed to Statfs \\"/var/run/netns/x\\": no such file or directory" name=containerd-shim-v2 path=/var/run/netns/x pid=1614807 sandbox=foo source=katautils subsystem=network volume-type=virtio-fs';
    const r = one(
      line,
      ctx({ keepOriginal: true, attributes: { [ATTR_LOG_FILE_PATH]: '/x.log', [ATTR_KATA_SANDBOX_ID]: 'from-path' } }),
    );
    expect(r).toEqual({
      timeUnixNano: 1_621_305_840_753_876_182n,
      observedTimeUnixNano: OBSERVED,
      severityNumber: 13,
      severityText: 'warning',
      body: 'failed to cleanup netns',
      attributes: {
        [ATTR_KATA_COMPONENT]: 'runtime',
        [ATTR_KATA_LOG_FORMAT]: 'logfmt',
        [ATTR_CONTAINER_ID]: 'c1',
        [ATTR_KATA_EXEC_ID]: 'e1',
        [ATTR_ERROR_MESSAGE]: 'failed to Statfs "/var/run/netns/x": no such file or directory',
        [ATTR_KATA_NAME]: 'containerd-shim-v2',
        [ATTR_KATA_FIELD('path')]: '/var/run/netns/x',
        [ATTR_PROCESS_PID]: 1614807,
        // The context's sandbox (a source that knows it, e.g. the vsock socket path) wins over the text; the
        // claim is kept as written.
        [ATTR_KATA_SANDBOX_ID]: 'from-path',
        [ATTR_KATA_FIELD('sandbox')]: 'foo',
        [ATTR_KATA_SOURCE]: 'katautils',
        [ATTR_KATA_SUBSYSTEM]: 'network',
        [ATTR_KATA_FIELD('volume-type')]: 'virtio-fs',
        [ATTR_SERVICE_NAME]: 'kata-runtime',
        [ATTR_SERVICE_NAMESPACE]: 'kata-containers',
        [ATTR_LOG_FILE_PATH]: '/x.log',
        [ATTR_LOG_RECORD_ORIGINAL]: line,
      },
    });
  });

  it('names the hypervisor from the subsystem, component stays runtime', () => {
    const hv = (ss: string) =>
      one(`time="2021-05-17T19:43:30Z" level=info msg=x sandbox=foo subsystem=${ss}`).attributes;
    expect(hv('qmp')[ATTR_KATA_HYPERVISOR_NAME]).toBe('qemu');
    expect(hv('qemuAmd64')[ATTR_KATA_HYPERVISOR_NAME]).toBe('qemu');
    expect(hv('cloudHypervisor')[ATTR_KATA_HYPERVISOR_NAME]).toBe('cloud-hypervisor');
    expect(hv('firecracker')[ATTR_KATA_HYPERVISOR_NAME]).toBe('firecracker');
    expect(hv('stratovirt')[ATTR_KATA_HYPERVISOR_NAME]).toBe('stratovirt');
    expect(hv('sandbox')[ATTR_KATA_HYPERVISOR_NAME]).toBeUndefined();
    expect(hv('qmp')[ATTR_KATA_COMPONENT]).toBe('runtime');
  });

  it('QMP events and the QEMU command line', () => {
    const ev = one(shim('2025-01-01T00:00:00Z', 'debug', 'got QMP event', 'event=GUEST_PANICKED subsystem=qmp'));
    expect(ev.attributes[ATTR_KATA_FIELD('event')]).toBe('GUEST_PANICKED');
    expect(ev.attributes[ATTR_KATA_COMPONENT]).toBe('runtime');
    const launch = one(
      shim(
        '2025-01-01T00:00:00Z',
        'info',
        'launching /usr/bin/qemu-system-x86_64 with: [-name sandbox-foo]',
        'subsystem=qmp',
      ),
    );
    expect(launch.attributes[ATTR_KATA_COMPONENT]).toBe('runtime');
    expect(launch.attributes[ATTR_KATA_HYPERVISOR_NAME]).toBe('qemu');
    expect(launch.body).toBe('launching /usr/bin/qemu-system-x86_64 with: [-name sandbox-foo]');
  });

  it('`cid` from clh.go is the vsock CID, not a container', () => {
    const r = one(
      'time="2025-01-01T00:00:00Z" level=info msg="Adding HybridVSock" cid=3 sandbox=s subsystem=cloudHypervisor',
    );
    expect(r.attributes[ATTR_KATA_FIELD('cid')]).toBe('3');
    expect(r.attributes[ATTR_CONTAINER_ID]).toBeUndefined();
  });

  it('kata-monitor and the kata-runtime CLI', () => {
    const mon = one('time="2025-01-01T00:00:00Z" level=info msg="announce" source=kata-monitor version=3.0');
    expect(mon.attributes[ATTR_KATA_COMPONENT]).toBe('monitor');
    expect(mon.attributes[ATTR_SERVICE_NAME]).toBe('kata-monitor');
    const cli = one(
      'time="2025-01-01T00:00:00Z" level=info msg=check arch=amd64 command=check name=kata-runtime pid=12 source=runtime',
    );
    expect(cli.attributes[ATTR_KATA_COMPONENT]).toBe('runtime');
    expect(cli.attributes[ATTR_KATA_FIELD('arch')]).toBe('amd64');
    expect(cli.attributes[ATTR_KATA_FIELD('command')]).toBe('check');
  });

  it('an invalid time is reported, the rest kept', () => {
    const r = one('time="yesterday" level=info msg=x sandbox=s');
    expect(r.timeUnixNano).toBe(0n);
    expect(r.attributes[ATTR_KATA_LOG_PARSE_ERROR]).toBe('invalid time "yesterday"');
    expect(r.attributes[ATTR_KATA_SANDBOX_ID]).toBe('s');
  });

  it('smart quotes from documentation', () => {
    const r = one('time=“2021-05-17T19:43:30Z” level=info msg=“Starting VM” sandbox=foo');
    expect(r.body).toBe('Starting VM');
    expect(r.timeUnixNano).toBe(1_621_280_610_000_000_000n);
  });
});

describe("containerd's own lines about a shim", () => {
  it('sandbox from the last element of path= or from id=', () => {
    const start = one(
      'time="2021-05-17T19:43:30.649238418-07:00" level=info msg="starting signal loop" namespace=default path=/run/containerd/io.containerd.runtime.v2.task/default/foo pid=1614807',
    );
    expect(start.attributes[ATTR_KATA_COMPONENT]).toBe('containerd');
    expect(start.attributes[ATTR_SERVICE_NAME]).toBe('kata-containerd');
    expect(start.attributes[ATTR_KATA_SANDBOX_ID]).toBe('foo');
    expect(start.attributes[ATTR_PROCESS_PID]).toBe(1614807);
    const disc = one('time="2021-05-17T19:44:00.757065583-07:00" level=info msg="shim disconnected" id=foo');
    expect(disc.attributes[ATTR_KATA_SANDBOX_ID]).toBe('foo');
  });

  it('`failed to clean up` keeps the nested logrus line in error.message exactly', () => {
    const nested =
      'time="2021-05-17T19:44:00-07:00" level=warning msg="failed to cleanup container" container=foo error="open /run/vc/sbs/foo: no such file or directory" name=containerd-shim-v2 pid=1614972 sandbox=foo source=containerd-kata-shim-v2\nio.containerd.kata.v2: open /run/vc/sbs/foo: no such file or directory\n: exit status 1';
    const line = `time="2021-05-17T19:44:00.779507888-07:00" level=warning msg="failed to clean up after shim disconnected" error=${goQuote(nested)} id=foo namespace=default`;
    const r = one(line);
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('containerd');
    expect(r.attributes[ATTR_ERROR_MESSAGE]).toBe(nested);
    expect(r.attributes[ATTR_KATA_SANDBOX_ID]).toBe('foo');
    // …and that nested line parses on its own (second-precision time)
    const inner = one(nested.split('\n')[0] as string);
    expect(inner.timeUnixNano).toBe(1_621_305_840_000_000_000n);
    expect(inner.attributes[ATTR_ERROR_MESSAGE]).toBe('open /run/vc/sbs/foo: no such file or directory');
  });
});

describe('QEMU stderr re-logged by the shim', () => {
  it('is a hypervisor record carried by shim-stderr, level as written', () => {
    const r = one(
      'time="2025-07-23T12:24:05.013714495Z" level=error msg="qemu-system-x86_64-tdx-experimental: vm-type TDX not supported by KVM" name=containerd-shim-v2 pid=103523 qemuPid=103538 sandbox=54632572e15297178d78997f88f8e7e4b66d1568c16a89e038e096aca0298c4a source=virtcontainers/hypervisor subsystem=qemu',
    );
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('hypervisor');
    expect(r.attributes[ATTR_SERVICE_NAME]).toBe('kata-hypervisor');
    expect(r.attributes[ATTR_KATA_LOG_CARRIER]).toBe('shim-stderr');
    expect(r.attributes[ATTR_KATA_LOG_FORMAT]).toBe('qemu');
    expect(r.attributes[ATTR_KATA_HYPERVISOR_PID]).toBe(103538);
    expect(r.attributes[ATTR_KATA_HYPERVISOR_NAME]).toBe('qemu');
    expect(r.severityText).toBe('error');
    expect(r.body).toBe('qemu-system-x86_64-tdx-experimental: vm-type TDX not supported by KVM');
    expect(r.timeUnixNano).toBe(1_753_273_445_013_714_495n);
    const warn = one(
      'time="2025-07-23T12:24:05Z" level=warning msg="qemu-system-x86_64: -device foo: deprecated" qemuPid=7 sandbox=s subsystem=qemu',
    );
    expect(warn.severityNumber).toBe(13);
    expect(warn.attributes[ATTR_KATA_COMPONENT]).toBe('hypervisor');
  });
});

describe('guest console re-logged by the shim (vmconsole=)', () => {
  const consoleLine = (inner: string) =>
    shim(
      '2025-11-20T16:25:32.996810781Z',
      'debug',
      'reading guest console',
      `console-protocol=unix console-url=/run/vc/vm/${SB}/console.sock subsystem=sandbox vmconsole=${goQuote(inner)}`,
    );

  it('an agent JSON record becomes the agent record, in its sandbox', () => {
    const r = one(
      consoleLine(
        '{"msg":"policy check: StatsContainerRequest","level":"DEBG","ts":"2025-11-20T16:25:33.010026353Z","version":"0.1.0","name":"kata-agent","subsystem":"rpc","source":"agent","pid":"1","cid":"c9"}',
      ),
    );
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('agent');
    expect(r.attributes[ATTR_KATA_SANDBOX_ID]).toBe(SB);
    expect(r.attributes[ATTR_KATA_LOG_CARRIER]).toBe('vmconsole');
    expect(r.attributes[ATTR_CONTAINER_ID]).toBe('c9');
    expect(r.attributes[ATTR_PROCESS_PID]).toBe(1);
    expect(r.attributes[ATTR_KATA_FIELD('console-url')]).toBeUndefined();
    expect(r.severityText).toBe('DEBG');
    expect(r.timeUnixNano).toBe(1_763_655_933_010_026_353n);
  });

  it('a kernel line is a guest-kernel record at the shim time', () => {
    const r = one(consoleLine('[    0.395399] brd: module loaded'));
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('guest-kernel');
    expect(r.attributes[ATTR_SERVICE_NAME]).toBe('kata-guest-kernel');
    expect(r.attributes[ATTR_KATA_LOG_FORMAT]).toBe('kernel');
    expect(r.attributes[ATTR_KATA_FIELD('uptime')]).toBe('0.395399');
    expect(r.severityNumber).toBe(9);
    expect(r.body).toBe('brd: module loaded');
    expect(r.timeUnixNano).toBe(1_763_655_932_996_810_781n);
    expect(r.attributes[ATTR_KATA_SANDBOX_ID]).toBe(SB);
  });

  it('Cloud Hypervisor and Firecracker output sharing the pty are hypervisor records', () => {
    const ch = one(consoleLine('cloud-hypervisor: 161.167103ms: <vcpu0> WARN:vmm/src/vm.rs:392 -- slow boot'));
    expect(ch.attributes[ATTR_KATA_COMPONENT]).toBe('hypervisor');
    expect(ch.attributes[ATTR_KATA_HYPERVISOR_NAME]).toBe('cloud-hypervisor');
    expect(ch.attributes[ATTR_THREAD_NAME]).toBe('vcpu0');
    expect(ch.severityNumber).toBe(13);
    expect(ch.attributes[ATTR_KATA_SANDBOX_ID]).toBe(SB);
    expect(ch.timeUnixNano).toBe(1_763_655_932_996_810_781n);
    const fcl = one(
      consoleLine(`2023-10-13T14:15:55.422429270 [${SB}:fc_vcpu 0:ERROR:src/vmm/src/lib.rs:12] vcpu fault`),
    );
    expect(fcl.attributes[ATTR_KATA_HYPERVISOR_NAME]).toBe('firecracker');
    expect(fcl.severityNumber).toBe(17);
    expect(fcl.attributes[ATTR_CODE_FILE_PATH]).toBe('src/vmm/src/lib.rs');
    expect(fcl.attributes[ATTR_CODE_LINE_NUMBER]).toBe(12);
  });

  it('other console text is guest output', () => {
    const r = one(consoleLine('[  OK  ] Started Kata Containers Agent.'));
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('guest-kernel');
    expect(r.attributes[ATTR_KATA_LOG_FORMAT]).toBe('text');
    expect(r.body).toBe('Started Kata Containers Agent.'); // systemd's status became the level (issue 12 item 5)
    expect(r.severityNumber).toBe(9);
    expect(r.attributes['kata.guest.target']).toBe('systemd');
    expect(r.attributes[ATTR_KATA_LOG_PARSE_ERROR]).toBeUndefined();
  });

  it('a console-split agent record is kept with the reason', () => {
    const inner =
      '{"msg":"baremount source=\\"proc\\"","level":"INFO","ts":"2023-06-07T10:17:23.537542429Z","pid":"1","subsystem":"baremount","name":"kata-agent","source":"agent';
    const r = one(consoleLine(inner));
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('agent');
    expect(r.body).toBe(inner);
    expect(String(r.attributes[ATTR_KATA_LOG_PARSE_ERROR])).toMatch(/^invalid JSON in vmconsole: /);
    expect(r.attributes[ATTR_KATA_SANDBOX_ID]).toBe(SB);
    expect(r.attributes[ATTR_KATA_FIELD('msg')]).toBe('baremount source="proc"');
    expect(r.timeUnixNano).toBe(1_686_133_043_537_542_429n);
    expect(r.severityNumber).toBe(9);
  });
});

describe('Firecracker FIFO and Kata 1.x kata-proxy', () => {
  it('`read firecracker fifo` contents become a Firecracker record', () => {
    const r = one(
      shim(
        '2023-10-13T14:15:56Z',
        'debug',
        'read firecracker fifo',
        `contents=${goQuote('2023-10-13T14:15:55.422429270 [anonymous-instance:fc_api] The API server received a Get request on "/".')} fifoName=logs.fifo subsystem=firecracker`,
      ),
    );
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('hypervisor');
    expect(r.attributes[ATTR_KATA_LOG_CARRIER]).toBe('firecracker-fifo');
    expect(r.attributes[ATTR_KATA_SANDBOX_ID]).toBe(SB);
    expect(r.attributes[ATTR_THREAD_NAME]).toBe('fc_api');
    expect(r.body).toBe('The API server received a Get request on "/".');
  });

  it('kata-proxy `source=agent` console lines', () => {
    const r = one(
      'Feb 13 16:20:56 minikube kata-proxy[17371]: time="2020-02-13T16:20:56.608714324Z" level=info msg="[    1.418768] brd: module loaded\\n" name=kata-proxy pid=17371 sandbox=a13f source=agent',
    );
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('guest-kernel');
    expect(r.attributes[ATTR_KATA_LOG_CARRIER]).toBe('kata-proxy');
    expect(r.attributes[ATTR_KATA_SANDBOX_ID]).toBe('a13f');
    expect(r.body).toBe('brd: module loaded');
    expect(r.timeUnixNano).toBe(1_581_610_856_608_714_324n);
    // a Kata 1.x agent logfmt record carried the same way
    const agent = one(
      `time="2020-02-13T16:20:56.6Z" level=info msg=${goQuote('time="2020-02-13T16:20:56.5Z" level=warning msg="device not found" name=kata-agent pid=1 source=agent')} name=kata-proxy pid=17371 sandbox=a13f source=agent`,
    );
    expect(agent.attributes[ATTR_KATA_COMPONENT]).toBe('agent');
    expect(agent.severityNumber).toBe(13);
    expect(agent.timeUnixNano).toBe(1_581_610_856_500_000_000n);
    expect(agent.attributes[ATTR_KATA_SANDBOX_ID]).toBe('a13f');
  });
});

describe('logrus JSON and terminal formats', () => {
  it('kata-runtime --log-format=json', () => {
    const r = one(
      '{"arch":"amd64","command":"check","level":"error","msg":"kernel module not loaded","name":"kata-runtime","pid":1234,"source":"runtime","time":"2021-05-17T19:43:30.1-07:00"}',
    );
    expect(r.attributes[ATTR_KATA_LOG_FORMAT]).toBe('logrus-json');
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('runtime');
    expect(r.attributes[ATTR_PROCESS_PID]).toBe(1234);
    expect(r.attributes[ATTR_KATA_FIELD('command')]).toBe('check');
    expect(r.severityNumber).toBe(17);
    expect(r.timeUnixNano).toBe(1_621_305_810_100_000_000n);
  });

  it('`ERRO[0000] msg   key=val` and full timestamps, with and without colours', () => {
    const r = one(
      'ERRO[0000] kernel module vhost_vsock not loaded            arch=amd64 name=kata-runtime pid=12 source=runtime',
    );
    expect(r.attributes[ATTR_KATA_LOG_FORMAT]).toBe('logrus-terminal');
    expect(r.severityText).toBe('ERRO');
    expect(r.severityNumber).toBe(17);
    expect(r.body).toBe('kernel module vhost_vsock not loaded');
    expect(r.attributes[ATTR_PROCESS_PID]).toBe(12);
    expect(r.attributes[ATTR_KATA_FIELD('elapsed')]).toBe('0000');
    const t = one('INFO[2021-05-17T19:43:30-07:00] System is capable of running Kata Containers');
    expect(t.timeUnixNano).toBe(1_621_305_810_000_000_000n);
    expect(t.body).toBe('System is capable of running Kata Containers');
    const c = one('\x1b[33mWARN\x1b[0m[0001] not sure: a=b c d  \x1b[33mname\x1b[0m=kata-runtime');
    expect(c.severityNumber).toBe(13);
    expect(c.body).toBe('not sure: a=b c d');
    expect(c.attributes[ATTR_KATA_NAME]).toBe('kata-runtime');
    const debu = one('DEBU[0000] x');
    expect(debu.severityNumber).toBe(5);
  });
});
