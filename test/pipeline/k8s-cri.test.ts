// The CRI API fallback of K8sMetadataStage against a fake CRI runtime: a real gRPC server on a unix socket
// speaking the vendored cri-api runtime.v1 proto (test/support/cri-server.ts), counting the calls it gets.
// Records are real shim lines parsed by parseText; bundles are real files; the clock is injected so the refresh
// interval is exact.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { K8sMetadataStage, type K8sMetadataOptions } from '../../receiver/pipeline/k8s.js';
import { podMetadataFromAnnotations } from '../../receiver/pipeline/k8s/metadata.js';
import {
  ATTR_CONTAINER_IMAGE_NAME,
  ATTR_K8S_CONTAINER_NAME,
  ATTR_K8S_CONTAINER_RESTART_COUNT,
  ATTR_K8S_POD_NAME,
} from '../../receiver/semconv/generated.js';
import { createLogger } from '../../receiver/telemetry/log.js';
import { REPO } from '../support/cli.js';
import { criContainer, criSandbox, startCriServer, type FakeCriServer } from '../support/cri-server.js';
import {
  CID,
  IMAGE,
  SID,
  UID,
  containerdContainer,
  containerdSandbox,
  crioContainer,
  parse,
  shimContainerLine,
  shimSandboxLine,
  writeContainerdBundle,
  writeCrioBundle,
  K8S_KEYS,
  attrsOf,
  podAttrs,
} from './k8s-fixtures.js';

const POD = { name: 'nginx', namespace: 'default', uid: UID };
const k8sOf = (r: KataLogRecord) => attrsOf(r, [...K8S_KEYS, ATTR_K8S_CONTAINER_RESTART_COUNT]);

/** A 64-hex id of its own for `n`. */
const hexId = (n: number) => n.toString(16).padStart(64, 'a');

