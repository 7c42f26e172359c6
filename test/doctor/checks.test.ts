// Every finding, positive and negative, on node trees built from the shipped-format fixtures.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../receiver/config/index.js';
import { runDoctor, type DoctorOptions } from '../../receiver/doctor/doctor.js';
import { loadRuleFiles } from '../../receiver/rules/index.js';
import { RULES_NEEDING_INFO } from '../../receiver/doctor/rule-levels.js';
import type { Finding, ProfileName } from '../../receiver/doctor/types.js';
import { GO_DIR, NodeTree, RS_DIR, type Variant } from './helpers.js';

/** A tree with one shipped configuration plus drop-ins, and a kata-otel configuration from YAML (or none). */
async function doctor(
  v: Variant,
  opts: {
    dropIns?: Record<string, string>;
    yaml?: string;
    profile?: ProfileName;
    tree?: NodeTree;
  } & Partial<DoctorOptions> = {},
): Promise<Finding[]> {
  const t = opts.tree ?? new NodeTree();
  const { dir } = t.installShipped(v);
  for (const [name, text] of Object.entries(opts.dropIns ?? {})) t.dropIn(dir, name, text);
  if (opts.yaml !== undefined) t.write('/etc/kata-otel.yaml', opts.yaml);
  const receiver =
    opts.yaml !== undefined ? loadConfig(`${t.root}/etc/kata-otel.yaml`, undefined, { env: {} }) : undefined;
  const r = await runDoctor({
    profile: opts.profile ?? 'prod',
    root: t.root,
    receiver,
    connectTimeoutMs:
      opts.connectTimeoutMs ??
      5000 /* a loaded machine answers a listening loopback port late; a closed one is refused at once */,
  });
  return r.findings;
}
const ids = (fs: Finding[]) => fs.map((f) => f.id);
const find = (fs: Finding[], id: string) => fs.filter((f) => f.id === id);

