// Kubernetes metadata without the Kubernetes API: records carry `kata.sandbox.id` and often `container.id`;
// this stage adds the pod (`k8s.pod.name`, `k8s.namespace.name`, `k8s.pod.uid`, resource attributes) and, on
// container records, `k8s.container.name` and `container.image.name`. Two node-local sources (docs/k8s.md):
//  1. the OCI bundle config.json annotations the CRI runtime wrote for the id (k8s/bundles.ts), read the first
//     time an id is seen;
//  2. the CRI runtime's own log lines passing through the pipeline (k8s/cri-lines.ts): containerd's
//     `RunPodSandbox … returns sandbox id` / `CreateContainer … returns container id`, CRI-O's `Ran pod sandbox` /
//     `Created container`. This is what names the pods of an archived journal replayed after the bundles are gone.
//  3. the CRI API (k8s/cri.ts, `pipeline.k8s.cri`): for an id with no bundle, the runtime's ListPodSandbox /
//     ListContainers snapshot, refreshed in the background at most every few seconds; also the source of
//     `k8s.container.restart_count` on containerd, whose bundles do not carry it.
// Results are cached per id (bounded LRU, TTL renewed by every record of the id, so an entry outlives the
// bundle's deletion at teardown); a miss is cached for a short while so a bundle written just after the first
// record is still found, and the files are read at most once per id per miss TTL.
import type { AttrValue, Attributes, KataLogRecord } from '../model/record.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_CONTAINER_IMAGE_NAME,
  ATTR_K8S_CONTAINER_NAME,
  ATTR_K8S_CONTAINER_RESTART_COUNT,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_POD_NAME,
  ATTR_K8S_POD_UID,
  ATTR_KATA_SANDBOX_ID,
} from '../semconv/generated.js';
import { silentLogger, type Logger } from '../telemetry/log.js';
import { DirListings, findBundle, isBundleId, type BundleRoots } from './k8s/bundles.js';
import { TtlLruCache } from './k8s/cache.js';
import { criMapping } from './k8s/cri-lines.js';
import { CriMetadata, type CriOptions } from './k8s/cri.js';
import { mergeMetadata, podMetadataFromAnnotations, type PodMetadata } from './k8s/metadata.js';
import type { BuiltStage, StageEnv } from '../components/types.js';
import type { PipelineConfig } from '../config/types.js';
import type { Stage } from './types.js';

export type { PodMetadata } from './k8s/metadata.js';

export interface K8sMetadataOptions {
  /** containerd state directories (default /run/containerd, /run/k3s/containerd). */
  bundleRoots?: readonly string[];
  /** containers/storage roots of CRI-O (default /run/containers/storage, /var/lib/containers/storage). */
  crioRoots?: readonly string[];
  /** Learn id → pod from the CRI runtime's log lines (default true). */
  fromCriLogs?: boolean;
  /** Most ids remembered (default 10,000). */
  cacheEntries?: number;
  /** How long an id is remembered after its last record (default 10 min). */
  ttlMs?: number;
  /** How long "no bundle for this id" is remembered before the files are looked at again (default 30 s). */
  missTtlMs?: number;
  /** Ask the CRI runtime for ids without a bundle (k8s/cri.ts); undefined: off. */
  cri?: Pick<CriOptions, 'endpoints' | 'timeoutMs' | 'refreshMs'>;
  /** Clock in ms (tests). */
  now?: () => number;
  logger?: Logger;
}

export const K8S_DEFAULTS = {
  bundleRoots: ['/run/containerd', '/run/k3s/containerd'],
  crioRoots: ['/run/containers/storage', '/var/lib/containers/storage'],
  cacheEntries: 10_000,
  ttlMs: 600_000,
  missTtlMs: 30_000,
} as const;

/** What the stage adds for one id: flat [name, value, name, value, …] lists, built once per id. */
interface Entry {
  meta: PodMetadata;
  /** Pod attributes; empty when the id's pod is not known (yet). */
  pod: string[];
  /** Container attributes (never for a sandbox). */
  container: (string | number)[];
}

