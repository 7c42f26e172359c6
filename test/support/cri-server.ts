// A fake CRI runtime for tests: a real gRPC server on a unix socket serving runtime.v1.RuntimeService from the
// vendored cri-api proto (receiver/pipeline/k8s/proto/api.proto), answering Version, ListPodSandbox and
// ListContainers from data the test sets, counting every call, optionally slow.
//
//   const cri = await startCriServer(join(dir, 'containerd.sock'));
//   cri.sandboxes = [criSandbox(SID, { name: 'nginx', namespace: 'default', uid: UID })];
//   … cri.calls.ListContainers …
//   await cri.stop();
import * as grpc from '@grpc/grpc-js';
import { criPackage } from '../../receiver/pipeline/k8s/cri.js';

/** runtime.v1.PodSandbox as proto-loader takes it (camelCase). */
export interface FakeSandbox {
  id: string;
  metadata: { name: string; uid: string; namespace: string; attempt: number };
  state?: 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
  createdAt?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  runtimeHandler?: string;
}

/** runtime.v1.Container as proto-loader takes it. */
export interface FakeContainer {
  id: string;
  podSandboxId: string;
  metadata: { name: string; attempt: number };
  image?: { image: string; userSpecifiedImage?: string };
  imageRef?: string;
  state?: 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface FakeCriServer {
  path: string;
  sandboxes: FakeSandbox[];
  containers: FakeContainer[];
  /** Calls received per method. */
  calls: Record<'Version' | 'ListPodSandbox' | 'ListContainers', number>;
  /** Delay before each answer (a slow or stuck runtime). */
  delayMs: number;
  stop(): Promise<void>;
}

/** A sandbox as containerd lists it for a pod (the kubelet's labels included). */
export function criSandbox(id: string, pod: { name: string; namespace: string; uid: string }): FakeSandbox {
  return {
    id,
    metadata: { ...pod, attempt: 0 },
    state: 'SANDBOX_READY',
    createdAt: '1724838391220194851',
    labels: {
      'io.kubernetes.pod.name': pod.name,
      'io.kubernetes.pod.namespace': pod.namespace,
      'io.kubernetes.pod.uid': pod.uid,
    },
    annotations: { 'kubernetes.io/config.source': 'api' },
    runtimeHandler: 'kata',
  };
}

/** An app container as containerd lists it: the image by id (what the kubelet passes) and the pod spec's name. */
export function criContainer(
  id: string,
  sandbox: FakeSandbox,
  name: string,
  image: string,
  attempt: number,
): FakeContainer {
  return {
    id,
    podSandboxId: sandbox.id,
    metadata: { name, attempt },
    image: {
      image: 'sha256:9bea9f2796e236cb18c2b3ad561ff29f655d1001f9ec7247a0bc5e08d25652a1',
      userSpecifiedImage: image,
    },
    imageRef: 'sha256:9bea9f2796e236cb18c2b3ad561ff29f655d1001f9ec7247a0bc5e08d25652a1',
    state: 'CONTAINER_RUNNING',
    labels: {
      'io.kubernetes.container.name': name,
      'io.kubernetes.pod.name': sandbox.metadata.name,
      'io.kubernetes.pod.namespace': sandbox.metadata.namespace,
      'io.kubernetes.pod.uid': sandbox.metadata.uid,
    },
    annotations: { 'io.kubernetes.container.restartCount': String(attempt) },
  };
}

export async function startCriServer(path: string): Promise<FakeCriServer> {
  const { runtime } = await criPackage();
  const service = (runtime.RuntimeService as grpc.ServiceClientConstructor).service;
  const server = new grpc.Server();
  const fake: FakeCriServer = {
    path,
    sandboxes: [],
    containers: [],
    calls: { Version: 0, ListPodSandbox: 0, ListContainers: 0 },
    delayMs: 0,
    stop: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // A call held by delayMs would keep tryShutdown waiting.
        setTimeout(() => server.forceShutdown(), 100).unref();
      }),
  };
  const answer =
    <T>(method: keyof FakeCriServer['calls'], body: () => T) =>
    (_call: unknown, cb: grpc.sendUnaryData<T>) => {
      fake.calls[method]++;
      const reply = () => cb(null, body());
      if (fake.delayMs > 0) setTimeout(reply, fake.delayMs).unref();
      else reply();
    };
  server.addService(service, {
    Version: answer('Version', () => ({
      version: '0.1.0',
      runtimeName: 'containerd',
      runtimeVersion: 'v2.1.4',
      runtimeApiVersion: 'v1',
    })),
    ListPodSandbox: answer('ListPodSandbox', () => ({ items: fake.sandboxes })),
    ListContainers: answer('ListContainers', () => ({ containers: fake.containers })),
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${path}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  return fake;
}
