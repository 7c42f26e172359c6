// The Kata side of the logging profiles: every setting the `dev`, `prod` and `secure` drop-ins write, why, and
// what it costs. `npm run kata:profiles` renders them into exporter-config/kata/<profile>/*.toml (one file per
// runtime and hypervisor: the table names and some key spellings differ); the tests check the files are in sync
// and that each profile passes `kata-otel doctor --profile <itself>`.
// Facts are from kata-containers 4.1 (src/runtime/config/*.toml.in, src/runtime-rs/config/*.toml.in, the two
// Makefiles, virtcontainers/{fc,clh,qemu}.go, runtime-rs crates/hypervisor/src/kernel_param.rs).
import type { KataRuntime } from '../kata-config.js';
import type { ProfileName } from '../types.js';

export type Hypervisor = 'qemu' | 'clh' | 'firecracker' | 'dragonball';
export type TomlScalar = string | boolean | number | string[];

/** The shipped runtime/hypervisor pairs a profile has a drop-in for, and the file each drop-in goes with. */
export const VARIANTS: readonly { runtime: KataRuntime; hypervisor: Hypervisor; base: string; file: string }[] = [
  { runtime: 'go', hypervisor: 'qemu', base: 'configuration-qemu.toml', file: 'go-qemu.toml' },
  { runtime: 'go', hypervisor: 'clh', base: 'configuration-clh.toml', file: 'go-clh.toml' },
  { runtime: 'go', hypervisor: 'firecracker', base: 'configuration-fc.toml', file: 'go-fc.toml' },
  { runtime: 'rs', hypervisor: 'qemu', base: 'runtime-rs/configuration-qemu-runtime-rs.toml', file: 'rs-qemu.toml' },
  { runtime: 'rs', hypervisor: 'clh', base: 'runtime-rs/configuration-clh-runtime-rs.toml', file: 'rs-clh.toml' },
  { runtime: 'rs', hypervisor: 'firecracker', base: 'runtime-rs/configuration-rs-fc.toml', file: 'rs-fc.toml' },
  {
    runtime: 'rs',
    hypervisor: 'dragonball',
    base: 'runtime-rs/configuration-dragonball.toml',
    file: 'rs-dragonball.toml',
  },
];

/** The shipped `kernel_params` (x86_64 builds; both Makefiles' KERNELPARAMS, KERNELPARAMS_DB, KERNELPARAMS_FC).
 *  A drop-in that sets kernel_params replaces the whole string, so a profile carries the base value. */
export const SHIPPED_KERNEL_PARAMS: Record<KataRuntime, Record<Hypervisor, string>> = {
  go: {
    qemu: 'cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1',
    clh: 'cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1',
    firecracker: 'cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1',
    dragonball: '',
  },
  rs: {
    qemu: 'cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1',
    clh: 'cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1',
    firecracker: 'console=ttyS0 agent.log_vport=1025',
    dragonball: 'console=ttyS1 agent.log_vport=1025',
  },
};

export const QEMU_SECCOMP_SANDBOX = 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny';

export interface KataSetting {
  table: 'runtime' | 'agent' | 'hypervisor';
  key: string;
  value: TomlScalar;
  why: string;
  cost: string;
  runtimes?: readonly KataRuntime[];
  hypervisors?: readonly Hypervisor[];
}

const both = ['go', 'rs'] as const;
const rsOnly = ['rs'] as const;
const goOnly = ['go'] as const;

