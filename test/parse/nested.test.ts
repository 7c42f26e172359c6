// Records inside records inside records: every level of escaping must round-trip exactly.
import { describe, expect, it } from 'vitest';
import { parseJournalEntry } from '../../receiver/parse/index.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_ERROR_MESSAGE,
  ATTR_HOST_NAME,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_JOURNAL_IDENTIFIER,
  ATTR_KATA_LOG_CARRIER,
  ATTR_KATA_LOG_PARSE_ERROR,
  ATTR_KATA_SANDBOX_ID,
  ATTR_KATA_SUBSYSTEM,
} from '../../receiver/semconv/generated.js';
import { ctx, goQuote, one } from './helpers.js';

// An agent message with quotes, a backslash, a tab and a non-ASCII character.
const AGENT_MSG = 'CreateContainerRequest is blocked by policy: "deny \\ all"\tcheck “rules” é';
const agentJson = JSON.stringify({
  msg: AGENT_MSG,
  level: 'ERRO',
  ts: '2025-11-20T16:25:33.010026353Z',
  version: '0.1.0',
  name: 'kata-agent',
  subsystem: 'policy',
  source: 'agent',
  pid: '1',
  cid: 'c0ffee',
});
const shimLine = `time="2025-11-20T16:25:32.996810781Z" level=debug msg="reading guest console" console-protocol=unix console-url=/run/vc/vm/sb9/console.sock name=containerd-shim-v2 pid=3426175 sandbox=sb9 source=virtcontainers subsystem=sandbox vmconsole=${goQuote(agentJson)}`;

function expectAgent(r: ReturnType<typeof one>) {
  expect(r.body).toBe(AGENT_MSG);
  expect(r.attributes[ATTR_KATA_COMPONENT]).toBe('agent');
  expect(r.attributes[ATTR_KATA_SANDBOX_ID]).toBe('sb9');
  expect(r.attributes[ATTR_CONTAINER_ID]).toBe('c0ffee');
  expect(r.attributes[ATTR_KATA_SUBSYSTEM]).toBe('policy');
  expect(r.attributes[ATTR_KATA_LOG_CARRIER]).toBe('vmconsole');
  expect(r.attributes[ATTR_KATA_LOG_PARSE_ERROR]).toBeUndefined();
  expect(r.severityNumber).toBe(17);
  expect(r.timeUnixNano).toBe(1_763_655_933_010_026_353n);
}

describe('three levels deep', () => {
  it('syslog-JSON wrapper → logfmt vmconsole → agent JSON with escaped quotes', () => {
    const wrapper = JSON.stringify({ host: 'node-7', programname: 'kata', procid: 3426175, message: shimLine });
    const r = one(wrapper);
    expectAgent(r);
    expect(r.attributes[ATTR_HOST_NAME]).toBe('node-7');
    expect(r.attributes[ATTR_KATA_JOURNAL_IDENTIFIER]).toBe('kata');
  });

  it('syslog prefix → logfmt vmconsole → agent JSON', () => {
    expectAgent(one(`Nov 20 16:25:32 node-7 containerd[2771108]: ${shimLine}`));
  });

  it('journald entry → logfmt vmconsole → agent JSON', () => {
    const [r] = parseJournalEntry(
      { SYSLOG_IDENTIFIER: 'kata', _HOSTNAME: 'node-7', MESSAGE: shimLine, __REALTIME_TIMESTAMP: '1' },
      ctx(),
    );
    expectAgent(r as ReturnType<typeof one>);
  });

  it('runtime-rs JSON → Rust-quoted vm console → agent JSON', () => {
    const rs = JSON.stringify({
      msg: `vm console: ${JSON.stringify(agentJson)}`,
      level: 'INFO',
      ts: '2025-11-20T16:25:34Z',
      name: 'kata-runtime',
      source: 'sb9',
      subsystem: 'hypervisor',
      pid: '9',
    });
    const r = one(rs);
    expect(r.body).toBe(AGENT_MSG);
    expect(r.attributes[ATTR_KATA_SANDBOX_ID]).toBe('sb9');
    expect(r.attributes[ATTR_KATA_LOG_CARRIER]).toBe('runtime-rs');
  });

  it('containerd → logrus line in error= → error= with escaped quotes, each level intact', () => {
    const level3 = 'failed to Statfs "/run/vc/sbs/foo": no such file\\directory';
    const level2 = `time="2021-05-17T19:44:00-07:00" level=warning msg="failed to cleanup container" container=foo error=${goQuote(level3)} name=containerd-shim-v2 pid=1614972 sandbox=foo source=containerd-kata-shim-v2\nio.containerd.kata.v2: exit status 1`;
    const level1 = `May 17 19:44:00 raisin containerd[1614424]: time="2021-05-17T19:44:00.779507888-07:00" level=warning msg="failed to clean up after shim disconnected" error=${goQuote(level2)} id=foo namespace=default`;
    const r1 = one(level1);
    expect(r1.attributes[ATTR_KATA_COMPONENT]).toBe('containerd');
    expect(r1.attributes[ATTR_ERROR_MESSAGE]).toBe(level2);
    const r2 = one(String(r1.attributes[ATTR_ERROR_MESSAGE]));
    expect(r2.attributes[ATTR_ERROR_MESSAGE]).toBe(level3);
    expect(r2.attributes[ATTR_CONTAINER_ID]).toBe('foo');
  });
});
