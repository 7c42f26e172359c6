// Carrier prefixes: syslog/journal short and short-iso, PRI, RFC 5424, and collector JSON wrappers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ATTR_HOST_NAME,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_JOURNAL_IDENTIFIER,
  ATTR_KATA_LOG_PARSE_ERROR,
  ATTR_KATA_SANDBOX_ID,
  ATTR_LOG_IOSTREAM,
  ATTR_PROCESS_PID,
} from '../../receiver/semconv/generated.js';
import { ctx, one } from './helpers.js';

const SHM =
  'time="2021-05-17T19:43:30.6520286-07:00" level=info msg="shm-size detected: 67108864" source=virtcontainers subsystem=oci';
const localNs = (y: number, mo: number, d: number, h: number, mi: number, s: number) =>
  BigInt(new Date(y, mo, d, h, mi, s).getTime()) * 1_000_000n;

let tz: string | undefined;
beforeAll(() => {
  tz = process.env.TZ;
  process.env.TZ = 'Europe/Berlin';
});
afterAll(() => {
  if (tz === undefined) delete process.env.TZ;
  else process.env.TZ = tz;
});

describe('journalctl short prefix', () => {
  it('gives host, identifier, and the pid when the record has none; the inner time wins', () => {
    const r = one(`May 17 19:43:30 raisin kata[1614807]: ${SHM}`);
    expect(r.attributes[ATTR_HOST_NAME]).toBe('raisin');
    expect(r.attributes[ATTR_KATA_JOURNAL_IDENTIFIER]).toBe('kata');
    expect(r.attributes[ATTR_PROCESS_PID]).toBe(1614807);
    expect(r.timeUnixNano).toBe(1_621_305_810_652_028_600n);
    expect(r.body).toBe('shm-size detected: 67108864');
  });

  it("does not take containerd's pid for a shim record containerd relayed", () => {
    const r = one(`May 17 19:43:30 raisin containerd[1614424]: ${SHM}`);
    expect(r.attributes[ATTR_KATA_JOURNAL_IDENTIFIER]).toBe('containerd');
    expect(r.attributes[ATTR_PROCESS_PID]).toBeUndefined();
    const own = one(
      'May 17 19:44:00 raisin containerd[1614424]: time="2021-05-17T19:44:00.757065583-07:00" level=info msg="shim disconnected" id=foo',
    );
    expect(own.attributes[ATTR_PROCESS_PID]).toBe(1614424);
  });

  it("keeps the record's own pid", () => {
    const r = one('May 17 19:43:30 raisin kata[1]: time="2021-05-17T19:43:30Z" level=info msg=x pid=42 sandbox=foo');
    expect(r.attributes[ATTR_PROCESS_PID]).toBe(42);
  });

  it('uses the prefix time (local, year of the observed time) when the record has none, in other locales too', () => {
    const observed = BigInt(Date.UTC(2025, 10, 24)) * 1_000_000n;
    expect(
      one('Mai 17 19:43:30 host kata[1]: level=info msg="no time"', ctx({ observedTimeUnixNano: observed }))
        .timeUnixNano,
    ).toBe(localNs(2025, 4, 17, 19, 43, 30));
    expect(
      one('déc.  5 08:00:01 hôte kata[1]: level=warning msg=x', ctx({ observedTimeUnixNano: observed })).timeUnixNano,
    ).toBe(
      localNs(2024, 11, 5, 8, 0, 1), // December 5 would be in the future in November 2025: last year
    );
    const es = one(
      'dic 24 10:00:00 nodo kata[7]: level=info msg=x',
      ctx({ observedTimeUnixNano: BigInt(Date.UTC(2025, 11, 30)) * 1_000_000n }),
    );
    expect(es.timeUnixNano).toBe(localNs(2025, 11, 24, 10, 0, 0));
    expect(es.attributes[ATTR_HOST_NAME]).toBe('nodo');
  });

  it('reads short-precise fractions', () => {
    const observed = BigInt(Date.UTC(2025, 10, 24)) * 1_000_000n;
    const r = one('Nov 20 16:25:32.996810 dal03 kata[5]: level=info msg=x', ctx({ observedTimeUnixNano: observed }));
    expect(r.timeUnixNano).toBe(localNs(2025, 10, 20, 16, 25, 32) + 996_810_000n);
  });

  it('virtiofsd lines are virtiofsd records', () => {
    const r = one(
      'May 17 19:43:30 raisin virtiofsd[1614900]: virtio_session_mount: Waiting for vhost-user socket connection...',
    );
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('virtiofsd');
    expect(r.attributes[ATTR_PROCESS_PID]).toBe(1614900);
    expect(r.body).toBe('virtio_session_mount: Waiting for vhost-user socket connection...');
    expect(r.attributes[ATTR_KATA_LOG_PARSE_ERROR]).toBeUndefined();
  });

  it('an unknown identifier with free text is unrecognised but keeps the prefix data', () => {
    const r = one('May 17 19:43:30 raisin systemd[1]: Started foo.service.');
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('unknown');
    expect(r.attributes[ATTR_KATA_LOG_PARSE_ERROR]).toBe('unrecognised line');
    expect(r.attributes[ATTR_HOST_NAME]).toBe('raisin');
    expect(r.body).toBe('Started foo.service.');
  });
});

