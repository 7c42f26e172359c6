// End to end: `kata-otel run --once` (a real child process) with pipeline.k8s.bundle_roots pointing at a
// containerd state directory laid out in a temp dir, exporting OTLP/JSON on stdout: the pod lands on the
// resource and the container on the record. A second sandbox has no bundle (a replay after teardown) and gets
// its pod from containerd's own RunPodSandbox line in the same log. Alerts raised by the rules after the stage
// carry the pod of the record that triggered them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ATTR_CONTAINER_ID,
  ATTR_CONTAINER_IMAGE_NAME,
  ATTR_K8S_CONTAINER_NAME,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_POD_NAME,
  ATTR_K8S_POD_UID,
  ATTR_KATA_SANDBOX_ID,
  EVENT_KATA_ALERT,
} from '../../receiver/semconv/generated.js';
import { runCli } from '../support/cli.js';
import {
  CID,
  IMAGE,
  SID,
  UID,
  containerdContainer,
  containerdSandbox,
  shimContainerLine,
  shimSandboxLine,
  writeContainerdBundle,
} from './k8s-fixtures.js';

interface KeyValue {
  key: string;
  value: { stringValue?: string };
}
interface ExportRequest {
  resourceLogs: {
    resource: { attributes: KeyValue[] };
    scopeLogs: { logRecords: { attributes: KeyValue[]; eventName?: string }[] }[];
  }[];
}
const toMap = (kvs: KeyValue[]) => Object.fromEntries(kvs.map((kv) => [kv.key, kv.value.stringValue]));

const REPLAY_SID = '79abc1e1ca89ae284e0da7d53cf0de68292b54a9e58653b4ceb09163b7072134';
const REPLAY_UID = '16ab39e1-f877-47a8-b366-e2703d4d014a';

let dir: string;
let records: { resource: Record<string, unknown>; attributes: Record<string, unknown>; eventName?: string }[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kata-otel-k8s-run-'));
  const state = join(dir, 'containerd');
  writeContainerdBundle(state, SID, containerdSandbox(SID, { name: 'nginx', namespace: 'default', uid: UID }));
  writeContainerdBundle(
    state,
    CID,
    containerdContainer(SID, { name: 'nginx', namespace: 'default', uid: UID }, 'web', IMAGE),
  );
  const log = join(dir, 'node.log');
  writeFileSync(
    log,
    [
      shimSandboxLine(SID, 'VM started', '2024-08-28T09:46:31.220194851Z'),
      shimContainerLine(SID, CID, '2024-08-28T09:46:34.508812311Z'),
      // Triggers the built-in kata-agent-unreachable rule (monitor.go `notify on errors`).
      `Aug 28 09:48:10 node-1 kata[41001]: time="2024-08-28T09:48:10.002816400Z" level=warning msg="notify on errors" error="failed to ping agent: context deadline exceeded" name=containerd-shim-v2 pid=41001 sandbox=${SID} source=virtcontainers subsystem=virtcontainers/monitor`,
      `Aug 28 09:50:02 node-1 containerd[2506]: time="2024-08-28T09:50:02.480291720Z" level=info msg="RunPodSandbox for &PodSandboxMetadata{Name:payments-api-6cbf8b48b6-j4gc4,Uid:${REPLAY_UID},Namespace:lab-b-arch,Attempt:0,} returns sandbox id \\"${REPLAY_SID}\\""`,
      shimSandboxLine(REPLAY_SID, 'Sandbox is started', '2024-08-28T09:50:02.601331020Z'),
    ].join('\n') + '\n',
  );
  const config = join(dir, 'kata-otel.yaml');
  writeFileSync(
    config,
    [
      `data_dir: ${join(dir, 'data')}`,
      'telemetry: { listen: null }',
      'exporters: [{ type: stdout, format: otlp-json }]',
      `pipeline: { k8s: { bundle_roots: [${state}], crio_roots: [] } }`,
    ].join('\n'),
  );
  const res = await runCli(['run', '--once', '--config', config, log]);
  expect(res.code, res.stderr).toBe(0);
  records = res.stdout
    .split('\n')
    // Lifecycle spans share stdout (`resourceSpans` lines): only the log requests are looked at here.
    .filter((l) => l.includes('"resourceLogs"'))
    .flatMap((l) => (JSON.parse(l) as ExportRequest).resourceLogs)
    .flatMap((rl) =>
      rl.scopeLogs.flatMap((sl) =>
        sl.logRecords.map((r) => ({
          resource: toMap(rl.resource.attributes),
          attributes: toMap(r.attributes),
          eventName: r.eventName,
        })),
      ),
    );
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kata-otel run --once with pipeline.k8s', () => {
  it('puts the pod from the bundle on the resource of sandbox and container records', () => {
    const ofSandbox = records.filter(
      (r) => r.resource[ATTR_KATA_SANDBOX_ID] === SID && r.eventName !== EVENT_KATA_ALERT,
    );
    expect(ofSandbox).toHaveLength(3);
    for (const r of ofSandbox) {
      expect(r.resource).toMatchObject({
        [ATTR_K8S_POD_NAME]: 'nginx',
        [ATTR_K8S_NAMESPACE_NAME]: 'default',
        [ATTR_K8S_POD_UID]: UID,
      });
      expect(r.attributes[ATTR_K8S_POD_NAME]).toBeUndefined();
    }
    const ctr = ofSandbox.find((r) => r.attributes[ATTR_CONTAINER_ID] === CID);
    expect(ctr?.attributes).toMatchObject({ [ATTR_K8S_CONTAINER_NAME]: 'web', [ATTR_CONTAINER_IMAGE_NAME]: IMAGE });
    const sb = ofSandbox.find((r) => r.attributes[ATTR_CONTAINER_ID] === undefined);
    expect(sb?.attributes[ATTR_K8S_CONTAINER_NAME]).toBeUndefined();
  });

  it('runs before the rules: the alert carries the pod', () => {
    const alerts = records.filter((r) => r.eventName === EVENT_KATA_ALERT);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.resource).toMatchObject({ [ATTR_KATA_SANDBOX_ID]: SID, [ATTR_K8S_POD_NAME]: 'nginx' });
  });

  it("names a sandbox without a bundle from containerd's RunPodSandbox line", () => {
    const replay = records.filter((r) => r.resource[ATTR_KATA_SANDBOX_ID] === REPLAY_SID);
    expect(replay).toHaveLength(1);
    expect(replay[0]?.resource).toMatchObject({
      [ATTR_K8S_POD_NAME]: 'payments-api-6cbf8b48b6-j4gc4',
      [ATTR_K8S_NAMESPACE_NAME]: 'lab-b-arch',
      [ATTR_K8S_POD_UID]: REPLAY_UID,
    });
  });
});