describe('Kata checks', () => {
  it('kata-debug-console: on through [agent.kata] or kernel_params; off as shipped', async () => {
    const on = await doctor('go-qemu', {
      dropIns: { '20-debug.toml': '[agent.kata]\ndebug_console_enabled = true\n' },
    });
    expect(find(on, 'kata-debug-console')).toMatchObject([
      { severity: 'error', file: `${GO_DIR}/config.d/20-debug.toml`, line: 2, key: 'agent.kata.debug_console_enabled' },
    ]);
    const viaParams = await doctor('rs-dragonball', {
      dropIns: {
        '30-kernel-params.toml':
          '[hypervisor.dragonball]\nkernel_params = "console=ttyS1 agent.log_vport=1025 agent.debug_console"\n',
      },
    });
    expect(find(viaParams, 'kata-debug-console')).toMatchObject([
      { severity: 'error', key: 'hypervisor.dragonball.kernel_params' },
    ]);
    expect(ids(await doctor('go-qemu'))).not.toContain('kata-debug-console');
    // In dev it is expected: info only.
    const dev = await doctor('go-qemu', {
      profile: 'dev',
      dropIns: { '20-debug.toml': '[agent.kata]\ndebug_console_enabled = true\n' },
    });
    expect(find(dev, 'kata-debug-console')).toMatchObject([{ severity: 'info' }]);
  });

  it('kata-debug-enabled: enable_debug / log_level debug / agent.log=debug in prod; nothing in dev or as shipped', async () => {
    const fs = await doctor('rs-qemu', {
      dropIns: {
        '20-debug.toml': '[hypervisor.qemu]\nenable_debug = true\n[runtime]\nlog_level = "trace"\n',
        '30-kernel-params.toml': '[hypervisor.qemu]\nkernel_params = "agent.log=debug initcall_debug"\n',
      },
    });
    expect(
      find(fs, 'kata-debug-enabled')
        .map((f) => f.key)
        .sort(),
    ).toEqual(['hypervisor.qemu.enable_debug', 'hypervisor.qemu.kernel_params', 'runtime.log_level']);
    expect(find(fs, 'kata-debug-enabled').every((f) => f.severity === 'warning')).toBe(true);
    const secure = await doctor('go-clh', {
      profile: 'secure',
      dropIns: { '20.toml': '[runtime]\nenable_debug = true\n' },
    });
    expect(find(secure, 'kata-debug-enabled')).toMatchObject([{ severity: 'error', line: 2 }]);
    expect(ids(await doctor('rs-qemu'))).not.toContain('kata-debug-enabled');
    expect(
      ids(
        await doctor('rs-qemu', { profile: 'dev', dropIns: { '20.toml': '[hypervisor.qemu]\nenable_debug = true\n' } }),
      ),
    ).not.toContain('kata-debug-enabled');
  });

  describe('kata-agent-logs-unread', () => {
    const vsock = (roots: string[], plain = false) =>
      `sources:\n  vsock:\n    enabled: true\n    roots: [${roots.join(', ')}]\n    plain_vsock: ${plain}\n`;
    it('Go + Firecracker: unread unless the vsock source reads /run/vc/firecracker', async () => {
      expect(find(await doctor('go-fc'), 'kata-agent-logs-unread')).toMatchObject([{ severity: 'warning' }]);
      expect(find(await doctor('go-fc', { yaml: vsock(['/run/vc/vm']) }), 'kata-agent-logs-unread')).toHaveLength(1);
      expect(find(await doctor('go-fc', { yaml: vsock(['/run/vc/firecracker']) }), 'kata-agent-logs-unread')).toEqual(
        [],
      );
      // With hypervisor debug the shim's console watcher reads the console.
      expect(
        find(
          await doctor('go-fc', { dropIns: { '20.toml': '[hypervisor.firecracker]\nenable_debug = true\n' } }),
          'kata-agent-logs-unread',
        ),
      ).toEqual([]);
    });
    it('Go + Cloud Hypervisor: needs agent.log_vport in kernel_params and the vsock source on /run/vc/vm', async () => {
      expect(
        find(await doctor('go-clh', { yaml: vsock(['/run/vc/vm']) }), 'kata-agent-logs-unread')[0]?.message,
      ).toMatch(/serial console/);
      const params = { '30.toml': '[hypervisor.clh]\nkernel_params = "cgroup_no_v1=all agent.log_vport=1025"\n' };
      expect(find(await doctor('go-clh', { dropIns: params }), 'kata-agent-logs-unread')[0]?.message).toMatch(
        /nothing reads it/,
      );
      expect(
        find(await doctor('go-clh', { dropIns: params, yaml: vsock(['/run/vc/vm']) }), 'kata-agent-logs-unread'),
      ).toEqual([]);
    });
    it('runtime-rs: unread without agent.log_vport (QEMU, CLH as shipped); Dragonball and Firecracker ship it', async () => {
      expect(find(await doctor('rs-qemu'), 'kata-agent-logs-unread')).toMatchObject([
        { severity: 'warning', key: 'hypervisor.qemu.kernel_params' },
      ]);
      expect(find(await doctor('rs-clh'), 'kata-agent-logs-unread')).toHaveLength(1);
      expect(find(await doctor('rs-dragonball'), 'kata-agent-logs-unread')).toEqual([]);
      expect(find(await doctor('rs-fc'), 'kata-agent-logs-unread')).toEqual([]);
      expect(
        find(
          await doctor('rs-qemu', { dropIns: { '20.toml': '[hypervisor.qemu]\nenable_debug = true\n' } }),
          'kata-agent-logs-unread',
        ),
      ).toEqual([]);
    });
    it('kata-agent-log-port-race: the vsock source on runtime-rs roots races the forwarder', async () => {
      expect(
        find(await doctor('rs-dragonball', { yaml: vsock(['/run/kata']) }), 'kata-agent-log-port-race'),
      ).toHaveLength(1);
      expect(
        find(
          await doctor('rs-dragonball', { yaml: vsock(['/run/vc/vm', '/run/vc/firecracker']) }),
          'kata-agent-log-port-race',
        ),
      ).toEqual([]);
    });
  });

  describe('kata-tracing-endpoint-unreachable (loopback only)', () => {
    let server: Server;
    let port = 0;
    beforeAll(async () => {
      server = createServer((s) => s.destroy());
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));
    const tracing = (url: string) => ({
      '40-tracing.toml': `[runtime]\nenable_tracing = true\njaeger_endpoint = "${url}"\n`,
    });
    it('reports a closed port, not a listening one, and not when tracing is off', async () => {
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const closedPort = (closed.address() as { port: number }).port;
      await new Promise<void>((r) => closed.close(() => r()));
      const bad = await doctor('go-qemu', { dropIns: tracing(`http://127.0.0.1:${closedPort}/api/traces`) });
      expect(find(bad, 'kata-tracing-endpoint-unreachable')).toMatchObject([
        { severity: 'warning', file: `${GO_DIR}/config.d/40-tracing.toml`, line: 3, key: 'runtime.jaeger_endpoint' },
      ]);
      expect(find(bad, 'kata-tracing-endpoint-unreachable')[0]?.message).toMatch(/ECONNREFUSED/);
      expect(ids(await doctor('go-qemu', { dropIns: tracing(`http://127.0.0.1:${port}/api/traces`) }))).not.toContain(
        'kata-tracing-endpoint-unreachable',
      );
      expect(ids(await doctor('go-qemu'))).not.toContain('kata-tracing-endpoint-unreachable');
    });
    it('kata-tracing-credentials: a jaeger_password in the file', async () => {
      expect(
        ids(
          await doctor('rs-qemu', { dropIns: { '40.toml': '[runtime]\njaeger_user = "u"\njaeger_password = "p"\n' } }),
        ),
      ).toContain('kata-tracing-credentials');
      expect(ids(await doctor('rs-qemu'))).not.toContain('kata-tracing-credentials');
    });
  });

  it('kata-guest-seccomp-disabled: shipped true is a warning in prod, an error in secure, gone with false', async () => {
    expect(find(await doctor('go-clh'), 'kata-guest-seccomp-disabled')).toMatchObject([
      { severity: 'warning', file: `${GO_DIR}/configuration-clh.toml` },
    ]);
    expect(find(await doctor('rs-fc', { profile: 'secure' }), 'kata-guest-seccomp-disabled')).toMatchObject([
      { severity: 'error', file: `${RS_DIR}/configuration-rs-fc.toml` },
    ]);
    expect(
      ids(await doctor('go-clh', { dropIns: { '60.toml': '[runtime]\ndisable_guest_seccomp = false\n' } })),
    ).not.toContain('kata-guest-seccomp-disabled');
  });

  it('kata-vmm-seccomp-disabled and kata-key-ignored (the Go spelling in a runtime-rs file)', async () => {
    expect(
      find(
        await doctor('rs-dragonball', { dropIns: { '60.toml': '[hypervisor.dragonball]\ndisable_seccomp = true\n' } }),
        'kata-vmm-seccomp-disabled',
      ),
    ).toMatchObject([{ severity: 'warning', line: 2 }]);
    expect(ids(await doctor('rs-dragonball'))).not.toContain('kata-vmm-seccomp-disabled');
    const rs = await doctor('rs-qemu', {
      profile: 'secure',
      dropIns: { '60.toml': '[hypervisor.qemu]\nseccompsandbox = "on"\n' },
    });
    expect(ids(rs)).toEqual(expect.arrayContaining(['kata-vmm-seccomp-disabled', 'kata-key-ignored']));
    const ok = await doctor('rs-qemu', {
      profile: 'secure',
      dropIns: { '60.toml': '[hypervisor.qemu]\nseccomp_sandbox = "on"\n' },
    });
    expect(ids(ok)).not.toContain('kata-vmm-seccomp-disabled');
  });

  it('kata-policy-ignores-failures: AllowRequestsFailingPolicy := true in [agent.kata] policy', async () => {
    const policy = (v: string) => ({
      '70-policy.toml': `[agent.kata]\npolicy = """\npackage agent_policy\n\ndefault AllowRequestsFailingPolicy := ${v}\n"""\n`,
    });
    expect(find(await doctor('rs-qemu', { dropIns: policy('true') }), 'kata-policy-ignores-failures')).toMatchObject([
      { severity: 'error', line: 2 },
    ]);
    const ok = await doctor('rs-qemu', { dropIns: policy('false') });
    expect(ids(ok)).not.toContain('kata-policy-ignores-failures');
    expect(ids(ok)).toContain('kata-policy-logged');
    // info: a policy may come through initdata or an annotation, which the doctor cannot see.
    expect(find(await doctor('rs-qemu', { profile: 'secure' }), 'kata-policy-default')).toMatchObject([
      { severity: 'info' },
    ]);
    expect(ids(await doctor('rs-qemu', { profile: 'prod' }))).not.toContain('kata-policy-default');
  });

  it('kata-log-level-hides-events: levels above info drop what the rules match', async () => {
    const fs = await doctor('rs-dragonball', { dropIns: { '60.toml': '[agent.kata]\nlog_level = "warn"\n' } });
    expect(find(fs, 'kata-log-level-hides-events')).toMatchObject([
      { key: 'agent.kata.log_level', file: `${RS_DIR}/config.d/60.toml` },
    ]);
    expect(find(fs, 'kata-log-level-hides-events')[0]?.message).toContain('kata-container-exec');
    const go = await doctor('go-qemu', {
      dropIns: { '60.toml': '[hypervisor.qemu]\nkernel_params = "agent.log=error"\n' },
    });
    expect(find(go, 'kata-log-level-hides-events')).toHaveLength(1);
    expect(ids(await doctor('rs-dragonball'))).not.toContain('kata-log-level-hides-events');
  });

  it('kata-annotations: path-like entries are errors, kernel_params a warning in secure', async () => {
    const any = await doctor('go-qemu', { dropIns: { '60.toml': '[hypervisor.qemu]\nenable_annotations = [".*"]\n' } });
    expect(find(any, 'kata-annotations-unsafe')).toMatchObject([{ severity: 'error' }]);
    expect(find(await doctor('go-qemu', { profile: 'secure' }), 'kata-annotations-kernel-params')).toMatchObject([
      { severity: 'warning' },
    ]);
    expect(
      ids(
        await doctor('go-qemu', {
          profile: 'secure',
          dropIns: { '60.toml': '[hypervisor.qemu]\nenable_annotations = ["^enable_iommu$"]\n' },
        }),
      ),
    ).not.toContain('kata-annotations-kernel-params');
  });

  it('kata-hypervisor-table: two [hypervisor.*] tables in a Go file (picked at random), one is fine', async () => {
    const two = await doctor('go-qemu', { dropIns: { '60.toml': '[hypervisor.clh]\nenable_debug = true\n' } });
    expect(find(two, 'kata-hypervisor-table')).toMatchObject([{ severity: 'warning' }]);
    expect(find(two, 'kata-hypervisor-table')[0]?.message).toMatch(/clh, qemu|qemu, clh/);
    expect(ids(await doctor('go-qemu'))).not.toContain('kata-hypervisor-table');
  });

  it('kata-extra-monitor-socket and kata-agent-tracing: reported in prod, not as shipped', async () => {
    const fs = await doctor('go-qemu', {
      dropIns: { '60.toml': '[hypervisor.qemu]\nextra_monitor_socket = "hmp"\n[agent.kata]\nenable_tracing = true\n' },
    });
    expect(find(fs, 'kata-extra-monitor-socket')).toMatchObject([{ severity: 'error', line: 2 }]);
    expect(find(fs, 'kata-agent-tracing')).toMatchObject([{ severity: 'warning', line: 4 }]);
    const shipped = ids(await doctor('go-qemu'));
    expect(shipped).not.toContain('kata-extra-monitor-socket');
    expect(shipped).not.toContain('kata-agent-tracing');
  });

  it('kata-config-missing: a node without any Kata configuration', async () => {
    const r = await runDoctor({ profile: 'prod', root: new NodeTree().root });
    expect(ids(r.findings)).toContain('kata-config-missing');
    expect(ids(await doctor('rs-fc'))).not.toContain('kata-config-missing');
  });

  it('the built-in rules named as needing info records exist', () => {
    const rules = new Set(loadRuleFiles('builtin').rules.map((r) => r.id));
    for (const id of Object.values(RULES_NEEDING_INFO).flat()) expect(rules.has(id), id).toBe(true);
  });
});