/** Settings every profile writes with its own value. */
function common(p: ProfileName): KataSetting[] {
  const dev = p === 'dev';
  return [
    {
      table: 'runtime',
      key: 'enable_debug',
      value: dev,
      runtimes: both,
      why: dev
        ? 'runtime-rs raises its runtime logger to debug; the Go runtime marks the config debug (its shim level comes from containerd: set `[debug] level = "debug"` in containerd too)'
        : 'debug records carry container specs, environments and mount lists, and a debug node writes 5-20 times more',
      cost: dev
        ? 'log volume and journald rate limits (see the journald drop-ins); never on shared nodes'
        : 'no debug-level shim records: use a separate debug RuntimeClass to investigate',
    },
    {
      table: 'runtime',
      key: 'log_level',
      value: dev ? 'debug' : 'info',
      runtimes: rsOnly,
      why: 'runtime-rs filters its runtime component at this level; info keeps every record the built-in rules match (sandbox failures, hypervisor exits)',
      cost: dev
        ? 'volume'
        : 'none: info is the shipped default, written out so a drop-in sorted earlier cannot lower it',
    },
    {
      table: 'runtime',
      key: 'disable_guest_seccomp',
      value: false,
      runtimes: both,
      why: 'the shipped files set it to true, so pod seccomp profiles are silently NOT applied in the guest; false makes the agent apply them',
      cost: 'a pod profile naming syscalls the guest kernel lacks fails at container create (the agent logs `unknown seccomp system calls`); test custom profiles first',
    },
    {
      table: 'runtime',
      key: 'enable_tracing',
      value: false,
      runtimes: both,
      why: 'runtime spans go to a Jaeger collector (`jaeger_endpoint`, default http://localhost:14268/api/traces); turn on only where one listens (`kata-otel doctor` checks it is reachable)',
      cost: 'no runtime traces',
    },
    {
      table: 'runtime',
      key: 'enable_pprof',
      value: false,
      runtimes: both,
      why: 'pprof handlers on the shim management socket, proxied by kata-monitor (which kata-deploy exposes on 0.0.0.0:8090)',
      cost: 'none in normal operation',
    },
    {
      table: 'agent',
      key: 'enable_debug',
      value: dev,
      runtimes: both,
      why: dev
        ? 'adds `agent.log=debug`: the agent logs every RPC with its payload; at debug the policy engine also writes every request to /tmp/policy.jsonl in the guest'
        : 'agent debug logs carry RPC payloads (specs, environments) and policy inputs',
      cost: dev
        ? 'volume; guest tmpfs use for /tmp/policy.jsonl'
        : 'agent records at info and above only (what the built-in rules need)',
    },
    {
      table: 'agent',
      key: 'log_level',
      value: dev ? 'debug' : 'info',
      runtimes: rsOnly,
      why: 'runtime-rs filters forwarded agent records at this level; info keeps the `announce` config line and the `exec_process` calls the built-in rules match',
      cost: dev ? 'volume' : 'none (shipped default, written out)',
    },
    {
      table: 'agent',
      key: 'debug_console_enabled',
      value: dev,
      runtimes: both,
      why: dev
        ? 'a root shell in the guest for host root (`kata-runtime exec` / `kata-ctl exec`) while debugging'
        : 'the console is a root shell in every guest for whoever reaches vsock port 1026 from the host; never outside dev',
      cost: dev
        ? 'anyone with host root gets into every guest; kata-otel raises kata-debug-console-enabled for each sandbox'
        : 'debugging needs a separate `kata-<shim>-debug` RuntimeClass',
    },
    {
      table: 'agent',
      key: 'enable_tracing',
      value: false,
      runtimes: both,
      why: 'agent spans need kata-trace-forwarder on vsock 10240 (in 4.1 it cannot decode them), and with tracing on the runtime waits for each container to shut down',
      cost: 'no agent spans',
    },
    {
      table: 'hypervisor',
      key: 'enable_debug',
      value: dev,
      runtimes: both,
      why: dev
        ? 'Go: starts the console watcher, which re-logs the guest console (agent JSON, guest kernel) at debug; runtime-rs: adds agent.log_vport=1025 so its forwarder relays agent logs'
        : 'debug kernel parameters, VMM debug output and the console watcher are for debugging only',
      cost: dev
        ? 'slower boots, much more volume'
        : 'Go: the guest console is not read (agent logs come over vsock instead, below)',
    },
    {
      table: 'hypervisor',
      key: 'log_level',
      value: dev ? 'debug' : 'info',
      runtimes: rsOnly,
      why: 'runtime-rs filters its hypervisor component at this level (QEMU stderr, Cloud Hypervisor and Firecracker output)',
      cost: dev ? 'volume' : 'none (shipped default, written out)',
    },
    {
      table: 'hypervisor',
      key: 'hypervisor_loglevel',
      value: dev ? 2 : 1,
      runtimes: goOnly,
      hypervisors: ['clh'],
      why: 'number of `-v` flags Cloud Hypervisor gets, only with enable_debug (2 = debug)',
      cost: dev ? 'volume' : 'none (shipped default)',
    },
  ];
}

