// K8sMetadataStage over real files laid out like containerd's and CRI-O's state directories, real-format CRI
// runtime log lines parsed by parseText, and an injected clock for the cache bounds and TTLs.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { isResourceKey } from '../../receiver/otlp/index.js';
import { K8sMetadataStage, type K8sMetadataOptions } from '../../receiver/pipeline/k8s.js';
import { criMapping, parseCriMetadata } from '../../receiver/pipeline/k8s/cri-lines.js';
import {
  ATTR_CONTAINER_IMAGE_NAME,
  ATTR_K8S_CONTAINER_NAME,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_POD_NAME,
  ATTR_K8S_POD_UID,
} from '../../receiver/semconv/generated.js';
import { createLogger } from '../../receiver/telemetry/log.js';
import {
  CID,
  IMAGE,
  SID,
  UID,
  containerdContainer,
  containerdSandbox,
  crioContainer,
  crioSandbox,
  parse,
  shimContainerLine,
  shimSandboxLine,
  writeContainerdBundle,
  writeCrioBundle,
  k8sOf,
  podAttrs,
} from './k8s-fixtures.js';

const POD = { name: 'nginx', namespace: 'default', uid: UID };
let dir: string;
let containerd: string;
let k3s: string;
let crioRun: string;
let crioLib: string;
let clock: number;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kata-otel-k8s-'));
  containerd = join(dir, 'run/containerd');
  k3s = join(dir, 'run/k3s/containerd');
  crioRun = join(dir, 'run/containers/storage');
  crioLib = join(dir, 'var/lib/containers/storage');
  clock = 1_000_000;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function stage(extra: K8sMetadataOptions = {}): K8sMetadataStage {
  return new K8sMetadataStage({
    bundleRoots: [containerd, k3s],
    crioRoots: [crioRun, crioLib],
    now: () => clock,
    ...extra,
  });
}

const run = (s: K8sMetadataStage, ...lines: string[]) => s.process(lines.map(parse));

describe('K8sMetadataStage: containerd bundles', () => {
  beforeEach(() => {
    writeContainerdBundle(containerd, SID, containerdSandbox(SID, POD));
    writeContainerdBundle(containerd, CID, containerdContainer(SID, POD, 'web', IMAGE));
  });

  it('gives sandbox records the pod only and container records the pod, container name and image', () => {
    const [sb, pause, ctr] = run(
      stage(),
      shimSandboxLine(SID),
      // The pause container's own records name the sandbox id as container (kubelet StopPodSandbox).
      shimContainerLine(SID, SID),
      shimContainerLine(SID, CID),
    ) as KataLogRecord[];
    expect(k8sOf(sb as KataLogRecord)).toEqual(podAttrs(POD));
    expect(k8sOf(pause as KataLogRecord)).toEqual(podAttrs(POD));
    expect(k8sOf(ctr as KataLogRecord)).toEqual({
      ...podAttrs(POD),
      [ATTR_K8S_CONTAINER_NAME]: 'web',
      [ATTR_CONTAINER_IMAGE_NAME]: IMAGE,
    });
  });

  it('puts the pod on the resource and the container on the record', () => {
    for (const k of [ATTR_K8S_POD_NAME, ATTR_K8S_NAMESPACE_NAME, ATTR_K8S_POD_UID]) expect(isResourceKey(k)).toBe(true);
    for (const k of [ATTR_K8S_CONTAINER_NAME, ATTR_CONTAINER_IMAGE_NAME]) expect(isResourceKey(k)).toBe(false);
  });

  it('reads each config.json once per id, however many records name it', () => {
    const s = stage();
    for (let i = 0; i < 50; i++) run(s, shimSandboxLine(SID), shimContainerLine(SID, CID), shimSandboxLine(SID));
    expect(s.bundleLookups).toBe(2);
    expect(s.size).toBe(2);
  });

  it('finds bundles in any containerd namespace and under the k3s state directory', () => {
    const other = 'a'.repeat(64);
    const k3sPod = {
      name: 'coredns-7b98449c4-x2lqf',
      namespace: 'kube-system',
      uid: 'b86b49f2431d244c613996c6472eb864',
    };
    writeContainerdBundle(containerd, other, containerdSandbox(other, { ...POD, name: 'in-default-ns' }), 'default');
    const k3sSid = 'b'.repeat(64);
    writeContainerdBundle(k3s, k3sSid, containerdSandbox(k3sSid, k3sPod));
    const [a, b] = run(stage(), shimSandboxLine(other), shimSandboxLine(k3sSid)) as KataLogRecord[];
    expect(k8sOf(a as KataLogRecord)).toEqual(podAttrs({ ...POD, name: 'in-default-ns' }));
    expect(k8sOf(b as KataLogRecord)).toEqual(podAttrs(k3sPod));
  });

  it('takes the uid from the sandbox log directory on containerd before 1.6.12 (no sandbox-uid key)', () => {
    const old = 'c'.repeat(64);
    writeContainerdBundle(containerd, old, containerdSandbox(old, { ...POD, name: 'legacy' }, true));
    const [r] = run(stage(), shimSandboxLine(old)) as KataLogRecord[];
    expect(k8sOf(r as KataLogRecord)).toEqual(podAttrs({ ...POD, name: 'legacy' }));
  });

  it('leaves attributes a record already has (static file-source attributes) as they are', () => {
    const rec = parse(shimSandboxLine(SID));
    rec.attributes[ATTR_K8S_NAMESPACE_NAME] = 'set-by-source';
    stage().process([rec]);
    expect(rec.attributes[ATTR_K8S_NAMESPACE_NAME]).toBe('set-by-source');
    expect(rec.attributes[ATTR_K8S_POD_NAME]).toBe('nginx');
  });

  it('never builds a path from an id that could leave the bundle directory', () => {
    writeFileSync(join(dir, 'config.json'), JSON.stringify(containerdSandbox(SID, POD)));
    const s = stage();
    const [r] = run(s, shimSandboxLine('../../../..'), shimSandboxLine('..'));
    expect(k8sOf(r as KataLogRecord)).toEqual({});
    expect(s.bundleLookups).toBe(0);
  });
});

