// OCI bundles laid out as containerd and CRI-O lay them out on a node, with config.json files shaped like the
// ones they write (annotation keys and values per kata-lifecycle.md §4.1–4.3), and Go shim log lines for them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { parseText } from '../../receiver/parse/index.js';
import {
  ATTR_CONTAINER_IMAGE_NAME,
  ATTR_K8S_CONTAINER_NAME,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_POD_NAME,
  ATTR_K8S_POD_UID,
} from '../../receiver/semconv/generated.js';

export const SID = 'ee86fb8be61987b83e1da1338b09fc0a83dcd12f9754455e668b16dc98f20f48';
export const CID = 'c65a36d4090569f70b6badb5b6127ad773ebd7e5ce18d3872b8e93ee4fb52cab';
export const UID = '51a5ca8e-4e46-451b-bbac-525543a80861';
export const IMAGE = 'docker.io/library/nginx:1.27';
export const PAUSE = 'registry.k8s.io/pause:3.10';

/** The rest of an OCI runtime spec as the CRI runtimes write it (the stage must read past all of it). */
function spec(annotations: Record<string, string>, args: string[], hostname: string): object {
  return {
    ociVersion: '1.1.0',
    process: {
      user: { uid: 65535, gid: 65535, additionalGids: [65535] },
      args,
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `HOSTNAME=${hostname}`],
      cwd: '/',
      capabilities: {
        bounding: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW'],
        effective: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW'],
        permitted: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW'],
      },
      noNewPrivileges: true,
      oomScoreAdj: -998,
    },
    root: { path: 'rootfs', readonly: true },
    hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755'] },
      { destination: '/dev/shm', type: 'bind', source: `/run/kata-shm/${hostname}`, options: ['rbind', 'ro'] },
    ],
    annotations,
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }], cpu: { shares: 2 } },
      cgroupsPath: `kubepods-besteffort-pod${UID.replace(/-/g, '_')}.slice:cri-containerd:${SID}`,
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }],
      maskedPaths: ['/proc/acpi', '/proc/kcore', '/proc/keys', '/sys/firmware'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/** containerd (1.7 / 2.x) pod sandbox annotations (internal/cri/annotations); `old`: containerd 1.5, no uid key. */
export function containerdSandbox(
  sid: string,
  pod: { name: string; namespace: string; uid: string },
  old = false,
): object {
  const a: Record<string, string> = {
    'io.kubernetes.cri.container-type': 'sandbox',
    'io.kubernetes.cri.sandbox-id': sid,
    'io.kubernetes.cri.sandbox-log-directory': `/var/log/pods/${pod.namespace}_${pod.name}_${pod.uid}`,
    'io.kubernetes.cri.sandbox-name': pod.name,
    'io.kubernetes.cri.sandbox-namespace': pod.namespace,
  };
  if (!old) {
    a['io.kubernetes.cri.podsandbox.image-name'] = PAUSE;
    a['io.kubernetes.cri.sandbox-cpu-period'] = '100000';
    a['io.kubernetes.cri.sandbox-cpu-quota'] = '0';
    a['io.kubernetes.cri.sandbox-cpu-shares'] = '2';
    a['io.kubernetes.cri.sandbox-memory'] = '0';
    a['io.kubernetes.cri.sandbox-uid'] = pod.uid;
  }
  return spec(a, ['/pause'], pod.name);
}

/** containerd app container annotations. */
export function containerdContainer(
  sid: string,
  pod: { name: string; namespace: string; uid: string },
  container: string,
  image: string,
): object {
  return spec(
    {
      'io.kubernetes.cri.container-name': container,
      'io.kubernetes.cri.container-type': 'container',
      'io.kubernetes.cri.image-name': image,
      'io.kubernetes.cri.sandbox-id': sid,
      'io.kubernetes.cri.sandbox-name': pod.name,
      'io.kubernetes.cri.sandbox-namespace': pod.namespace,
      'io.kubernetes.cri.sandbox-uid': pod.uid,
    },
    ['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;'],
    pod.name,
  );
}

/** CRI-O infra container (= pod sandbox) annotations: its own keys plus the kubelet labels it copies. */
export function crioSandbox(sid: string, pod: { name: string; namespace: string; uid: string }): object {
  const full = `k8s_${pod.name}_${pod.namespace}_${pod.uid}_0`;
  return spec(
    {
      'io.container.manager': 'cri-o',
      'io.kubernetes.container.name': 'POD',
      'io.kubernetes.cri-o.Annotations': JSON.stringify({ 'kubernetes.io/config.source': 'api' }),
      'io.kubernetes.cri-o.ContainerID': sid,
      'io.kubernetes.cri-o.ContainerName': `k8s_POD_${pod.name}_${pod.namespace}_${pod.uid}_0`,
      'io.kubernetes.cri-o.ContainerType': 'sandbox',
      'io.kubernetes.cri-o.Created': '2026-05-27T16:02:29.013490793Z',
      'io.kubernetes.cri-o.HostName': pod.name,
      'io.kubernetes.cri-o.Image': PAUSE,
      'io.kubernetes.cri-o.ImageName': PAUSE,
      'io.kubernetes.cri-o.KubeName': pod.name,
      'io.kubernetes.cri-o.Labels': JSON.stringify({
        'io.kubernetes.pod.name': pod.name,
        'io.kubernetes.pod.namespace': pod.namespace,
        'io.kubernetes.pod.uid': pod.uid,
      }),
      'io.kubernetes.cri-o.LogPath': `/var/log/pods/${pod.namespace}_${pod.name}_${pod.uid}/${sid}.log`,
      'io.kubernetes.cri-o.Metadata': JSON.stringify({ name: pod.name, uid: pod.uid, namespace: pod.namespace }),
      'io.kubernetes.cri-o.Name': full,
      'io.kubernetes.cri-o.Namespace': pod.namespace,
      'io.kubernetes.cri-o.RuntimeHandler': 'kata',
      'io.kubernetes.cri-o.SandboxID': sid,
      'io.kubernetes.cri-o.SandboxName': full,
      'io.kubernetes.pod.name': pod.name,
      'io.kubernetes.pod.namespace': pod.namespace,
      'io.kubernetes.pod.uid': pod.uid,
      'kubernetes.io/config.source': 'api',
    },
    ['/pause'],
    pod.name,
  );
}

/** CRI-O app container annotations. */
export function crioContainer(
  cid: string,
  sid: string,
  pod: { name: string; namespace: string; uid: string },
  container: string,
  image: string,
): object {
  return spec(
    {
      'io.container.manager': 'cri-o',
      'io.kubernetes.container.hash': 'a3b5c8f1',
      'io.kubernetes.container.name': container,
      'io.kubernetes.container.restartCount': '0',
      'io.kubernetes.cri-o.ContainerID': cid,
      'io.kubernetes.cri-o.ContainerType': 'container',
      'io.kubernetes.cri-o.Image': image,
      'io.kubernetes.cri-o.ImageName': image,
      'io.kubernetes.cri-o.ImageRef': 'sha256:9bea9f2796e236cb18c2b3ad561ff29f655d1001f9ec7247a0bc5e08d25652a1',
      'io.kubernetes.cri-o.Metadata': JSON.stringify({ name: container }),
      'io.kubernetes.cri-o.Name': `k8s_${container}_${pod.name}_${pod.namespace}_${pod.uid}_0`,
      'io.kubernetes.cri-o.SandboxID': sid,
      'io.kubernetes.cri-o.SandboxName': `k8s_${pod.name}_${pod.namespace}_${pod.uid}_0`,
      'io.kubernetes.pod.name': pod.name,
      'io.kubernetes.pod.namespace': pod.namespace,
      'io.kubernetes.pod.uid': pod.uid,
    },
    ['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;'],
    pod.name,
  );
}

/** Write `spec` as containerd does: compact JSON in `<state>/io.containerd.runtime.v2.task/<ns>/<id>/config.json`. */
export function writeContainerdBundle(state: string, id: string, specObj: object | string, ns = 'k8s.io'): string {
  const dir = join(state, 'io.containerd.runtime.v2.task', ns, id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'config.json');
  writeFileSync(path, typeof specObj === 'string' ? specObj : JSON.stringify(specObj));
  return path;
}

/** Write `spec` as CRI-O does: `<root>/overlay-containers/<id>/userdata/config.json`. */
export function writeCrioBundle(root: string, id: string, specObj: object): string {
  const dir = join(root, 'overlay-containers', id, 'userdata');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify(specObj));
  return path;
}