function pairs<V extends string | number>(list: [string, V | undefined][]): (string | V)[] {
  const out: (string | V)[] = [];
  for (const [k, v] of list) if (v !== undefined && v !== '') out.push(k, v);
  return out;
}

function entryFor(meta: PodMetadata): Entry {
  return {
    meta,
    pod: pairs<string>([
      [ATTR_K8S_POD_NAME, meta.podName],
      [ATTR_K8S_NAMESPACE_NAME, meta.namespace],
      [ATTR_K8S_POD_UID, meta.podUid],
    ]),
    container:
      meta.kind === 'sandbox'
        ? []
        : pairs<string | number>([
            [ATTR_K8S_CONTAINER_NAME, meta.containerName],
            [ATTR_CONTAINER_IMAGE_NAME, meta.imageName],
            [ATTR_K8S_CONTAINER_RESTART_COUNT, meta.restartCount],
          ]),
  };
}

/** Attributes already on the record win (a file source's static attributes, an earlier stage). */
function apply(a: Attributes, p: readonly (string | number)[]): void {
  for (let i = 0; i < p.length; i += 2) if (a[p[i] as string] === undefined) a[p[i] as string] = p[i + 1] as AttrValue;
}

const asId = (v: AttrValue | undefined): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Whether `extra` has a field `base` lacks. */
function lacksFrom(base: PodMetadata, extra: PodMetadata): boolean {
  return (
    (base.restartCount === undefined && extra.restartCount !== undefined) ||
    (!base.podName && !!extra.podName) ||
    (!base.namespace && !!extra.namespace) ||
    (!base.podUid && !!extra.podUid) ||
    (!base.containerName && !!extra.containerName) ||
    (!base.imageName && !!extra.imageName)
  );
}

/** Adds Kubernetes pod and container attributes to records by sandbox / container id. Never throws. */
export class K8sMetadataStage implements Stage {
  readonly name = 'k8s';
  /** config.json lookups done (each tries every candidate path once). */
  bundleLookups = 0;
  /** Mappings learned from CRI runtime log lines. */
  learned = 0;
  private readonly roots: BundleRoots;
  private readonly dirs: DirListings;
  private readonly fromCriLogs: boolean;
  private readonly ttlMs: number;
  private readonly missTtlMs: number;
  private readonly now: () => number;
  private readonly logger: Logger;
  /** id → its entry, or null: no bundle found (kept missTtlMs). */
  private readonly cache: TtlLruCache<Entry | null>;
  /** Ids whose unreadable bundle was already logged (bounded like the cache). */
  private readonly reported: TtlLruCache<true>;
  private warnedAccess = false;
  /** The CRI API fallback; undefined when off. */
  readonly cri: CriMetadata | undefined;

  constructor(opts: K8sMetadataOptions = {}) {
    this.roots = {
      containerd: opts.bundleRoots ?? K8S_DEFAULTS.bundleRoots,
      crio: opts.crioRoots ?? K8S_DEFAULTS.crioRoots,
    };
    this.fromCriLogs = opts.fromCriLogs ?? true;
    const entries = Math.max(1, opts.cacheEntries ?? K8S_DEFAULTS.cacheEntries);
    this.ttlMs = Math.max(1, opts.ttlMs ?? K8S_DEFAULTS.ttlMs);
    this.missTtlMs = Math.max(1, opts.missTtlMs ?? K8S_DEFAULTS.missTtlMs);
    this.now = opts.now ?? Date.now;
    this.dirs = new DirListings(this.now);
    this.logger = opts.logger ?? silentLogger;
    this.cache = new TtlLruCache(entries);
    this.reported = new TtlLruCache(entries);
    this.cri = opts.cri
      ? new CriMetadata({ ...opts.cri, logger: this.logger, now: this.now, onRefresh: (s) => this.adopt(s) })
      : undefined;
  }

