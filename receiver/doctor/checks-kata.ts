// Checks of one effective Kata configuration (kata-config.ts) against a profile. Each finding names the file
// and line that set the value (or the main file when the shipped default applies) and the fix.
import type { ReceiverConfig } from '../config/index.js';
import { lookup, type KataConfig } from './kata-config.js';
import { tcpReachable, urlHostPort } from './net.js';
import type { ProfilePolicy } from './profiles/policy.js';
import { dropInName } from './profiles/render.js';
import { ABOVE_INFO, DEBUG_LEVELS, RULES_NEEDING_INFO } from './rule-levels.js';
import type { Finding, Severity } from './types.js';

export interface KataCheckOptions {
  policy: ProfilePolicy;
  /** The node's kata-otel configuration, when known (which sources read what). */
  receiver?: ReceiverConfig;
  connectTimeoutMs: number;
}

const DEFAULT_JAEGER = 'http://localhost:14268/api/traces';
const AGENT_LOG_PORT = '1025';
const GO_ROOTS = { clh: '/run/vc/vm', firecracker: '/run/vc/firecracker' } as const;
const RS_ROOTS = ['/run/kata', '/run/kata/firecracker'];
// enable_annotations entries matching these let pods pick host binaries, files or virtiofsd arguments.
const PATH_ANNOTATIONS = [
  'path',
  'jailer_path',
  'ctlpath',
  'virtio_fs_daemon',
  'virtio_fs_extra_args',
  'kernel',
  'image',
  'initrd',
  'firmware',
];

/** `agent.log=debug` → [key, value]; a bare flag → [key, '']. */
const params = (s: string): [string, string][] =>
  s
    .split(/\s+/)
    .filter(Boolean)
    .map((t) => {
      const eq = t.indexOf('=');
      return eq < 0 ? [t, ''] : [t.slice(0, eq), t.slice(eq + 1)];
    });

/** The agent-relevant kernel command line the runtime composes (kata-config.md §3.2): Go puts the [agent]
 *  parameters before the user's kernel_params, runtime-rs after; hypervisor parameters come last. The agent takes
 *  the last occurrence of a key. */
function agentCmdline(c: KataConfig, hv: Record<string, unknown>, agent: Record<string, unknown>): Map<string, string> {
  const fromAgent: [string, string][] = [];
  if (agent.enable_debug === true) fromAgent.push(['agent.log', 'debug']);
  if (agent.enable_tracing === true) fromAgent.push(['agent.trace', 'true']);
  if (agent.debug_console_enabled === true)
    fromAgent.push(['agent.debug_console', ''], ['agent.debug_console_vport', '1026']);
  const user = params(typeof hv.kernel_params === 'string' ? hv.kernel_params : '');
  const fromHv: [string, string][] = [];
  const debug = hv.enable_debug === true;
  if (c.runtime === 'rs' && debug) fromHv.push(['agent.log_vport', AGENT_LOG_PORT]);
  if (c.runtime === 'go' && c.hypervisor === 'firecracker' && !debug) fromHv.push(['agent.log_vport', AGENT_LOG_PORT]);
  const all = c.runtime === 'go' ? [...fromAgent, ...user, ...fromHv] : [...user, ...fromAgent, ...fromHv];
  return new Map(all);
}

const table = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