describe('journald checks', () => {
  const unit = '[Unit]\nDescription=containerd\n[Service]\nExecStart=/usr/bin/containerd\n';
  it('journald-rate-limit-drops: the default 10000/30s for containerd.service is below prod; the profile drop-in fixes it', async () => {
    const t = new NodeTree();
    t.write('/usr/lib/systemd/system/containerd.service', unit);
    const fs = await doctor('go-qemu', { tree: t });
    expect(find(fs, 'journald-rate-limit-drops')).toMatchObject([
      { severity: 'warning', key: 'Journal.RateLimitBurst', file: '/etc/systemd/journald.conf' },
    ]);
    const t2 = new NodeTree();
    t2.write('/usr/lib/systemd/system/containerd.service', unit);
    t2.write(
      '/etc/systemd/system/containerd.service.d/60-rl.conf',
      '[Service]\nLogRateLimitIntervalSec=30s\nLogRateLimitBurst=50000\n',
    );
    expect(ids(await doctor('go-qemu', { tree: t2 }))).not.toContain('journald-rate-limit-drops');
    // A global RateLimitBurst set low is named with its line.
    const t3 = new NodeTree();
    t3.write('/etc/systemd/journald.conf', '[Journal]\n#RateLimitBurst=10000\nRateLimitBurst=1000\n');
    expect(find(await doctor('go-qemu', { tree: t3 }), 'journald-rate-limit-drops')).toMatchObject([
      { file: '/etc/systemd/journald.conf', line: 3 },
    ]);
  });

  it('dev needs the limit off for containerd.service; a later journald.conf.d drop-in overrides an earlier one', async () => {
    const t = new NodeTree();
    t.write('/usr/lib/systemd/system/containerd.service', unit);
    expect(ids(await doctor('go-qemu', { tree: t, profile: 'dev' }))).toContain('journald-rate-limit-drops');
    // Global limit off (as the dev profile's journald drop-in sets it); the unit's own override still counts.
    const globalOff = (tree: NodeTree) =>
      tree.write('/etc/systemd/journald.conf.d/60-kata-otel.conf', '[Journal]\nRateLimitIntervalSec=0\n');
    const t1 = new NodeTree();
    t1.write('/usr/lib/systemd/system/containerd.service', unit);
    globalOff(t1);
    expect(ids(await doctor('go-qemu', { tree: t1, profile: 'dev' }))).not.toContain('journald-rate-limit-drops');
    const t2 = new NodeTree();
    globalOff(t2);
    t2.write('/usr/lib/systemd/system/containerd.service', unit);
    t2.write('/usr/lib/systemd/system/containerd.service.d/10-vendor.conf', '[Service]\nLogRateLimitIntervalSec=0\n');
    t2.write('/etc/systemd/system/containerd.service.d/20-admin.conf', '[Service]\nLogRateLimitIntervalSec=30s\n');
    expect(find(await doctor('go-qemu', { tree: t2, profile: 'dev' }), 'journald-rate-limit-drops')).toMatchObject([
      { file: '/etc/systemd/system/containerd.service.d/20-admin.conf', line: 2 },
    ]);
    const t3 = new NodeTree();
    globalOff(t3);
    t3.write('/usr/lib/systemd/system/containerd.service', unit);
    t3.write('/etc/systemd/system/containerd.service.d/20-admin.conf', '[Service]\nLogRateLimitIntervalSec=30s\n');
    t3.write('/run/systemd/system/containerd.service.d/30-off.conf', '[Service]\nLogRateLimitIntervalSec=0\n');
    expect(ids(await doctor('go-qemu', { tree: t3, profile: 'dev' }))).not.toContain('journald-rate-limit-drops');
  });

  it('journald-rate-limit-off: rate limiting off for every unit is info in prod, nothing in dev', async () => {
    const t = new NodeTree();
    t.write('/etc/systemd/journald.conf', '[Journal]\nRateLimitBurst=0\n');
    expect(find(await doctor('go-qemu', { tree: t }), 'journald-rate-limit-off')).toMatchObject([
      { severity: 'info', line: 2 },
    ]);
    const t2 = new NodeTree();
    t2.write('/etc/systemd/journald.conf', '[Journal]\nRateLimitBurst=0\n');
    expect(ids(await doctor('go-qemu', { tree: t2, profile: 'dev' }))).not.toContain('journald-rate-limit-off');
    expect(ids(await doctor('go-qemu'))).not.toContain('journald-rate-limit-off');
  });

  it('journald-storage, journald-retention and journald-level-hides-events', async () => {
    const t = new NodeTree();
    t.write('/etc/systemd/journald.conf', '[Journal]\nStorage=volatile\nMaxRetentionSec=2day\nMaxLevelStore=warning\n');
    const fs = await doctor('go-qemu', { tree: t });
    expect(find(fs, 'journald-storage')).toMatchObject([{ line: 2 }]);
    expect(find(fs, 'journald-retention')).toMatchObject([{ line: 3, key: 'Journal.MaxRetentionSec' }]);
    expect(find(fs, 'journald-level-hides-events')).toMatchObject([{ line: 4 }]);
    const t2 = new NodeTree();
    t2.write('/etc/systemd/journald.conf', '[Journal]\nStorage=volatile\n');
    t2.write('/etc/systemd/journald.conf.d/60-kata.conf', '[Journal]\nStorage=persistent\nMaxRetentionSec=30day\n');
    const ok = await doctor('go-qemu', { tree: t2 });
    expect(ids(ok)).not.toEqual(expect.arrayContaining(['journald-storage']));
    expect(ids(ok)).not.toContain('journald-retention');
  });
});