  /** The CRI API's first answer (bounded by its timeout), so that a replay's first records are named too. */
  async ready(): Promise<void> {
    await this.cri?.start();
  }

  close(): KataLogRecord[] {
    this.cri?.close();
    return [];
  }

  /** Ids remembered (found, learned or missed). */
  get size(): number {
    return this.cache.size;
  }

  /** What the stage knows about `id` now (looks it up like a record would). */
  lookup(id: string): PodMetadata | undefined {
    this.forget();
    return this.resolve(id, this.now())?.meta;
  }

  process(records: KataLogRecord[]): KataLogRecord[] {
    const now = this.now();
    this.cache.prune(now);
    this.forget();
    for (const rec of records) {
      try {
        this.enrich(rec, now);
      } catch (err) {
        // Enrichment is best effort: a bug here must not lose the batch.
        this.logger.debug('k8s metadata: record skipped', { err });
      }
    }
    return records;
  }

  private enrich(rec: KataLogRecord, now: number): void {
    const a = rec.attributes;
    let sid = asId(a[ATTR_KATA_SANDBOX_ID]);
    let cid = asId(a[ATTR_CONTAINER_ID]);
    if (this.fromCriLogs) {
      const learned = this.learn(rec.body, now);
      // The CRI line is about that pod: it gets the attributes too.
      if (learned) {
        if (learned.meta.kind === 'sandbox') sid ??= learned.id;
        else {
          cid ??= learned.id;
          sid ??= learned.meta.sandboxId;
        }
      }
    }
    let podDone = false;
    if (cid !== undefined && cid !== sid) {
      const e = this.resolve(cid, now);
      // A container belongs to one sandbox: a record whose container id is another sandbox's (guest text can name
      // any id) gets neither that container's nor that pod's names; its own sandbox still names the pod.
      if (e && !(sid !== undefined && e.meta.sandboxId !== undefined && e.meta.sandboxId !== sid)) {
        apply(a, e.container);
        if (e.pod.length) {
          apply(a, e.pod);
          podDone = true;
        } else sid ??= e.meta.sandboxId;
      }
    }
    if (!podDone && sid !== undefined) {
      const e = this.resolve(sid, now);
      if (e) apply(a, e.pod);
    }
  }

  // Records come in runs from one sandbox, and a sandbox's container records alternate with its own: two slots
  // remembering the last ids resolved in this batch answer most records with a string comparison instead of
  // hashing a fresh 64-character id for the Map. One cache use per id and batch is enough to renew its TTL.
  private memoIdA = '';
  private memoA: Entry | null = null;
  private memoIdB = '';
  private memoB: Entry | null = null;

  private forget(): void {
    this.memoIdA = this.memoIdB = '';
  }

  /** Cached entry for `id`, reading its bundle on a miss. */
  private resolve(id: string, now: number): Entry | null {
    if (id === this.memoIdA) return this.memoA;
    if (id === this.memoIdB) return this.memoB;
    let e = this.cache.get(id, now);
    if (e === undefined) {
      e = this.readBundle(id);
      this.cache.set(id, e, e ? this.ttlMs : this.missTtlMs, e !== null, now);
    }
    this.memoIdB = this.memoIdA;
    this.memoB = this.memoA;
    this.memoIdA = id;
    this.memoA = e;
    return e;
  }

