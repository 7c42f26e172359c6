// The CRI API as a last source of pod metadata (docs/k8s.md): for a sandbox or container id whose OCI bundle is
// already gone (a replay, a record logged after teardown) the container runtime still knows the pod while the
// kubelet has not removed it. kata-otel asks the runtime's CRI socket (containerd, k3s, CRI-O) with two list
// calls, `ListPodSandbox` and `ListContainers`, and answers lookups from the snapshot they give:
//  - a lookup is a Map.get and never waits; a miss only asks for a refresh;
//  - a refresh is at most one pair of list calls per endpoint every `refreshMs`, whatever the number of misses
//    (never one RPC per record or per id), bounded by `timeoutMs`;
//  - a socket that does not exist is silent (that runtime is not on the node); one that cannot be opened is one
//    warning naming the fix; a runtime that fails or is slow leaves the records unchanged.
// The ids come from the records' carrier attributes; what the runtime answers is host-trusted.
// PodSandboxStatus is not called: the list answers carry the same metadata, and a per-id status call is what
// the refresh rule exists to avoid.
import type * as grpc from '@grpc/grpc-js';
import { accessSync, constants, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { silentLogger, type Logger } from '../../telemetry/log.js';
import type { PodMetadata } from './metadata.js';

/** The vendored slice of k8s.io/cri-api runtime/v1 (proto/README.md). */
export const CRI_PROTO_PATH = fileURLToPath(new URL('./proto/api.proto', import.meta.url));

export const CRI_DEFAULTS = {
  endpoints: [
    '/run/containerd/containerd.sock',
    '/run/k3s/containerd/containerd.sock',
    '/var/run/crio/crio.sock',
  ] as readonly string[],
  timeoutMs: 2_000,
  refreshMs: 10_000,
} as const;

/** The fields of the CRI messages read here (proto-loader, camelCase, defaults filled). */
interface CriPodSandbox {
  id: string;
  metadata: { name: string; uid: string; namespace: string; attempt: number } | null;
  labels: Record<string, string>;
}
interface CriContainer {
  id: string;
  podSandboxId: string;
  metadata: { name: string; attempt: number } | null;
  image: { image: string; userSpecifiedImage: string } | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
interface CriVersion {
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

type Unary<Req, Res> = (
  req: Req,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Res) => void,
) => grpc.ClientUnaryCall;
interface RuntimeServiceClient extends grpc.Client {
  Version: Unary<{ version?: string }, CriVersion>;
  ListPodSandbox: Unary<object, { items: CriPodSandbox[] }>;
  ListContainers: Unary<object, { containers: CriContainer[] }>;
}
type RuntimeServiceCtor = new (
  address: string,
  creds: grpc.ChannelCredentials,
  options: grpc.ChannelOptions,
) => RuntimeServiceClient;

/** The kubelet's own limit for CRI answers (grpc's default, 4 MiB, is too small for a busy node's lists). */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** The runtime.v1 package from the vendored proto (the test server serves the same). grpc-js and proto-loader
 *  (protobufjs) load here, the first time a CRI socket exists: a node without one never pays for them. */
export async function criPackage(): Promise<{ grpc: typeof grpc; runtime: grpc.GrpcObject }> {
  const [g, protoLoader] = await Promise.all([import('@grpc/grpc-js'), import('@grpc/proto-loader')]);
  const def = protoLoader.loadSync(CRI_PROTO_PATH, { keepCase: false, longs: String, enums: String, defaults: true });
  const runtime = (g.loadPackageDefinition(def).runtime as grpc.GrpcObject).v1 as grpc.GrpcObject;
  return { grpc: g, runtime };
}

let clientFactory: Promise<(path: string) => RuntimeServiceClient> | undefined;

function newClient(path: string): Promise<RuntimeServiceClient> {
  clientFactory ??= criPackage().then(({ grpc: g, runtime }) => {
    const Ctor = runtime.RuntimeService as unknown as RuntimeServiceCtor;
    return (p: string) =>
      new Ctor(`unix://${p}`, g.credentials.createInsecure(), { 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES });
  });
  return clientFactory.then((make) => make(path));
}

function call<Req, Res>(fn: Unary<Req, Res>, client: RuntimeServiceClient, req: Req, timeoutMs: number): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn.call(client, req, { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err) reject(err);
      else resolve(res as Res);
    });
  });
}

const LABEL_POD_NAME = 'io.kubernetes.pod.name';
const LABEL_POD_NAMESPACE = 'io.kubernetes.pod.namespace';
const LABEL_POD_UID = 'io.kubernetes.pod.uid';

