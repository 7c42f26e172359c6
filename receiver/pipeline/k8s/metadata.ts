// What kata-otel knows about the Kubernetes object behind a sandbox or container id, and how it is read from
// the OCI bundle annotations the CRI runtime writes into config.json. The annotation keys are the runtimes'
// (containerd `internal/cri/annotations`, CRI-O `internal/annotations` plus the kubelet labels it copies,
// dockershim); the lists below are the portable fallbacks of /work/shared/research/kata-lifecycle.md §4.1–4.2,
// which are the keys Kata itself reads, so they do not silently disappear.

/** Pod (and, for a container, container) metadata of one sandbox or container id. */
export interface PodMetadata {
  /** `sandbox` for the pod sandbox (pause / infra container), `container` for an app container. */
  kind: 'sandbox' | 'container' | 'unknown';
  /** The pod sandbox this id belongs to (its own id for a sandbox). */
  sandboxId?: string;
  podName?: string;
  namespace?: string;
  podUid?: string;
  containerName?: string;
  imageName?: string;
  /** How many times the kubelet restarted the container (CRI `ContainerMetadata.attempt`). */
  restartCount?: number;
}

const TYPE_KEYS = [
  'io.kubernetes.cri.container-type',
  'io.kubernetes.cri-o.ContainerType',
  'io.kubernetes.docker.type',
];
const SANDBOX_ID_KEYS = ['io.kubernetes.cri.sandbox-id', 'io.kubernetes.cri-o.SandboxID', 'io.kubernetes.sandbox.id'];
// CRI-O's `…KubeName` / `…Namespace` are set on the sandbox only; the kubelet labels are on both.
const POD_NAME_KEYS = ['io.kubernetes.cri.sandbox-name', 'io.kubernetes.pod.name', 'io.kubernetes.cri-o.KubeName'];
const NAMESPACE_KEYS = [
  'io.kubernetes.cri.sandbox-namespace',
  'io.kubernetes.pod.namespace',
  'io.kubernetes.cri-o.Namespace',
];
// containerd < 1.6.12 has no sandbox-uid: the uid is then parsed from the sandbox log directory.
const POD_UID_KEYS = ['io.kubernetes.cri.sandbox-uid', 'io.kubernetes.pod.uid'];
const LOG_DIRECTORY_KEY = 'io.kubernetes.cri.sandbox-log-directory';
const CONTAINER_NAME_KEYS = ['io.kubernetes.cri.container-name', 'io.kubernetes.container.name'];
// The kubelet puts the restart count in the container's CRI annotations; CRI-O copies those into the OCI spec and
// also writes the CRI metadata as JSON. containerd passes kubelet annotations to the spec only when the runtime
// handler's `container_annotations` allows them, so its bundles usually have neither (the CRI API has it).
const RESTART_COUNT_KEY = 'io.kubernetes.container.restartCount';
const CRIO_METADATA_KEY = 'io.kubernetes.cri-o.Metadata';
const IMAGE_KEYS = ['io.kubernetes.cri.image-name', 'io.kubernetes.cri-o.Image', 'io.kubernetes.cri-o.ImageName'];

function first(a: Record<string, unknown>, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const v = a[k];
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}

/** `/var/log/pods/<namespace>_<pod>_<uid>` → its parts (none of the three may contain `_`). */
export function parsePodLogDirectory(dir: string): { namespace: string; podName: string; podUid: string } | undefined {
  const base = dir.replace(/\/+$/, '').split('/').pop() ?? '';
  const parts = base.split('_');
  if (parts.length !== 3 || parts.some((p) => p === '')) return undefined;
  return { namespace: parts[0] as string, podName: parts[1] as string, podUid: parts[2] as string };
}

/** A restart count: a non-negative integer (as number or decimal text), else undefined. */
function count(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,9}$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function restartCountFromAnnotations(a: Record<string, unknown>): number | undefined {
  const direct = count(a[RESTART_COUNT_KEY]);
  if (direct !== undefined) return direct;
  const meta = a[CRIO_METADATA_KEY];
  // {"name":"…","attempt":N}: a few dozen bytes written by CRI-O; anything long is not it.
  if (typeof meta !== 'string' || meta.length > 4096) return undefined;
  try {
    const parsed: unknown = JSON.parse(meta);
    return typeof parsed === 'object' && parsed !== null ? count((parsed as { attempt?: unknown }).attempt) : undefined;
  } catch {
    return undefined;
  }
}

/** The metadata in an OCI spec's `annotations` map; undefined when it names no pod at all. */
export function podMetadataFromAnnotations(a: Record<string, unknown>): PodMetadata | undefined {
  const type = first(a, TYPE_KEYS);
  const kind = type === 'sandbox' || type === 'podsandbox' ? 'sandbox' : type === 'container' ? 'container' : 'unknown';
  const m: PodMetadata = { kind };
  const sandboxId = first(a, SANDBOX_ID_KEYS);
  if (sandboxId) m.sandboxId = sandboxId;
  const podName = first(a, POD_NAME_KEYS);
  if (podName) m.podName = podName;
  const namespace = first(a, NAMESPACE_KEYS);
  if (namespace) m.namespace = namespace;
  const podUid = first(a, POD_UID_KEYS);
  if (podUid) m.podUid = podUid;
  const logDir = a[LOG_DIRECTORY_KEY];
  if (typeof logDir === 'string' && (!m.podUid || !m.podName || !m.namespace)) {
    const p = parsePodLogDirectory(logDir);
    if (p) {
      m.podUid ??= p.podUid;
      m.podName ??= p.podName;
      m.namespace ??= p.namespace;
    }
  }
  // A sandbox's "container name" is CRI-O's `POD` label, and its image the pause image: neither describes the pod.
  if (kind !== 'sandbox') {
    const containerName = first(a, CONTAINER_NAME_KEYS);
    if (containerName && containerName !== 'POD') m.containerName = containerName;
    const image = first(a, IMAGE_KEYS);
    if (image) m.imageName = image;
    const restarts = restartCountFromAnnotations(a);
    if (restarts !== undefined) m.restartCount = restarts;
  }
  if (!m.podName && !m.namespace && !m.podUid && !m.containerName && !m.sandboxId) return undefined;
  return m;
}

/** `base` with the fields it lacks taken from `extra` (base wins: bundle annotations over log-line guesses). */
export function mergeMetadata(base: PodMetadata, extra: PodMetadata): PodMetadata {
  return {
    kind: base.kind !== 'unknown' ? base.kind : extra.kind,
    sandboxId: base.sandboxId ?? extra.sandboxId,
    podName: base.podName ?? extra.podName,
    namespace: base.namespace ?? extra.namespace,
    podUid: base.podUid ?? extra.podUid,
    containerName: base.containerName ?? extra.containerName,
    imageName: base.imageName ?? extra.imageName,
    restartCount: base.restartCount ?? extra.restartCount,
  };
}