export async function checkKata(c: KataConfig, o: KataCheckOptions): Promise<Finding[]> {
  const { policy } = o;
  const out: Finding[] = [...c.loadFindings];
  const hvName = c.hypervisor;
  const hvPath = ['hypervisor', hvName ?? ''];
  const agentPath = ['agent', c.agent];
  const hv = table(lookup(c, hvPath).value);
  const agent = table(lookup(c, agentPath).value);
  const rt = table(c.value.runtime);
  const dropIn = `config.d/${dropInName(policy.name)} from exporter-config/kata/${policy.name}/`;

  /** A finding about the key at `path` (where it was set, else the main file). */
  const add = (id: string, severity: Severity, path: string[], message: string, fix: string) => {
    const origin = lookup(c, path).origin;
    out.push({ id, severity, file: origin?.file ?? c.main, line: origin?.line, key: path.join('.'), message, fix });
  };

  if (!hvName) {
    out.push({
      id: 'kata-hypervisor-table',
      severity: c.hypervisorTables.length > 1 ? 'warning' : 'error',
      file: c.main,
      message:
        c.hypervisorTables.length > 1
          ? `${c.hypervisorTables.length} [hypervisor.*] tables (${c.hypervisorTables.join(', ')}): the Go runtime picks one in map order, i.e. at random`
          : 'no usable [hypervisor.*] table (runtime-rs: none named by [runtime] hypervisor_name)',
      fix: 'keep exactly the one [hypervisor.<name>] table of the shipped file for your hypervisor',
    });
  }
  const cmd = agentCmdline(c, hv, agent);

  // Debug console.
  const consoleOn = agent.debug_console_enabled === true || cmd.has('agent.debug_console');
  if (consoleOn) {
    const viaParams = agent.debug_console_enabled !== true;
    add(
      'kata-debug-console',
      policy.debugConsole ?? 'info',
      viaParams ? [...hvPath, 'kernel_params'] : [...agentPath, 'debug_console_enabled'],
      policy.debugConsole
        ? 'the agent debug console is on: a root shell inside every guest for whoever reaches vsock port 1026 from the host'
        : 'the agent debug console is on (expected in the dev profile)',
      policy.debugConsole
        ? `set debug_console_enabled = false${viaParams ? ' and remove agent.debug_console from kernel_params' : ''} (${dropIn}); debug in a separate kata-<shim>-debug RuntimeClass`
        : 'never copy this configuration to a shared or production node',
    );
  }

  // Debug logging.
  if (policy.enableDebug) {
    const sev = policy.enableDebug;
    for (const [path, what] of [
      [['runtime', 'enable_debug'], rt.enable_debug],
      [[...agentPath, 'enable_debug'], agent.enable_debug],
      [[...hvPath, 'enable_debug'], hv.enable_debug],
    ] as [string[], unknown][]) {
      if (what === true)
        add(
          'kata-debug-enabled',
          sev,
          path,
          `${path.join('.')} = true on a ${policy.name} node: debug records carry container specs and environments, and multiply the volume`,
          `set it to false (${dropIn}); investigate in a separate debug RuntimeClass`,
        );
    }
    if (c.runtime === 'rs') {
      for (const path of [
        ['runtime', 'log_level'],
        [...agentPath, 'log_level'],
        [...hvPath, 'log_level'],
      ]) {
        const v = lookup(c, path).value;
        if (typeof v === 'string' && DEBUG_LEVELS.has(v))
          add(
            'kata-debug-enabled',
            sev,
            path,
            `${path.join('.')} = "${v}" on a ${policy.name} node`,
            `set it to "info" (${dropIn})`,
          );
      }
    }
    const logParam = cmd.get('agent.log');
    const userParams = typeof hv.kernel_params === 'string' ? hv.kernel_params : '';
    if (
      userParams.split(/\s+/).some((t) => t === 'initcall_debug' || /^agent\.log=(debug|trace)$/.test(t)) ||
      (logParam && DEBUG_LEVELS.has(logParam) && agent.enable_debug !== true)
    )
      add(
        'kata-debug-enabled',
        sev,
        [...hvPath, 'kernel_params'],
        `kernel_params turns on guest debug logging (${userParams
          .split(/\s+/)
          .filter((t) => t === 'initcall_debug' || t.startsWith('agent.log='))
          .join(' ')})`,
        'remove agent.log=debug|trace and initcall_debug from kernel_params (keep the rest of the string)',
      );
  }

  // Levels that hide what the built-in rules match.
  if (c.runtime === 'rs') {
    for (const [path, component] of [
      [['runtime', 'log_level'], 'runtime'],
      [[...agentPath, 'log_level'], 'agent'],
      [[...hvPath, 'log_level'], 'hypervisor'],
    ] as [string[], keyof typeof RULES_NEEDING_INFO][]) {
      const v = lookup(c, path).value;
      if (typeof v === 'string' && ABOVE_INFO.has(v.toLowerCase()))
        add(
          'kata-log-level-hides-events',
          'warning',
          path,
          `${path.join('.')} = "${v}" drops the ${component}'s info records, which built-in rules match (${RULES_NEEDING_INFO[component].join(', ')})`,
          `set it to "info" (${dropIn})`,
        );
    }
  }
  const agentLevel = cmd.get('agent.log');
  if (agentLevel && ABOVE_INFO.has(agentLevel.toLowerCase()))
    add(
      'kata-log-level-hides-events',
      'warning',
      [...hvPath, 'kernel_params'],
      `agent.log=${agentLevel} makes the agent drop its info records, which built-in rules match (${RULES_NEEDING_INFO.agent.join(', ')})`,
      'remove agent.log= from kernel_params (the agent logs at info by default)',
    );

  // Who reads the agent's logs.
  if (hvName) checkAgentLogs(c, hvName, hv, cmd, o.receiver, add, hvPath);

  // Tracing.
  if (rt.enable_tracing === true) {
    const ep = typeof rt.jaeger_endpoint === 'string' && rt.jaeger_endpoint ? rt.jaeger_endpoint : DEFAULT_JAEGER;
    const hp = urlHostPort(ep);
    const path =
      typeof rt.jaeger_endpoint === 'string' && rt.jaeger_endpoint
        ? ['runtime', 'jaeger_endpoint']
        : ['runtime', 'enable_tracing'];
    const reach = hp ? await tcpReachable(hp.host, hp.port, o.connectTimeoutMs) : 'not an http(s) URL';
    if (reach !== true)
      add(
        'kata-tracing-endpoint-unreachable',
        'warning',
        path,
        `runtime tracing is on but its Jaeger endpoint ${ep} is not reachable (${reach}): spans are lost`,
        'start a Jaeger-compatible collector there (an OpenTelemetry Collector with a jaeger receiver on :14268), or set [runtime] enable_tracing = false',
      );
  }
  if (typeof rt.jaeger_password === 'string' && rt.jaeger_password)
    add(
      'kata-tracing-credentials',
      'warning',
      ['runtime', 'jaeger_password'],
      'a Jaeger password in the configuration file (runtime-rs logs its whole configuration, this password included, at info)',
      'remove jaeger_password; send spans to a node-local collector that needs no credentials',
    );
  if (agent.enable_tracing === true && !policy.debug)
    add(
      'kata-agent-tracing',
      'warning',
      [...agentPath, 'enable_tracing'],
      'agent tracing is on: the runtime waits for each container to shut down, and spans need kata-trace-forwarder on vsock 10240',
      'set enable_tracing = false in [agent.kata] outside debugging',
    );

  // Seccomp.
  if (rt.disable_guest_seccomp === true)
    add(
      'kata-guest-seccomp-disabled',
      policy.guestSeccompOff,
      ['runtime', 'disable_guest_seccomp'],
      'disable_guest_seccomp = true: pod seccomp profiles are not applied inside the guest (the shipped files set it)',
      `set [runtime] disable_guest_seccomp = false (${dropIn}); test pods with custom seccomp profiles first`,
    );
  if (hvName && ['clh', 'firecracker', 'dragonball'].includes(hvName) && hv.disable_seccomp === true)
    add(
      'kata-vmm-seccomp-disabled',
      policy.vmmSeccompOff,
      [...hvPath, 'disable_seccomp'],
      `disable_seccomp = true: ${hvName} runs without its own syscall filter`,
      `set disable_seccomp = false in [hypervisor.${hvName}]`,
    );
  if (hvName === 'qemu' && !policy.debug) {
    const key = c.runtime === 'rs' ? 'seccomp_sandbox' : 'seccompsandbox';
    const v = hv[key];
    if (typeof v !== 'string' || v === '')
      add(
        'kata-vmm-seccomp-disabled',
        policy.name === 'secure' ? 'warning' : 'info',
        [...hvPath, key],
        'QEMU runs without -sandbox (no syscall filter on the VMM)',
        `set ${key} = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny" after a performance check (bpf_jit_enable=1)`,
      );
    if (c.runtime === 'rs' && hv.seccompsandbox !== undefined)
      add(
        'kata-key-ignored',
        'warning',
        [...hvPath, 'seccompsandbox'],
        'runtime-rs ignores "seccompsandbox" (the Go spelling, shown in runtime-rs templates up to 4.0)',
        'rename it to seccomp_sandbox',
      );
  }

  // Agent policy.
  const policyText = typeof agent.policy === 'string' ? agent.policy : '';
  if (/AllowRequestsFailingPolicy\s*:?=\s*true/.test(policyText))
    add(
      'kata-policy-ignores-failures',
      policy.debug ? 'warning' : 'error',
      [...agentPath, 'policy'],
      'the agent policy sets AllowRequestsFailingPolicy := true: every request the policy denies is let through (the agent only logs "ignoring error")',
      'remove AllowRequestsFailingPolicy := true (genpolicy default: false) and regenerate the policy for the pods that failed',
    );
  if (policyText && c.runtime === 'rs' && !policy.debug)
    add(
      'kata-policy-logged',
      'info',
      [...agentPath, 'policy'],
      'runtime-rs logs the whole agent policy at info ("Setting Agent Policy with …"); kata-otel exports that record',
      'expect the policy text in the logs, or pass the policy through initdata',
    );
  if (!policyText && policy.name === 'secure')
    add(
      'kata-policy-default',
      // info: a policy is per workload and may come through initdata or an annotation, which the doctor cannot see.
      'info',
      [...agentPath, 'policy'],
      "no agent policy in the configuration: the guest image's default applies (allow-all.rego in kata-deploy images)",
      c.runtime === 'rs'
        ? 'generate a policy with genpolicy and set [agent.kata] policy, or pass it through initdata'
        : 'the Go runtime takes a policy only from the pod annotation io.katacontainers.config.agent.policy or initdata: check that your pods carry one',
    );

  // Annotations that let pods change their guest.
  const ann = hv.enable_annotations;
  if (Array.isArray(ann)) {
    const res = ann
      .filter((a): a is string => typeof a === 'string')
      .map((a) => {
        try {
          return new RegExp(a);
        } catch {
          return undefined;
        }
      });
    const allows = (name: string) => res.some((r) => r?.test(name));
    const risky = PATH_ANNOTATIONS.filter(allows);
    if (risky.length)
      add(
        'kata-annotations-unsafe',
        policy.debug ? 'warning' : 'error',
        [...hvPath, 'enable_annotations'],
        `enable_annotations lets pods set ${risky.join(', ')} (entries are unanchored regular expressions): pods choose host binaries, files or virtiofsd arguments`,
        'list only the annotations you need, anchored (e.g. "^enable_iommu$")',
      );
    if (allows('kernel_params') && !policy.debug)
      add(
        'kata-annotations-kernel-params',
        policy.kernelParamsAnnotation,
        [...hvPath, 'enable_annotations'],
        'pods may set their own guest kernel parameters (annotation kernel_params): agent.debug_console, agent.log=debug, agent.config_file',
        `drop kernel_params from enable_annotations (${dropIn} for the secure profile)`,
      );
  }
  if (!policy.debug && typeof hv.extra_monitor_socket === 'string' && hv.extra_monitor_socket)
    add(
      'kata-extra-monitor-socket',
      'error',
      [...hvPath, 'extra_monitor_socket'],
      `extra_monitor_socket = "${hv.extra_monitor_socket}": an extra QEMU monitor with full control of the VM (with enable_debug)`,
      'set extra_monitor_socket = ""',
    );
  return out;
}

