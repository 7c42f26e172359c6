// The Kubernetes metadata stage's settings schema (its descriptor, in the `*-component.ts` beside it, loads this lazily): `pipeline.k8s` (defaults stated only here).
import { Type } from '@sinclair/typebox';
import { bool, ms, section, strings } from '../../config/schema-kit.js';

export const K8sSchema = section(
  {
    enabled: bool(true, 'Add the Kubernetes pod (and container) to records by sandbox / container id.'),
    bundle_roots: strings(
      ['/run/containerd', '/run/k3s/containerd'],
      'containerd state directories whose `io.containerd.runtime.v2.task/<ns>/<id>/config.json` annotations name the pod.',
    ),
    crio_roots: strings(
      ['/run/containers/storage', '/var/lib/containers/storage'],
      'CRI-O containers/storage roots whose `overlay-containers/<id>/userdata/config.json` annotations name the pod.',
    ),
    from_cri_logs: bool(
      true,
      "Learn id → pod from containerd's and CRI-O's own log lines (`RunPodSandbox … returns sandbox id`, `Ran pod sandbox …`); names pods in replays.",
    ),
    cache_entries: Type.Integer({
      minimum: 1,
      default: 10_000,
      description: 'Most sandbox / container ids remembered.',
    }),
    ttl_ms: ms(600_000, 'How long an id is remembered after its last record (outlives the bundle at teardown).', 1),
    cri: section(
      {
        enabled: bool(
          true,
          "Ask the CRI runtime (ListPodSandbox, ListContainers) for ids whose OCI bundle is gone, and for containerd's restart counts.",
        ),
        endpoints: strings(
          ['/run/containerd/containerd.sock', '/run/k3s/containerd/containerd.sock', '/var/run/crio/crio.sock'],
          'CRI unix sockets (containerd, k3s, CRI-O); every one present that answers is used, absent ones are skipped silently.',
        ),
        timeout_ms: ms(2_000, 'Deadline of each CRI call; a slow runtime leaves records unchanged.', 1),
        refresh_interval_ms: ms(
          10_000,
          'Least time between two refreshes of the CRI snapshot (one ListPodSandbox + ListContainers per socket), however many ids miss.',
        ),
      },
      'CRI API fallback (docs/k8s.md).',
    ),
  },
  'Kubernetes metadata from OCI bundle annotations, CRI runtime log lines and the CRI API (docs/k8s.md).',
);
