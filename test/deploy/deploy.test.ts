// The deployment files in deploy/: the Kubernetes manifests parse and mount every path the shipped
// configuration reads, with the security settings docs/deploy.md explains; the systemd unit passes
// `systemd-analyze verify` with no warning; the Dockerfile passes dockerfile-utils' linter and builds where a
// Docker daemon runs.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../receiver/config/index.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const text = (rel: string) => readFileSync(join(REPO, rel), 'utf8');
const yaml = (rel: string) => parse(text(rel)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Mount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  mountPropagation?: string;
}
const ds = yaml('deploy/kubernetes/daemonset.yaml');
const pod = ds.spec.template.spec;
const container = pod.containers[0];
const mounts = container.volumeMounts as Mount[];
const volumes = new Map<string, Record<string, any>>(pod.volumes.map((v: { name: string }) => [v.name, v])); // eslint-disable-line @typescript-eslint/no-explicit-any
const mountOf = (path: string) => mounts.find((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`));

describe('Kubernetes manifests', () => {
  it('kustomization lists files that exist and the ConfigMap the DaemonSet mounts', () => {
    const k = yaml('deploy/kubernetes/kustomization.yaml');
    for (const r of k.resources) expect(() => text(`deploy/kubernetes/${r}`)).not.toThrow();
    expect(k.configMapGenerator[0].name).toBe(volumes.get('config')?.configMap.name);
    expect(yaml('deploy/kubernetes/serviceaccount.yaml').metadata.name).toBe(pod.serviceAccountName);
  });

  it('mounts every place a Kata node keeps logs, sockets and metadata, each hostPath at the same path', () => {
    for (const path of [
      '/var/log/journal',
      '/run/log/journal',
      '/etc/machine-id',
      '/run/vc',
      '/run/kata',
      '/run/kata-containers',
      '/run/containerd',
      '/run/crio',
      '/run/containers/storage',
      '/var/lib/containers/storage',
      '/etc/kata-containers',
      '/usr/share/defaults/kata-containers',
      '/opt/kata/share/defaults/kata-containers',
      '/var/lib/kata-otel',
    ]) {
      const m = mounts.find((x) => x.mountPath === path);
      expect(m, path).toBeDefined();
      expect(volumes.get(m!.name)?.hostPath?.path, path).toBe(path);
      // Only the data directory is writable.
      expect(m!.readOnly ?? false, path).toBe(path !== '/var/lib/kata-otel');
    }
    expect(volumes.get('data')?.hostPath.type).toBe('DirectoryOrCreate');
    // Run directories see sandboxes' mounts come and go instead of pinning them.
    for (const path of ['/run/vc', '/run/kata-containers', '/run/containerd'])
      expect(mountOf(path)?.mountPropagation, path).toBe('HostToContainer');
    for (const m of mounts) expect(volumes.has(m.name), m.name).toBe(true);
  });

  it('every path the shipped configuration reads is mounted in the container', () => {
    const config = loadConfig(join(REPO, 'deploy/kubernetes/config.yaml'), undefined, {
      env: { HOST_IP: '10.0.0.5', NODE_NAME: 'node-a' },
      euid: 0,
    });
    const s = config.sources;
    const paths = [
      config.dataDir,
      ...s.files.flatMap((f) =>
        f.include.map((g) => g.slice(0, g.search(/[*?[]/) === -1 ? undefined : g.search(/[*?[]/))),
      ),
      ...s.vsock.roots,
      ...s.fifo.roots,
      ...config.pipeline.k8s.bundleRoots,
      ...config.pipeline.k8s.crioRoots,
      // The CRI sockets of the API fallback; /var/run is a symlink to /run in the image (Debian).
      ...config.pipeline.k8s.cri.endpoints.map((e) => e.replace(/^\/var\/run\//, '/run/')),
    ];
    for (const p of paths) expect(mountOf(p), p).toBeDefined();
    expect(s.journald.directory).toBeNull(); // the system journal: /var/log/journal + /run/log/journal, mounted
    expect(config.exporters[0]).toMatchObject({ endpoint: 'http://10.0.0.5:4317' });
    const port = Number(config.telemetry.listen?.split(':').pop());
    expect(container.ports).toContainEqual({ name: 'metrics', containerPort: port, protocol: 'TCP' });
    expect(config.shutdownTimeoutMs / 1000).toBeLessThan(pod.terminationGracePeriodSeconds);
  });

  it('runs with the least privilege that can read the node: read-only root, one capability, no host namespaces', () => {
    const sc = container.securityContext;
    expect(sc).toMatchObject({
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['DAC_READ_SEARCH'] },
    });
    expect(pod.securityContext.seccompProfile.type).toBe('RuntimeDefault');
    expect([pod.hostPID, pod.hostNetwork, pod.hostIPC]).toEqual([false, false, false]);
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('probes /healthz and /readyz and sizes resources from the bench figures', () => {
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    const mib = (q: string) => Number(/^(\d+)Mi$/.exec(q)?.[1]);
    // bench/README.md: a 1M-line import peaks at 186 MB RSS; the limit leaves room, the heap cap stays below it.
    expect(mib(container.resources.limits.memory) * 1.048576).toBeGreaterThan(186 * 1.5);
    const heap = Number(
      /max-old-space-size=(\d+)/.exec(
        container.env.find((e: { name: string }) => e.name === 'NODE_OPTIONS').value,
      )?.[1],
    );
    expect(heap).toBeLessThan(mib(container.resources.limits.memory));
    expect(container.resources.requests.cpu).toBeDefined();
  });
});

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
describe.skipIf(!hasSystemdAnalyze)('systemd unit', () => {
  const verify = (file: string) => spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });

  it('passes systemd-analyze verify without a warning', () => {
    const r = verify(join(REPO, 'deploy/systemd/kata-otel.service'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the check catches a misspelt sandboxing directive', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kata-otel-unit-'));
    const bad = join(dir, 'kata-otel.service');
    writeFileSync(bad, text('deploy/systemd/kata-otel.service').replace('NoNewPrivileges=yes', 'NoNewPrivilegs=yes'));
    expect(verify(bad).stderr).toContain("Unknown key 'NoNewPrivilegs'");
  });

  it('keeps the filesystem read-only but the data directory, and only the reading capability', () => {
    const unit = text('deploy/systemd/kata-otel.service');
    for (const line of [
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/kata-otel',
      'NoNewPrivileges=yes',
      'CapabilityBoundingSet=CAP_DAC_READ_SEARCH',
      'ExecReload=/bin/kill -HUP $MAINPID',
    ])
      expect(unit).toContain(`\n${line}\n`);
  });
});

describe('Dockerfile', () => {
  const dockerfile = text('deploy/Dockerfile');

  it('passes the dockerfile-utils linter, which rejects a broken file', () => {
    expect(lintDockerfile(dockerfile)).toEqual([]);
    expect(lintDockerfile('FROM node:20\nEXPOSE abc\n').map((d) => d.message)).toContain('Invalid containerPort: abc');
  });

  it('is multi-stage on a slim base, ends as a non-root user with the data directory as a volume', () => {
    const froms = dockerfile.match(/^FROM .+$/gm) ?? [];
    expect(froms).toEqual(['FROM node:20-bookworm-slim AS build', 'FROM node:20-bookworm-slim']);
    const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(final).toMatch(/^USER 10001:10001$/m);
    expect(final).toMatch(/^VOLUME \["\/var\/lib\/kata-otel"\]$/m);
    expect(final).not.toMatch(/npm (ci|install)/); // the toolchain stays in the build stage
    expect(final).toMatch(/^EXPOSE 8898$/m);
  });

  const daemon = spawnSync('docker', ['info'], { encoding: 'utf8', timeout: 10_000 }).status === 0;
  it.skipIf(!daemon)(
    'builds and the image runs --help',
    () => {
      const tag = `kata-otel-test:${process.pid}`;
      execFileSync('docker', ['build', '-q', '-f', 'deploy/Dockerfile', '-t', tag, '.'], {
        cwd: REPO,
        timeout: 600_000,
      });
      try {
        const out = execFileSync('docker', ['run', '--rm', '--read-only', tag, '--help'], { encoding: 'utf8' });
        expect(out).toContain('run');
      } finally {
        spawnSync('docker', ['rmi', '-f', tag]);
      }
    },
    660_000,
  );
});