/** Settings only prod and secure write. */
function hardened(p: ProfileName): KataSetting[] {
  if (p === 'dev') return [];
  const out: KataSetting[] = [
    {
      table: 'hypervisor',
      key: 'extra_monitor_socket',
      value: '',
      runtimes: both,
      hypervisors: ['qemu'],
      why: 'an extra QMP/HMP socket gives full control of QEMU ("must NEVER be used in production", shipped template)',
      cost: 'none',
    },
    {
      table: 'hypervisor',
      key: 'seccompsandbox',
      value: QEMU_SECCOMP_SANDBOX,
      runtimes: goOnly,
      hypervisors: ['qemu'],
      why: 'QEMU `-sandbox`: a syscall filter on the VMM (empty in the shipped file, the value the template recommends)',
      cost: 'slower syscalls without bpf_jit_enable=1 (the runtime warns); QEMU cannot spawn helpers',
    },
    {
      table: 'hypervisor',
      key: 'seccomp_sandbox',
      value: QEMU_SECCOMP_SANDBOX,
      runtimes: rsOnly,
      hypervisors: ['qemu'],
      why: 'QEMU `-sandbox` (runtime-rs spelling; it ignores `seccompsandbox` silently)',
      cost: 'as for the Go runtime',
    },
    {
      table: 'hypervisor',
      key: 'disable_seccomp',
      value: false,
      runtimes: both,
      hypervisors: ['clh', 'firecracker', 'dragonball'],
      why: "keeps the VMM's own seccomp filter on (shipped default, written out so no earlier drop-in turns it off)",
      cost: 'none',
    },
  ];
  // Agent logs without debug: the agent writes them to vsock port 1025 when the guest kernel has
  // agent.log_vport=1025. runtime-rs always runs a forwarder to that port (crates/agent/src/kata/agent.rs), so
  // adding it relays agent logs to journald; the Go runtime never reads the port, kata-otel's vsock source does.
  // Dragonball and runtime-rs Firecracker ship the parameter; Go Firecracker adds it itself when not debugging.
  // Go + QEMU is left alone: only kata-otel's plain-vsock helper (socat) could read the port there, and it would
  // race runtime-rs's forwarder for runtime-rs QEMU sandboxes on the same node (docs/doctor.md).
  for (const [runtime, hypervisor] of [
    ['go', 'clh'],
    ['rs', 'qemu'],
    ['rs', 'clh'],
  ] as const) {
    out.push({
      table: 'hypervisor',
      key: 'kernel_params',
      value: `${SHIPPED_KERNEL_PARAMS[runtime][hypervisor]} agent.log_vport=1025`,
      runtimes: [runtime],
      hypervisors: [hypervisor],
      why:
        runtime === 'rs'
          ? 'agent.log_vport=1025 makes the agent log to vsock 1025, where runtime-rs forwards every line to journald at its own level; the shipped parameters are carried because a drop-in replaces the whole string'
          : 'agent.log_vport=1025 makes the agent log to vsock 1025, which kata-otel reads (sources.vsock in kata-otel.yaml); without it the agent logs to a console nobody reads. The shipped parameters are carried because a drop-in replaces the whole string',
      cost: 'replace the base part if your file ships other parameters; do not use on confidential (TEE) runtime classes, where the kernel command line is measured',
    });
  }
  if (p === 'secure') {
    out.push(
      {
        table: 'hypervisor',
        key: 'enable_annotations',
        value: ['^enable_iommu$', '^kernel_verity_params$'],
        runtimes: goOnly,
        why: 'the shipped list lets pods set `kernel_params`, so a pod can add agent.debug_console or agent.log=debug to its own guest; entries are unanchored regular expressions, so anchor them',
        cost: 'pods can no longer set their own kernel parameters (CoCo classes also need "^cc_init_data$")',
      },
      {
        table: 'hypervisor',
        key: 'enable_annotations',
        value: ['^enable_iommu$', '^kernel_verity_params$', '^default_vcpus$', '^default_memory$'],
        runtimes: rsOnly,
        why: 'as for the Go runtime: no pod-chosen kernel parameters, anchored entries',
        cost: 'as for the Go runtime',
      },
      {
        table: 'hypervisor',
        key: 'guest_memory_dump_path',
        value: '',
        runtimes: both,
        hypervisors: ['qemu'],
        why: "a guest memory dump on panic holds the guest's secrets and lands on the host disk",
        cost: 'no memory dumps of crashed guests',
      },
      {
        table: 'runtime',
        key: 'jaeger_password',
        value: '',
        runtimes: both,
        why: 'runtime-rs logs its whole configuration, this password included, at info',
        cost: 'a Jaeger collector needing a password must get it another way (a local agent without auth)',
      },
    );
  }
  return out;
}

export function profileSettings(p: ProfileName): KataSetting[] {
  return [...common(p), ...hardened(p)];
}

/** The settings of profile `p` that apply to one runtime and hypervisor. */
export function settingsFor(p: ProfileName, runtime: KataRuntime, hypervisor: Hypervisor): KataSetting[] {
  return profileSettings(p).filter(
    (s) => (!s.runtimes || s.runtimes.includes(runtime)) && (!s.hypervisors || s.hypervisors.includes(hypervisor)),
  );
}