type Add = (id: string, severity: Severity, path: string[], message: string, fix: string) => void;

const covers = (roots: readonly string[], dir: string) =>
  roots.some((r) => r === dir || dir.startsWith(r.replace(/\/$/, '') + '/'));

/** Agent logs that reach nobody (kata-logging.md §3.2, docs/sources.md): per runtime and hypervisor. */
function checkAgentLogs(
  c: KataConfig,
  hvName: string,
  hv: Record<string, unknown>,
  cmd: Map<string, string>,
  receiver: ReceiverConfig | undefined,
  add: Add,
  hvPath: string[],
): void {
  const vsock = receiver?.sources.vsock;
  const vsockOn = vsock?.enabled === true;
  const roots = vsockOn ? vsock.roots : [];
  const port = cmd.get('agent.log_vport');
  const vport = port !== undefined && port !== '0';
  const debug = hv.enable_debug === true;
  const otel = receiver
    ? 'sources.vsock in the kata-otel configuration'
    : 'sources.vsock in the kata-otel configuration (give it with --config)';
  if (c.runtime === 'go') {
    if (debug) return; // the console watcher re-logs the console (at debug: containerd must run the shim with -debug)
    if (hvName === 'firecracker' && !covers(roots, GO_ROOTS.firecracker))
      add(
        'kata-agent-logs-unread',
        'warning',
        [...hvPath, 'enable_debug'],
        'Go runtime + Firecracker: the agent logs to vsock port 1025 (agent.log_vport, set by the runtime) and nothing reads it',
        `turn on ${otel} with root ${GO_ROOTS.firecracker}`,
      );
    if (hvName === 'clh') {
      if (!vport)
        add(
          'kata-agent-logs-unread',
          'warning',
          [...hvPath, 'kernel_params'],
          'Go runtime + Cloud Hypervisor without debug: the agent logs to the serial console, which is discarded',
          `add agent.log_vport=1025 to kernel_params (keep the rest) and turn on ${otel} with root ${GO_ROOTS.clh}`,
        );
      else if (!covers(roots, GO_ROOTS.clh))
        add(
          'kata-agent-logs-unread',
          'warning',
          [...hvPath, 'kernel_params'],
          'Go runtime + Cloud Hypervisor: the agent logs to vsock port 1025 and nothing reads it',
          `turn on ${otel} with root ${GO_ROOTS.clh}`,
        );
    }
    if (hvName === 'qemu') {
      if (vport && !(vsockOn && vsock.plainVsock))
        add(
          'kata-agent-logs-unread',
          'warning',
          [...hvPath, 'kernel_params'],
          'Go runtime + QEMU: the agent logs to vsock port 1025 and nothing reads it',
          'turn on sources.vsock with plain_vsock: true (needs socat with VSOCK support), or remove agent.log_vport',
        );
      else if (!vport)
        add(
          'kata-agent-logs-unread',
          'info',
          [...hvPath, 'enable_debug'],
          'Go runtime + QEMU without debug: the agent logs to the VM console, which nothing reads',
          'accept the gap, or add agent.log_vport=1025 to kernel_params and turn on sources.vsock with plain_vsock: true (socat; not on nodes that also run runtime-rs QEMU sandboxes)',
        );
    }
    return;
  }
  // runtime-rs always runs its forwarder to the agent's log port.
  if (!vport) {
    add(
      'kata-agent-logs-unread',
      'warning',
      [...hvPath, 'kernel_params'],
      'runtime-rs without agent.log_vport on the guest command line: the agent logs to the console and its forwarder has nothing to read',
      'add agent.log_vport=1025 to kernel_params (keep the rest): runtime-rs then relays agent logs to journald at their own level',
    );
    return;
  }
  const racing = vsockOn && (hvName === 'qemu' ? vsock.plainVsock : RS_ROOTS.some((r) => covers(roots, r)));
  if (racing)
    add(
      'kata-agent-log-port-race',
      'warning',
      [...hvPath, 'kernel_params'],
      "kata-otel's vsock source and runtime-rs's forwarder both connect to the agent's log port; the agent accepts one connection per boot, so one of them gets nothing",
      `remove ${RS_ROOTS.join(' and ')} from sources.vsock.roots${hvName === 'qemu' ? ' and turn off plain_vsock' : ''}: runtime-rs relays the agent's logs to journald`,
    );
}