let dir: string;
let containerd: string;
let clock: number;
let cri: FakeCriServer | undefined;
let stage: K8sMetadataStage | undefined;
let logLines: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kata-otel-k8s-cri-'));
  containerd = join(dir, 'run/containerd');
  clock = 1_000_000;
  logLines = [];
});
afterEach(async () => {
  stage?.close();
  stage = undefined;
  await cri?.stop();
  cri = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function makeStage(endpoints: string[], extra: K8sMetadataOptions = {}): K8sMetadataStage {
  stage = new K8sMetadataStage({
    bundleRoots: [containerd],
    crioRoots: [join(dir, 'crio')],
    now: () => clock,
    logger: createLogger({ level: 'debug', write: (l) => logLines.push(l) }),
    cri: { endpoints, timeoutMs: 500, refreshMs: 10_000 },
    ...extra,
  });
  return stage;
}

const run = (s: K8sMetadataStage, ...lines: string[]) => s.process(lines.map(parse));
const logged = (level: string) =>
  logLines.map((l) => JSON.parse(l) as { level: string; msg: string }).filter((l) => l.level === level);

async function fakeRuntime(): Promise<FakeCriServer> {
  cri = await startCriServer(join(dir, 'containerd.sock'));
  const sb = criSandbox(SID, POD);
  cri.sandboxes = [sb];
  cri.containers = [criContainer(CID, sb, 'web', IMAGE, 3)];
  return cri;
}

describe('K8sMetadataStage: CRI API fallback', () => {
  it('names a replayed sandbox and container whose bundles are gone, with the restart count', async () => {
    const srv = await fakeRuntime();
    const s = makeStage([srv.path]);
    await s.ready();
    const [sb, ctr] = run(s, shimSandboxLine(SID), shimContainerLine(SID, CID));
    expect(k8sOf(sb as KataLogRecord)).toEqual(podAttrs(POD));
    expect(k8sOf(ctr as KataLogRecord)).toEqual({
      ...podAttrs(POD),
      [ATTR_K8S_CONTAINER_NAME]: 'web',
      // The pod spec's image, not the sha256 id the kubelet hands the runtime.
      [ATTR_CONTAINER_IMAGE_NAME]: IMAGE,
      [ATTR_K8S_CONTAINER_RESTART_COUNT]: 3,
    });
    expect(srv.calls).toEqual({ Version: 0, ListPodSandbox: 1, ListContainers: 1 });
    expect(logged('info').map((l) => l.msg)).toContain('k8s metadata: CRI API fallback on');
  });

  it('refreshes at most once per refresh interval however many ids miss, and fills the misses afterwards', async () => {
    const srv = await fakeRuntime();
    const s = makeStage([srv.path]);
    await s.ready();
    expect(srv.calls.ListPodSandbox).toBe(1);
    // 50 pods the runtime starts after the first snapshot, 4 records each.
    const ids = Array.from({ length: 50 }, (_, i) => hexId(i));
    srv.sandboxes.push(...ids.map((id, i) => criSandbox(id, { name: `pod-${i}`, namespace: 'ns', uid: `uid-${i}` })));
    const lines = ids.flatMap((id) => [1, 2, 3, 4].map(() => shimSandboxLine(id)));
    // Within the interval: misses ask for nothing.
    run(s, ...lines);
    await new Promise((r) => setTimeout(r, 50));
    expect(srv.calls.ListPodSandbox).toBe(1);
    // After it: 200 records of 50 unknown ids make one refresh.
    clock += 10_000;
    const before = run(s, ...lines);
    expect(before.every((r) => r.attributes[ATTR_K8S_POD_NAME] === undefined)).toBe(true);
    await s.cri?.refresh(); // joins the refresh those misses started
    expect(srv.calls).toEqual({ Version: 0, ListPodSandbox: 2, ListContainers: 2 });
    // The misses were adopted: no wait for the 30 s miss TTL.
    const after = run(s, ...lines);
    expect(after.map((r) => r.attributes[ATTR_K8S_POD_NAME])).toEqual(ids.flatMap((_, i) => Array(4).fill(`pod-${i}`)));
    // A new miss right after the refresh waits for the next interval.
    run(s, shimSandboxLine(hexId(999)));
    clock += 9_999;
    run(s, shimSandboxLine(hexId(998)));
    await new Promise((r) => setTimeout(r, 50));
    expect(srv.calls.ListPodSandbox).toBe(2);
    clock += 1;
    run(s, shimSandboxLine(hexId(997)));
    await s.cri?.refresh();
    expect(srv.calls.ListPodSandbox).toBe(3);
  });

  it("does not give a record another sandbox's container (an id named in guest text)", async () => {
    const srv = await fakeRuntime();
    const other = hexId(7);
    srv.sandboxes.push(criSandbox(other, { name: 'victim', namespace: 'prod', uid: 'uid-v' }));
    srv.containers.push(criContainer(hexId(8), srv.sandboxes[1]!, 'secret-app', IMAGE, 0));
    const s = makeStage([srv.path]);
    await s.ready();
    const [rec] = run(s, shimContainerLine(SID, hexId(8)));
    expect(k8sOf(rec as KataLogRecord)).toEqual(podAttrs(POD));
  });

  it('lets a bundle win field by field and adds only what it lacks (containerd: the restart count)', async () => {
    const srv = await fakeRuntime();
    // The runtime would name the pod differently: the bundle's names must stay.
    srv.sandboxes = [criSandbox(SID, { name: 'from-cri', namespace: 'cri-ns', uid: 'cri-uid' })];
    srv.containers = [criContainer(CID, srv.sandboxes[0]!, 'cri-name', 'docker.io/library/other:1', 2)];
    writeContainerdBundle(containerd, SID, containerdSandbox(SID, POD));
    writeContainerdBundle(containerd, CID, containerdContainer(SID, POD, 'web', IMAGE));
    const s = makeStage([srv.path]);
    await s.ready();
    const [sb, ctr] = run(s, shimSandboxLine(SID), shimContainerLine(SID, CID));
    expect(k8sOf(sb as KataLogRecord)).toEqual(podAttrs(POD));
    expect(k8sOf(ctr as KataLogRecord)).toEqual({
      ...podAttrs(POD),
      [ATTR_K8S_CONTAINER_NAME]: 'web',
      [ATTR_CONTAINER_IMAGE_NAME]: IMAGE,
      [ATTR_K8S_CONTAINER_RESTART_COUNT]: 2,
    });
  });

  it('completes a bundle entry cached before the runtime listed the container', async () => {
    const srv = await fakeRuntime();
    srv.containers = [];
    writeContainerdBundle(containerd, CID, containerdContainer(SID, POD, 'web', IMAGE));
    const s = makeStage([srv.path]);
    await s.ready();
    clock += 10_000;
    const [first] = run(s, shimContainerLine(SID, CID));
    expect(first?.attributes[ATTR_K8S_CONTAINER_NAME]).toBe('web');
    expect(first?.attributes[ATTR_K8S_CONTAINER_RESTART_COUNT]).toBeUndefined();
    srv.containers = [criContainer(CID, srv.sandboxes[0]!, 'web', IMAGE, 1)];
    await s.cri?.refresh();
    const [second] = run(s, shimContainerLine(SID, CID));
    expect(second?.attributes[ATTR_K8S_CONTAINER_RESTART_COUNT]).toBe(1);
  });

  it('takes the restart count from CRI-O bundle annotations without asking the runtime', async () => {
    const srv = await fakeRuntime();
    srv.containers = [];
    const crio = join(dir, 'crio');
    const spec = crioContainer(CID, SID, POD, 'web', IMAGE) as { annotations: Record<string, string> };
    spec.annotations['io.kubernetes.container.restartCount'] = '4';
    writeCrioBundle(crio, CID, spec);
    const s = makeStage([srv.path], { crioRoots: [crio] });
    await s.ready();
    clock += 10_000;
    const [rec] = run(s, shimContainerLine(SID, CID));
    expect(rec?.attributes[ATTR_K8S_CONTAINER_RESTART_COUNT]).toBe(4);
    await new Promise((r) => setTimeout(r, 50));
    expect(srv.calls.ListContainers).toBe(1); // only the start
  });

  it('reads the count from CRI-O metadata JSON when the kubelet annotation is absent, and ignores bad values', () => {
    const base = { 'io.kubernetes.cri-o.ContainerType': 'container', 'io.kubernetes.pod.name': 'p' };
    const m = (extra: Record<string, string>) => podMetadataFromAnnotations({ ...base, ...extra })?.restartCount;
    expect(m({ 'io.kubernetes.cri-o.Metadata': '{"name":"web","attempt":7}' })).toBe(7);
    expect(m({ 'io.kubernetes.cri-o.Metadata': '{"name":"web"}' })).toBeUndefined();
    expect(m({ 'io.kubernetes.container.restartCount': '-1' })).toBeUndefined();
    expect(m({ 'io.kubernetes.container.restartCount': '1e3' })).toBeUndefined();
    expect(m({ 'io.kubernetes.cri-o.Metadata': '{"attempt":' })).toBeUndefined();
  });
});

describe('K8sMetadataStage: CRI runtime absent, down or slow', () => {
  it('says once at start that the fallback is unavailable when no socket exists, and never logs again', async () => {
    const s = makeStage([join(dir, 'none/containerd.sock'), join(dir, 'crio.sock')]);
    await s.ready();
    expect(logged('info').map((l) => l.msg)).toEqual([
      'k8s metadata: CRI API fallback unavailable (no CRI socket answered); pod names come from bundles and CRI log lines',
    ]);
    clock += 60_000;
    const out = run(s, shimSandboxLine(SID));
    expect(k8sOf(out[0] as KataLogRecord)).toEqual({});
    await s.cri?.refresh();
    expect(logged('warn')).toEqual([]);
    expect(logged('info')).toHaveLength(1);
  });

  it('leaves records unchanged with a socket whose runtime died (SIGKILL), with one warning', async () => {
    // A runtime killed with SIGKILL leaves its socket file behind: connect() is refused.
    const path = join(dir, 'dead.sock');
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)})`]);
    while (!existsSync(path)) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const s = makeStage([path]);
    await s.ready();
    for (let i = 0; i < 5; i++) {
      clock += 10_000;
      const out = run(s, shimSandboxLine(hexId(i)), shimContainerLine(hexId(i), hexId(100 + i)));
      expect(out).toHaveLength(2);
      expect(out.map(k8sOf)).toEqual([{}, {}]);
      await s.cri?.refresh();
    }
    expect(logged('warn').map((l) => l.msg)).toEqual([
      'k8s metadata: CRI socket did not answer; retried at most every refresh interval',
    ]);
  });

  it('bounds a slow runtime by timeout_ms: start and refreshes give up, records flow unchanged', async () => {
    const srv = await fakeRuntime();
    srv.delayMs = 5_000;
    const s = makeStage([srv.path], {});
    const t0 = performance.now();
    await s.ready();
    // Bounded by the 500 ms deadline, far below the runtime's 5 s (not a speed test: a missing deadline hangs).
    expect(performance.now() - t0).toBeLessThan(4_000);
    expect(srv.calls.ListPodSandbox).toBe(1);
    const out = run(s, shimSandboxLine(SID), shimContainerLine(SID, CID));
    expect(out.map(k8sOf)).toEqual([{}, {}]);
    // The runtime recovers: the next refresh after the interval names the records.
    srv.delayMs = 0;
    clock += 10_000;
    run(s, shimSandboxLine(SID));
    await s.cri?.refresh();
    const named = run(s, shimSandboxLine(SID), shimContainerLine(SID, CID));
    expect(named.map((r) => r.attributes[ATTR_K8S_POD_NAME])).toEqual(['nginx', 'nginx']);
    expect(named[1]?.attributes[ATTR_K8S_CONTAINER_RESTART_COUNT]).toBe(3);
    expect(logged('info').map((l) => l.msg)).toContain('k8s metadata: CRI socket answers again');
  });

  it('skips a path that is not a socket', async () => {
    const path = join(dir, 'plain-file.sock');
    writeFileSync(path, 'not a socket');
    const s = makeStage([path]);
    await s.ready();
    expect(logged('warn')).toEqual([]);
    expect(run(s, shimSandboxLine(SID)).map(k8sOf)).toEqual([{}]);
  });

  // containerd's socket is root:root 0660: kata-otel run as another user gets one warning naming the fix. Needs
  // root here to run the probe as `nobody`.
  it.skipIf(process.getuid?.() !== 0)('warns once, with the fix, when the socket is not accessible', async () => {
    const srv = await fakeRuntime();
    chmodSync(dir, 0o755);
    chmodSync(srv.path, 0o660);
    const probe = `
      const { CriMetadata } = await import(${JSON.stringify(join(REPO, 'receiver/pipeline/k8s/cri.ts'))});
      const { createLogger } = await import(${JSON.stringify(join(REPO, 'receiver/telemetry/log.ts'))});
      let t = 0;
      const cri = new CriMetadata({ endpoints: [${JSON.stringify(srv.path)}], timeoutMs: 500, refreshMs: 10,
        now: () => t, logger: createLogger({ level: 'debug', write: (l) => process.stdout.write(l) }) });
      await cri.start();
      for (let i = 0; i < 3; i++) { t += 10; cri.get('x'.repeat(64)); await cri.refresh(); }
      cri.close();`;
    const home = join(dir, 'home');
    mkdirSync(home, { mode: 0o777 });
    chmodSync(home, 0o777);
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], {
      uid: 65534,
      gid: 65534,
      cwd: REPO,
      env: { ...process.env, HOME: home },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: string; msg: string; endpoint?: string });
    const warns = lines.filter((l) => l.level === 'warn');
    expect(warns).toHaveLength(1);
    expect(warns[0]?.msg).toMatch(/not accessible.*Run kata-otel as root.*pipeline\.k8s\.cri\.enabled: false/);
    expect(warns[0]?.endpoint).toBe(srv.path);
    expect(srv.calls.ListPodSandbox).toBe(0);
  });
});