describe('kata-otel configuration checks', () => {
  it('receiver-queue-not-durable, receiver-retention, receiver-plaintext-export, receiver-metrics-exposed', async () => {
    const bad = await doctor('rs-dragonball', {
      yaml: 'queue: { kind: memory }\ntelemetry: { listen: "0.0.0.0:8888" }\nexporters:\n  - { type: otlp, endpoint: "http://10.0.0.5:4317", protocol: grpc }\n  - { type: store, max_age_ms: 86400000 }\n',
    });
    expect(ids(bad)).toEqual(
      expect.arrayContaining([
        'receiver-queue-not-durable',
        'receiver-retention',
        'receiver-plaintext-export',
        'receiver-metrics-exposed',
      ]),
    );
    expect(find(bad, 'receiver-plaintext-export')[0]?.key).toBe('exporters[0].endpoint');
    const good = await doctor('rs-dragonball', {
      yaml: 'sources: { journald: { enabled: true } }\nqueue: { kind: disk, max_bytes: 1073741824 }\ntelemetry: { listen: "127.0.0.1:8888" }\nexporters:\n  - { type: otlp, endpoint: "https://collector.example:4318/v1/logs", protocol: http/protobuf }\n  - { type: store, max_age_ms: 1209600000 }\n',
    });
    expect(ids(good).filter((i) => i.startsWith('receiver-'))).toEqual([]);
  });

  it('receiver-rules-off and receiver-source-missing', async () => {
    const off = await doctor('go-qemu', { yaml: 'pipeline:\n  rules: { builtin: false }\n' });
    expect(ids(off)).toEqual(expect.arrayContaining(['receiver-rules-off', 'receiver-source-missing']));
    const on = await doctor('go-qemu', { yaml: 'sources:\n  journald: { enabled: true }\n' });
    expect(ids(on)).not.toContain('receiver-rules-off');
    expect(ids(on)).not.toContain('receiver-source-missing');
  });

  it('receiver-level-hides-events: the journald source reading only warnings', async () => {
    const fs = await doctor('go-qemu', { yaml: 'sources:\n  journald: { enabled: true, priority: warning }\n' });
    expect(find(fs, 'receiver-level-hides-events')).toHaveLength(1);
    expect(ids(await doctor('go-qemu', { yaml: 'sources:\n  journald: { enabled: true }\n' }))).not.toContain(
      'receiver-level-hides-events',
    );
  });
});