describe('journalctl -o short-iso', () => {
  it('takes host and identifier, and its exact time when the record has none', () => {
    const r = one(
      '2025-11-20T16:25:32+0000 dal03-sgpu-160 containerd[2771108]: time="2025-11-20T16:25:32.996810781Z" level=debug msg=x sandbox=s name=containerd-shim-v2',
    );
    expect(r.attributes[ATTR_HOST_NAME]).toBe('dal03-sgpu-160');
    expect(r.attributes[ATTR_KATA_JOURNAL_IDENTIFIER]).toBe('containerd');
    expect(r.timeUnixNano).toBe(1_763_655_932_996_810_781n);
    expect(one('2025-11-20T16:25:32+0100 h kata[3]: plain runtime-rs text').timeUnixNano).toBe(
      1_763_652_332_000_000_000n,
    );
  });
});

describe('PRI and RFC 5424', () => {
  it('raw datagram without host: `<6>Feb 21 10:31:27 kata-runtime[14314]: …`', () => {
    const r = one(
      '<6>Feb 21 10:31:27 kata-runtime[14314]: time="2020-02-21T10:31:27.810781647Z" level=info msg="release sandbox" name=kata-runtime pid=14314 sandbox=1c3e source=virtcontainers subsystem=sandbox',
    );
    expect(r.attributes[ATTR_KATA_JOURNAL_IDENTIFIER]).toBe('kata-runtime');
    expect(r.attributes[ATTR_HOST_NAME]).toBeUndefined();
    expect(r.attributes[ATTR_KATA_SANDBOX_ID]).toBe('1c3e');
    expect(r.severityNumber).toBe(9);
    expect(r.timeUnixNano).toBe(1_582_281_087_810_781_647n);
  });

  it('PRI severity is the fallback for text without a level', () => {
    const r = one('<3>May 17 19:43:30 raisin virtiofsd[9]: fuse: device not found');
    expect(r.severityNumber).toBe(17);
    expect(r.severityText).toBe('3');
  });

  it('RFC 5424 with structured data', () => {
    const r = one(
      '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com kata 1234 ID47 [exampleSDID@32473 iut="3" eventSource="App\\]x"] level=info msg="hello" sandbox=sb',
    );
    expect(r.attributes[ATTR_HOST_NAME]).toBe('mymachine.example.com');
    expect(r.attributes[ATTR_KATA_JOURNAL_IDENTIFIER]).toBe('kata');
    expect(r.attributes[ATTR_PROCESS_PID]).toBe(1234);
    expect(r.body).toBe('hello');
    expect(r.timeUnixNano).toBe(1_065_910_455_003_000_000n);
    const nil = one('<14>1 - - - - - - [    0.437005] brd: module loaded');
    expect(nil.attributes[ATTR_KATA_COMPONENT]).toBe('guest-kernel');
    expect(nil.severityNumber).toBe(9);
  });
});

describe('collector JSON wrappers', () => {
  it('rsyslog/fluent JSON around a Go shim line', () => {
    const r = one(
      JSON.stringify({
        timestamp: '2021-05-18T02:43:30Z',
        host: 'raisin',
        programname: 'kata',
        procid: '1614807',
        message: SHM,
      }),
    );
    expect(r.body).toBe('shm-size detected: 67108864');
    expect(r.attributes[ATTR_HOST_NAME]).toBe('raisin');
    expect(r.attributes[ATTR_KATA_JOURNAL_IDENTIFIER]).toBe('kata');
    expect(r.attributes[ATTR_PROCESS_PID]).toBe(1614807);
    expect(r.timeUnixNano).toBe(1_621_305_810_652_028_600n);
  });

  it('docker json-file `{"log": …}` with stream', () => {
    const line =
      '{"msg":"ttRPC server started","level":"INFO","ts":"2021-07-14T14:56:42.558522099+08:00","name":"kata-agent","source":"agent","subsystem":"rpc","pid":"1"}';
    const r = one(JSON.stringify({ log: line + '\n', stream: 'stderr', time: '2021-07-14T06:56:42.6Z' }));
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('agent');
    expect(r.attributes[ATTR_LOG_IOSTREAM]).toBe('stderr');
    expect(r.timeUnixNano).toBe(1_626_245_802_558_522_099n);
  });

  it('wrapper time and level are fallbacks for a line without them', () => {
    const r = one(
      JSON.stringify({
        time: '2021-07-14T06:56:42.5Z',
        level: 'error',
        message: 'qemu-system-x86_64: cannot set up guest memory',
      }),
    );
    expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('hypervisor');
    expect(r.timeUnixNano).toBe(1_626_245_802_500_000_000n);
    expect(r.severityNumber).toBe(17);
  });

  it('a `msg` that is itself a Kata line', () => {
    const r = one(JSON.stringify({ msg: SHM, host: 'h' }));
    expect(r.body).toBe('shm-size detected: 67108864');
    expect(r.attributes[ATTR_HOST_NAME]).toBe('h');
  });
});