describe('K8sMetadataStage: CRI-O bundles', () => {
  it('reads the run-root copy for sandbox and container, and the persistent copy when only that exists', () => {
    writeCrioBundle(crioRun, SID, crioSandbox(SID, POD));
    writeCrioBundle(crioRun, CID, crioContainer(CID, SID, POD, 'web', IMAGE));
    const lateSid = 'd'.repeat(64);
    const latePod = { name: 'late', namespace: 'prod', uid: '0b3d3ae8-739b-4e66-9518-acf045658018' };
    writeCrioBundle(crioLib, lateSid, crioSandbox(lateSid, latePod));
    const [sb, ctr, late] = run(
      stage(),
      shimSandboxLine(SID),
      shimContainerLine(SID, CID),
      shimSandboxLine(lateSid),
    ) as KataLogRecord[];
    // The infra container's `io.kubernetes.container.name=POD` and pause image are not container attributes.
    expect(k8sOf(sb as KataLogRecord)).toEqual(podAttrs(POD));
    expect(k8sOf(ctr as KataLogRecord)).toEqual({
      ...podAttrs(POD),
      [ATTR_K8S_CONTAINER_NAME]: 'web',
      [ATTR_CONTAINER_IMAGE_NAME]: IMAGE,
    });
    expect(k8sOf(late as KataLogRecord)).toEqual(podAttrs(latePod));
  });
});

describe('K8sMetadataStage: bad bundles', () => {
  it('skips malformed or unreadable config.json without throwing, logging once per id at debug', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', write: (l) => lines.push(l) });
    const broken = 'e'.repeat(64);
    const notObj = 'f'.repeat(64);
    const isDir = '1'.repeat(64);
    writeContainerdBundle(containerd, broken, '{"ociVersion":"1.1.0","annotations":{"io.kubernetes.cri.sandbox-na');
    writeContainerdBundle(
      containerd,
      notObj,
      '{"ociVersion":"1.1.0","annotations":["io.kubernetes.cri.sandbox-name"]}',
    );
    mkdirSync(join(containerd, 'io.containerd.runtime.v2.task/k8s.io', isDir, 'config.json'), { recursive: true });
    writeContainerdBundle(containerd, SID, containerdSandbox(SID, POD));
    const s = stage({ logger });
    for (let i = 0; i < 3; i++) {
      const out = run(
        s,
        shimSandboxLine(broken),
        shimSandboxLine(notObj),
        shimSandboxLine(isDir),
        shimSandboxLine(SID),
      );
      expect(out.map(k8sOf)).toEqual([{}, {}, {}, podAttrs(POD)]);
      clock += 31_000; // past the miss TTL: the broken files are read again, but not logged again
    }
    const logged = lines.map(
      (l) => JSON.parse(l) as { level: string; msg: string; id: string; path: string; error: string },
    );
    expect(logged.map((l) => [l.level, l.id])).toEqual([
      ['debug', broken],
      ['debug', notObj],
      ['debug', isDir],
    ]);
    expect(logged[0]?.path).toBe(join(containerd, 'io.containerd.runtime.v2.task/k8s.io', broken, 'config.json'));
    expect(logged[0]?.error).toMatch(/not valid JSON/);
    expect(logged[1]?.error).toMatch(/annotations/);
    expect(logged[2]?.error).toMatch(/EISDIR/);
  });

  it('names no pod for a bundle without CRI annotations (ctr / nerdctl) and does not read it again', () => {
    writeContainerdBundle(containerd, SID, {
      ociVersion: '1.1.0',
      process: { args: ['sh'] },
      root: { path: 'rootfs' },
    });
    const s = stage();
    const out = run(s, shimSandboxLine(SID));
    clock += 60_000;
    out.push(...run(s, shimSandboxLine(SID)));
    expect(out.map(k8sOf)).toEqual([{}, {}]);
    expect(s.bundleLookups).toBe(1);
  });
});