const nonEmpty = (s: string | undefined): string | undefined => (s ? s : undefined);

/** The image a person would recognise: what the pod spec named, else the runtime's reference unless it is a
 *  bare image id (`sha256:…`, what the kubelet passes since 1.30). */
function imageName(c: CriContainer): string | undefined {
  const user = c.image?.userSpecifiedImage;
  if (user) return user;
  const img = c.image?.image;
  return img && !img.startsWith('sha256:') ? img : undefined;
}

/** id → metadata for every sandbox and container one runtime lists. */
export function criSnapshot(sandboxes: CriPodSandbox[], containers: CriContainer[]): Map<string, PodMetadata> {
  const out = new Map<string, PodMetadata>();
  for (const s of sandboxes) {
    if (!s.id) continue;
    out.set(s.id, {
      kind: 'sandbox',
      sandboxId: s.id,
      podName: nonEmpty(s.metadata?.name) ?? nonEmpty(s.labels[LABEL_POD_NAME]),
      namespace: nonEmpty(s.metadata?.namespace) ?? nonEmpty(s.labels[LABEL_POD_NAMESPACE]),
      podUid: nonEmpty(s.metadata?.uid) ?? nonEmpty(s.labels[LABEL_POD_UID]),
    });
  }
  for (const c of containers) {
    if (!c.id) continue;
    const pod = out.get(c.podSandboxId);
    out.set(c.id, {
      kind: 'container',
      sandboxId: nonEmpty(c.podSandboxId),
      podName: pod?.podName ?? nonEmpty(c.labels[LABEL_POD_NAME]),
      namespace: pod?.namespace ?? nonEmpty(c.labels[LABEL_POD_NAMESPACE]),
      podUid: pod?.podUid ?? nonEmpty(c.labels[LABEL_POD_UID]),
      containerName: nonEmpty(c.metadata?.name),
      imageName: imageName(c),
      // The kubelet's attempt number is the container's restart count (it also copies it into the
      // io.kubernetes.container.restartCount annotation).
      restartCount: c.metadata ? c.metadata.attempt : undefined,
    });
  }
  return out;
}

export interface CriOptions {
  /** Unix socket paths, tried in this order; every one that answers is used. */
  endpoints?: readonly string[];
  /** Deadline of each call. */
  timeoutMs?: number;
  /** Least time between two refreshes. */
  refreshMs?: number;
  logger?: Logger;
  now?: () => number;
  /** After each refresh that changed the snapshot: the new id → metadata map. */
  onRefresh?: (snapshot: ReadonlyMap<string, PodMetadata>) => void;
}

type EndpointState = 'absent' | 'denied' | 'failing' | 'ok';

interface Endpoint {
  path: string;
  client?: RuntimeServiceClient;
  state?: EndpointState;
  /** The last good answer of this endpoint (kept while it fails). */
  snapshot: Map<string, PodMetadata>;
}

function errorCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

/** Pod metadata from the CRI runtimes' list calls. Never throws; lookups never wait. */
export class CriMetadata {
  /** RPCs made (each list call counts one). */
  calls = 0;
  refreshes = 0;
  private readonly endpoints: Endpoint[];
  private readonly timeoutMs: number;
  private readonly refreshMs: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly onRefresh?: (snapshot: ReadonlyMap<string, PodMetadata>) => void;
  private merged = new Map<string, PodMetadata>();
  private inflight: Promise<void> | undefined;
  private lastRefresh = -Infinity;
  private closed = false;

  constructor(opts: CriOptions = {}) {
    this.endpoints = (opts.endpoints ?? CRI_DEFAULTS.endpoints).map((path) => ({ path, snapshot: new Map() }));
    this.timeoutMs = Math.max(1, opts.timeoutMs ?? CRI_DEFAULTS.timeoutMs);
    this.refreshMs = Math.max(0, opts.refreshMs ?? CRI_DEFAULTS.refreshMs);
    this.logger = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.onRefresh = opts.onRefresh;
  }

  /** Ids the last refreshes know. */
  get size(): number {
    return this.merged.size;
  }

  /** The first refresh, and the one line saying whether the fallback is on. Resolves within about timeoutMs. */
  async start(): Promise<void> {
    await this.refresh();
    const ok = this.endpoints.filter((e) => e.state === 'ok').map((e) => e.path);
    if (ok.length) this.logger.info('k8s metadata: CRI API fallback on', { endpoints: ok, ids: this.merged.size });
    else
      this.logger.info(
        'k8s metadata: CRI API fallback unavailable (no CRI socket answered); pod names come from bundles and CRI log lines',
        {
          endpoints: this.endpoints.map((e) => `${e.path}: ${e.state ?? 'absent'}`),
        },
      );
  }