/** A Go shim sandbox-level line (journal short format, identifier `kata`) for `sid`. */
export function shimSandboxLine(sid: string, msg = 'VM started', t = '2024-08-28T09:46:31.220194851Z'): string {
  return `Aug 28 09:46:31 node-1 kata[41001]: time="${t}" level=info msg="${msg}" name=containerd-shim-v2 pid=41001 sandbox=${sid} source=virtcontainers subsystem=sandbox`;
}

/** A Go shim container line (`Container is started`, sb StartContainer) for `cid` in `sid`. */
export function shimContainerLine(sid: string, cid: string, t = '2024-08-28T09:46:34.508812311Z'): string {
  return `Aug 28 09:46:34 node-1 kata[41001]: time="${t}" level=info msg="Container is started" container=${cid} name=containerd-shim-v2 pid=41001 sandbox=${sid} source=virtcontainers subsystem=sandbox`;
}

export function parse(line: string): KataLogRecord {
  const recs = parseText(line, { observedTimeUnixNano: 1_764_000_000_000_000_000n });
  return recs[0] as KataLogRecord;
}

export const K8S_KEYS = [
  ATTR_K8S_POD_NAME,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_POD_UID,
  ATTR_K8S_CONTAINER_NAME,
  ATTR_CONTAINER_IMAGE_NAME,
];

/** The `keys` attributes a record has (only those, so the assertions read like the spec). */
export const attrsOf = (r: KataLogRecord, keys: readonly string[]) =>
  Object.fromEntries(keys.filter((k) => k in r.attributes).map((k) => [k, r.attributes[k]]));
export const k8sOf = (r: KataLogRecord) => attrsOf(r, K8S_KEYS);

export const podAttrs = (p: { name: string; namespace: string; uid?: string }) => ({
  [ATTR_K8S_POD_NAME]: p.name,
  [ATTR_K8S_NAMESPACE_NAME]: p.namespace,
  ...(p.uid ? { [ATTR_K8S_POD_UID]: p.uid } : {}),
});