describe('K8sMetadataStage: cache', () => {
  it('remembers a miss for 30 s, then finds a bundle that appeared meanwhile', () => {
    const s = stage();
    expect(k8sOf(run(s, shimSandboxLine(SID))[0] as KataLogRecord)).toEqual({});
    writeContainerdBundle(containerd, SID, containerdSandbox(SID, POD));
    clock += 29_000;
    expect(k8sOf(run(s, shimSandboxLine(SID))[0] as KataLogRecord)).toEqual({});
    expect(s.bundleLookups).toBe(1);
    clock += 1_000;
    expect(k8sOf(run(s, shimSandboxLine(SID))[0] as KataLogRecord)).toEqual(podAttrs(POD));
    expect(s.bundleLookups).toBe(2);
  });

  it('finds a new id written just after another id was looked up (the namespace listing is kept a second, never an id)', () => {
    writeContainerdBundle(containerd, CID, containerdContainer(SID, POD, 'web', IMAGE));
    const s = stage();
    expect(k8sOf(run(s, shimSandboxLine(CID))[0] as KataLogRecord)).toMatchObject(podAttrs(POD));
    // Same instant: the listing of containerd's namespaces is reused, the new id's own directory is read.
    writeContainerdBundle(containerd, SID, containerdSandbox(SID, POD));
    expect(k8sOf(run(s, shimSandboxLine(SID))[0] as KataLogRecord)).toEqual(podAttrs(POD));
    expect(s.bundleLookups).toBe(2);
  });

  it('keeps an id past its bundle deletion while records keep coming, and forgets it 10 min after the last one', () => {
    const path = writeContainerdBundle(containerd, SID, containerdSandbox(SID, POD));
    const s = stage();
    run(s, shimSandboxLine(SID));
    rmSync(path); // task deleted at teardown; the shim's last lines (Cleanup agent, …) come after
    for (let i = 0; i < 5; i++) {
      clock += 500_000; // each under the 10 min TTL after the previous record: the TTL slides
      expect(k8sOf(run(s, shimSandboxLine(SID, 'Cleanup agent'))[0] as KataLogRecord)).toEqual(podAttrs(POD));
    }
    clock += 600_000;
    expect(k8sOf(run(s, shimSandboxLine(SID))[0] as KataLogRecord)).toEqual({});
    expect(s.bundleLookups).toBe(2);
  });

  it('holds at most cache_entries ids and evicts the least recently used', () => {
    const ids = ['1', '2', '3', '4'].map((d) => d.repeat(64));
    const paths = ids.map((id, i) =>
      writeContainerdBundle(containerd, id, containerdSandbox(id, { ...POD, name: `pod-${i}` })),
    );
    const s = stage({ cacheEntries: 3 });
    run(s, shimSandboxLine(ids[0] as string), shimSandboxLine(ids[1] as string), shimSandboxLine(ids[2] as string));
    clock += 2_000;
    run(s, shimSandboxLine(ids[0] as string)); // id 0 is now more recently used than id 1
    run(s, shimSandboxLine(ids[3] as string)); // a fourth id evicts id 1
    expect(s.size).toBe(3);
    paths.forEach((p) => rmSync(p));
    // The kept ids first: a miss is remembered too, and would evict one of them.
    const order = [0, 2, 3, 1].map((i) => ids[i] as string);
    const out = run(s, ...order.map((id) => shimSandboxLine(id))).map((r) => r.attributes[ATTR_K8S_POD_NAME]);
    expect(out).toEqual(['pod-0', 'pod-2', 'pod-3', undefined]);
    expect(s.size).toBeLessThanOrEqual(3);
  });
});