  // Synchronous read, once per new id (and per miss TTL): Stage.process is synchronous, the file is a few KB to a
  // few tens of KB on tmpfs (/run), and an id is new only when a sandbox or container starts. Reading it here
  // means even the first record of a sandbox carries its pod; an asynchronous read would leave those without.
  private readBundle(id: string): Entry | null {
    if (!isBundleId(id)) return null;
    this.bundleLookups++;
    const r = findBundle(id, this.roots, this.dirs);
    if (r.kind !== 'found') {
      if (r.kind === 'error') this.reportOnce(id, r.path, r.message, r.code);
      // No bundle (gone, or never readable): what the CRI runtime listed, if anything.
      const fromCri = this.cri?.get(id);
      return fromCri ? entryFor(fromCri) : null;
    }
    let meta = podMetadataFromAnnotations(r.annotations);
    // containerd's bundles carry no restart count: the CRI snapshot adds it (now, or in adopt() once refreshed).
    if (meta?.kind === 'container' && meta.restartCount === undefined && this.cri) {
      const fromCri = this.cri.get(id);
      if (fromCri) meta = mergeMetadata(meta, fromCri);
    }
    // A bundle without CRI annotations (ctr, nerdctl, docker) names no pod; remember that for the full TTL.
    return entryFor(meta ?? { kind: 'unknown' });
  }

  /**
   * A fresh CRI snapshot: ids the stage looked up and missed get their entry now, and container entries that
   * lack what the runtime knows (a containerd bundle's restart count) are completed, bundle fields first. Ids
   * the stage never saw are left out of the cache.
   */
  private adopt(snapshot: ReadonlyMap<string, PodMetadata>): void {
    const now = this.now();
    for (const [id, fromCri] of snapshot) {
      const cur = this.cache.peek(id, now);
      if (cur === undefined) continue;
      if (cur === null) this.cache.set(id, entryFor(fromCri), this.ttlMs, true, now);
      else if (lacksFrom(cur.meta, fromCri))
        this.cache.set(id, entryFor(mergeMetadata(cur.meta, fromCri)), this.ttlMs, true, now);
    }
    this.forget();
  }

  private reportOnce(id: string, path: string, message: string, code?: string): void {
    const now = this.now();
    if (code === 'EACCES' || code === 'EPERM') {
      if (!this.warnedAccess) {
        this.warnedAccess = true;
        this.logger.warn(
          'k8s metadata: OCI bundles are not readable; pod names will come only from CRI runtime log lines. Run kata-otel as root (bundle directories are mode 0700) or set pipeline.k8s.bundle_roots',
          { path, error: message },
        );
      }
    }
    if (this.reported.peek(id, now)) return;
    this.reported.set(id, true, this.ttlMs, false, now);
    this.logger.debug('k8s metadata: OCI bundle config.json skipped', { id, path, error: message });
  }

  /** Learn from a CRI runtime line; returns the mapping when the body was one. */
  private learn(body: string, now: number): { id: string; meta: PodMetadata } | undefined {
    const m = criMapping(body);
    if (!m || !isBundleId(m.id)) return undefined;
    // The bundle, when there is one, wins field by field (it has the image and, for CRI-O, the uid); the line
    // fills what it lacks, or stands alone once the bundle is gone (a replay).
    const known = this.resolve(m.id, now);
    const meta = known ? mergeMetadata(known.meta, m.meta) : m.meta;
    this.cache.set(m.id, entryFor(meta), this.ttlMs, true, now);
    this.forget();
    this.learned++;
    return { id: m.id, meta };
  }
}

/** The registry's factory (k8s/config.ts). */
export function createK8sStage(k: PipelineConfig['k8s'], env: StageEnv): BuiltStage {
  const stage = new K8sMetadataStage({
    bundleRoots: k.bundleRoots,
    crioRoots: k.crioRoots,
    fromCriLogs: k.fromCriLogs,
    cacheEntries: k.cacheEntries,
    ttlMs: k.ttlMs,
    cri: k.cri.enabled
      ? { endpoints: k.cri.endpoints, timeoutMs: k.cri.timeoutMs, refreshMs: k.cri.refreshIntervalMs }
      : undefined,
    logger: env.logger,
  });
  // The CRI snapshot before the first record (bounded by pipeline.k8s.cri.timeout_ms): a replay's first records
  // of a sandbox whose bundle is gone are named too.
  return { stage, ready: () => stage.ready() };
}