  /** What the runtimes said about `id` at the last refresh; a miss asks for a refresh (at most one per refreshMs). */
  get(id: string): PodMetadata | undefined {
    const m = this.merged.get(id);
    if (m === undefined) this.requestRefresh();
    return m;
  }

  /** Start a refresh unless one ran within refreshMs or is running. */
  requestRefresh(): void {
    if (this.closed || this.inflight || this.now() - this.lastRefresh < this.refreshMs) return;
    void this.refresh();
  }

  /** One refresh of every endpoint (joins a running one). */
  refresh(): Promise<void> {
    this.inflight ??= this.doRefresh().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  close(): void {
    this.closed = true;
    for (const e of this.endpoints) e.client?.close();
  }

  private async doRefresh(): Promise<void> {
    this.lastRefresh = this.now();
    this.refreshes++;
    const changed = await Promise.all(this.endpoints.map((e) => this.refreshEndpoint(e)));
    if (this.closed || !changed.some(Boolean)) return;
    const merged = new Map<string, PodMetadata>();
    for (const e of this.endpoints) for (const [id, m] of e.snapshot) merged.set(id, m);
    this.merged = merged;
    try {
      this.onRefresh?.(merged);
    } catch (err) {
      this.logger.debug('k8s metadata: CRI refresh listener failed', { err });
    }
  }

  /** Refresh one endpoint; true when its snapshot changed. */
  private async refreshEndpoint(e: Endpoint): Promise<boolean> {
    const problem = this.socketProblem(e.path);
    if (problem) {
      this.setState(e, problem.state, problem.message);
      const had = e.snapshot.size > 0;
      if (problem.state === 'absent') e.snapshot = new Map();
      return had && problem.state === 'absent';
    }
    try {
      if (!e.client) {
        const c = await newClient(e.path);
        if (this.closed) {
          c.close();
          return false;
        }
        e.client = c;
      }
      const client = e.client;
      this.calls += 2;
      const [pods, ctrs] = await Promise.all([
        call(client.ListPodSandbox, client, {}, this.timeoutMs),
        call(client.ListContainers, client, {}, this.timeoutMs),
      ]);
      e.snapshot = criSnapshot(pods.items, ctrs.containers);
      this.setState(e, 'ok');
      return true;
    } catch (err) {
      if (this.closed) return false; // cancelled by close() at shutdown: nothing to report
      const message = err instanceof Error ? err.message : String(err);
      // grpc-js reports a refused connect as UNAVAILABLE with the errno in the text.
      if (/EACCES|EPERM/.test(message)) this.setState(e, 'denied', message);
      else this.setState(e, 'failing', message);
      return false;
    }
  }

  /** Why `path` cannot be used now, checked without connecting (stat + access: a few µs). */
  private socketProblem(path: string): { state: EndpointState; message: string } | undefined {
    try {
      if (!statSync(path).isSocket()) return { state: 'absent', message: 'not a socket' };
      // connect(2) on a unix socket needs write permission on it.
      accessSync(path, constants.W_OK);
      return undefined;
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return { state: 'absent', message: 'no such socket' };
      return { state: 'denied', message: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Log a change of an endpoint's state once (no line per refresh). */
  private setState(e: Endpoint, state: EndpointState, message?: string): void {
    const was = e.state;
    e.state = state;
    if (was === state || was === undefined) {
      // The first state is reported by start(); a denied socket is worth its own warning there too.
      if (was === undefined && state === 'denied') this.warnDenied(e.path, message);
      else if (was === undefined && state === 'failing')
        this.logger.warn('k8s metadata: CRI socket did not answer; retried at most every refresh interval', {
          endpoint: e.path,
          error: message,
          timeoutMs: this.timeoutMs,
        });
      return;
    }
    if (state === 'denied') this.warnDenied(e.path, message);
    else if (state === 'failing')
      this.logger.warn('k8s metadata: CRI socket stopped answering; retried at most every refresh interval', {
        endpoint: e.path,
        error: message,
      });
    else if (state === 'ok') this.logger.info('k8s metadata: CRI socket answers again', { endpoint: e.path });
  }

  private warnDenied(path: string, message?: string): void {
    this.logger.warn(
      'k8s metadata: CRI socket not accessible; the CRI API fallback is off for it. Run kata-otel as root (the socket is root-only), mount the socket into the container, or set pipeline.k8s.cri.enabled: false',
      { endpoint: path, error: message },
    );
  }
}