// Real shapes: containerd journal lines as on AKS (containerd 1.7, gogo) and as containerd ≥ 2.2 writes them
// (prototext, doubled spaces), CRI-O lines as on OpenShift; the Kata lines for the same ids follow.
const C_SID = '3cfe7b007c290255f1a416b2bd9404604e6ef5967348211d30cd41e00912fe17';
const C_CID = '578f72d0d40c1758c61041acae108c22d210cbd1c6ea879be27b101870921454';
const CONTAINERD_GOGO = [
  `Nov 29 18:13:10 aks-np2-39852331-vmss000000 containerd[2506]: time="2024-11-29T18:13:10.394576089Z" level=info msg="RunPodSandbox for &PodSandboxMetadata{Name:nginx,Uid:${UID},Namespace:default,Attempt:0,}"`,
  `Nov 29 18:13:10 aks-np2-39852331-vmss000000 containerd[2506]: time="2024-11-29T18:13:10.480291720Z" level=info msg="RunPodSandbox for &PodSandboxMetadata{Name:nginx,Uid:${UID},Namespace:default,Attempt:0,} returns sandbox id \\"${C_SID}\\""`,
  `Nov 29 18:13:11 aks-np2-39852331-vmss000000 containerd[2506]: time="2024-11-29T18:13:11.637348211Z" level=info msg="CreateContainer within sandbox \\"${C_SID}\\" for container &ContainerMetadata{Name:nginx,Attempt:0,}"`,
  `Nov 29 18:13:11 aks-np2-39852331-vmss000000 containerd[2506]: time="2024-11-29T18:13:11.682692569Z" level=info msg="CreateContainer within sandbox \\"${C_SID}\\" for &ContainerMetadata{Name:nginx,Attempt:0,} returns container id \\"${C_CID}\\""`,
];
const CONTAINERD_PROTOTEXT = [
  `Aug 21 07:28:16 kind-worker2 containerd[2127]: time="2026-08-21T07:28:16.900956920+08:00" level=info msg="RunPodSandbox for name:\\"xwing\\"  uid:\\"efa146e2-0e40-4984-a1d0-0f0d745d3440\\"  namespace:\\"default\\" returns sandbox id \\"${C_SID}\\""`,
  `Aug 21 07:28:17 kind-worker2 containerd[2127]: time="2026-08-21T07:28:17.103251221+08:00" level=info msg="CreateContainer within sandbox \\"${C_SID}\\" for name:\\"spaceship\\"  attempt:1 returns container id \\"${C_CID}\\""`,
];
const CRIO = [
  `May 27 16:02:27 ip-10-0-67-181 crio[2440]: time="2026-05-27T16:02:27.950581297Z" level=info msg="Running pod sandbox: node-density-0/node-density-956/POD" id=0be966e9-9f0b-4e3c-8b14-0a9c3f4cf3a1 name=/runtime.v1.RuntimeService/RunPodSandbox`,
  `May 27 16:02:31 ip-10-0-67-181 crio[2440]: time="2026-05-27T16:02:31.769588511Z" level=info msg="Ran pod sandbox ${C_SID} with infra container: node-density-0/node-density-956/POD" id=0be966e9-9f0b-4e3c-8b14-0a9c3f4cf3a1 name=/runtime.v1.RuntimeService/RunPodSandbox`,
  `May 27 16:02:35 ip-10-0-67-181 crio[2440]: time="2026-05-27T16:02:35.014226005Z" level=info msg="Created container ${C_CID}: node-density-0/node-density-956/node-density" id=5a9d7c0e-3b1f-4f0a-9d55-6a2e1c7b8e44 name=/runtime.v1.RuntimeService/CreateContainer`,
];

