// End to end: `kata-otel run --once` (a real child process) replays shim lines of a sandbox whose bundles are gone
// (empty bundle roots, no CRI runtime lines in the log) with pipeline.k8s.cri pointing at the fake CRI runtime
// (a real gRPC server on a unix socket, test/support/cri-server.ts), exporting OTLP/gRPC to the OTLP test server
// on the official protos. Every record of the sandbox gets its pod from the CRI API, the container record its
// name and k8s.container.restart_count as an int, and the run makes one ListPodSandbox + ListContainers.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ATTR_CONTAINER_ID,
  ATTR_K8S_CONTAINER_NAME,
  ATTR_K8S_CONTAINER_RESTART_COUNT,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_POD_NAME,
  ATTR_K8S_POD_UID,
  ATTR_KATA_SANDBOX_ID,
} from '../../receiver/semconv/generated.js';
import { runCli } from '../support/cli.js';
import { criContainer, criSandbox, startCriServer, type FakeCriServer } from '../support/cri-server.js';
import { startOtlpServer, type OtlpTestServer, type RecordedLog } from '../support/otlp-server.js';
import { CID, IMAGE, SID, UID, shimContainerLine, shimSandboxLine } from './k8s-fixtures.js';

let dir: string;
let cri: FakeCriServer;
let otlp: OtlpTestServer;
let records: RecordedLog[];
let stderr: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kata-otel-k8s-cri-run-'));
  cri = await startCriServer(join(dir, 'containerd.sock'));
  const sb = criSandbox(SID, { name: 'payments-api-6cbf8b48b6-j4gc4', namespace: 'lab-b-arch', uid: UID });
  cri.sandboxes = [sb];
  cri.containers = [criContainer(CID, sb, 'api', IMAGE, 5)];
  otlp = await startOtlpServer();
  const state = join(dir, 'containerd'); // the bundles are gone: an empty state directory
  mkdirSync(state);
  const log = join(dir, 'node.log');
  writeFileSync(
    log,
    [
      shimSandboxLine(SID, 'VM started', '2024-08-28T09:46:31.220194851Z'),
      shimContainerLine(SID, CID, '2024-08-28T09:46:34.508812311Z'),
      shimSandboxLine(SID, 'Sandbox is started', '2024-08-28T09:46:35.601331020Z'),
    ].join('\n') + '\n',
  );
  const config = join(dir, 'kata-otel.yaml');
  writeFileSync(
    config,
    [
      `data_dir: ${join(dir, 'data')}`,
      'telemetry: { listen: null }',
      'doctor: { enabled: false }',
      `exporters: [{ type: otlp, protocol: grpc, endpoint: "${otlp.grpcEndpoint}" }]`,
      `pipeline: { k8s: { bundle_roots: [${state}], crio_roots: [], cri: { endpoints: [${cri.path}], timeout_ms: 2000 } } }`,
    ].join('\n'),
  );
  const res = await runCli(['run', '--once', '--config', config, log]);
  stderr = res.stderr;
  expect(res.code, res.stderr).toBe(0);
  records = (await otlp.records()).filter((r) => r.resource[ATTR_KATA_SANDBOX_ID] === SID);
}, 60_000);
afterAll(async () => {
  await otlp?.stop();
  await cri?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('kata-otel run --once with the CRI API fallback', () => {
  it('names every record of a sandbox whose bundles are gone from the CRI runtime', () => {
    expect(records).toHaveLength(3);
    for (const r of records)
      expect(r.resource).toMatchObject({
        [ATTR_K8S_POD_NAME]: 'payments-api-6cbf8b48b6-j4gc4',
        [ATTR_K8S_NAMESPACE_NAME]: 'lab-b-arch',
        [ATTR_K8S_POD_UID]: UID,
      });
    const ctr = records.find((r) => r.attributes[ATTR_CONTAINER_ID] === CID);
    expect(ctr?.attributes).toMatchObject({ [ATTR_K8S_CONTAINER_NAME]: 'api', [ATTR_K8S_CONTAINER_RESTART_COUNT]: 5 });
  });

  it('asks the runtime once for the whole replay and says the fallback is on', () => {
    expect(cri.calls).toEqual({ Version: 0, ListPodSandbox: 1, ListContainers: 1 });
    expect(stderr).toContain('k8s metadata: CRI API fallback on');
  });
});