describe('K8sMetadataStage: CRI runtime log lines', () => {
  it('learns containerd (gogo) mappings, names the CRI lines and the Kata records after them', () => {
    const s = stage();
    const cri = run(s, ...CONTAINERD_GOGO);
    const [sb, ctr] = run(s, shimSandboxLine(C_SID), shimContainerLine(C_SID, C_CID));
    const pod = podAttrs(POD);
    // The request lines carry no id: nothing to learn, nothing added.
    expect(cri.map(k8sOf)).toEqual([{}, pod, {}, { ...pod, [ATTR_K8S_CONTAINER_NAME]: 'nginx' }]);
    expect(k8sOf(sb as KataLogRecord)).toEqual(pod);
    // containerd's lines give no image.
    expect(k8sOf(ctr as KataLogRecord)).toEqual({ ...pod, [ATTR_K8S_CONTAINER_NAME]: 'nginx' });
    expect(s.learned).toBe(2);
  });

  it('learns containerd ≥ 2.2 prototext mappings', () => {
    const s = stage();
    run(s, ...CONTAINERD_PROTOTEXT);
    const [ctr] = run(s, shimContainerLine(C_SID, C_CID));
    expect(k8sOf(ctr as KataLogRecord)).toEqual({
      ...podAttrs({ name: 'xwing', namespace: 'default', uid: 'efa146e2-0e40-4984-a1d0-0f0d745d3440' }),
      [ATTR_K8S_CONTAINER_NAME]: 'spaceship',
    });
  });

  it('learns CRI-O mappings (no uid in its lines)', () => {
    const s = stage();
    const cri = run(s, ...CRIO);
    const [sb, ctr] = run(s, shimSandboxLine(C_SID), shimContainerLine(C_SID, C_CID));
    const pod = podAttrs({ name: 'node-density-956', namespace: 'node-density-0' });
    expect(cri.map(k8sOf)).toEqual([{}, pod, { ...pod, [ATTR_K8S_CONTAINER_NAME]: 'node-density' }]);
    expect(k8sOf(sb as KataLogRecord)).toEqual(pod);
    expect(k8sOf(ctr as KataLogRecord)).toEqual({ ...pod, [ATTR_K8S_CONTAINER_NAME]: 'node-density' });
  });

  it('prefers the bundle field by field and fills in what it lacks', () => {
    writeContainerdBundle(containerd, C_CID, containerdContainer(C_SID, POD, 'from-bundle', IMAGE));
    const s = stage();
    run(s, ...CONTAINERD_PROTOTEXT);
    const [ctr] = run(s, shimContainerLine(C_SID, C_CID));
    expect(k8sOf(ctr as KataLogRecord)).toEqual({
      ...podAttrs(POD),
      [ATTR_K8S_CONTAINER_NAME]: 'from-bundle',
      [ATTR_CONTAINER_IMAGE_NAME]: IMAGE,
    });
  });

  it('learns nothing with from_cri_logs off', () => {
    const s = stage({ fromCriLogs: false });
    const out = run(s, ...CONTAINERD_GOGO, shimSandboxLine(C_SID));
    expect(out.map(k8sOf)).toEqual([{}, {}, {}, {}, {}]);
    expect(s.learned).toBe(0);
  });

  it('ignores failed requests and look-alike bodies', () => {
    const bodies = [
      `RunPodSandbox for &PodSandboxMetadata{Name:nginx,Uid:${UID},Namespace:default,Attempt:0,} failed, error`,
      `CreateContainer within sandbox "${C_SID}" for &ContainerMetadata{Name:nginx,Attempt:0,} failed`,
      'Created container: default/nginx/nginx',
      'Ran pod sandbox with infra container: default/nginx',
      'RunPodSandbox for returns sandbox id ""',
      '',
    ];
    for (const b of bodies) expect(criMapping(b)).toBeUndefined();
  });
});

describe('parseCriMetadata', () => {
  it('reads gogo and prototext renderings whatever the spacing', () => {
    const want = { name: 'nginx', uid: UID, namespace: 'default' };
    expect(parseCriMetadata(`&PodSandboxMetadata{Name:nginx,Uid:${UID},Namespace:default,Attempt:0,}`)).toEqual({
      ...want,
      attempt: '0',
    });
    expect(parseCriMetadata(`name:"nginx" uid:"${UID}" namespace:"default"`)).toEqual(want);
    expect(parseCriMetadata(`name:"nginx"  uid:"${UID}"  namespace:"default"`)).toEqual(want);
    expect(parseCriMetadata(`{name: "nginx" uid: "${UID}" namespace: "default" attempt: 2}`)).toEqual({
      ...want,
      attempt: '2',
    });
  });
});
