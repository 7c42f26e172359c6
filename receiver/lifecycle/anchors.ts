// Which lifecycle step a record is, from the exact messages the Go shim, runtime-rs and containerd write
// (../shared/research/kata-lifecycle.md §1.2, §1.4, §2; docs/tracing.md lists them). Only records kata-otel
// attributes to host components (runtime, hypervisor as re-logged by the shim, containerd) are looked at: the
// agent and the guest write what the guest wants, so their text never moves a lifecycle (brief: the guest is the
// adversary). One Map lookup on the exact message, a few prefix checks otherwise: linear in the message length.
import type { KataLogRecord } from '../model/record.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_ERROR_MESSAGE,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_EXEC_ID,
  ATTR_KATA_FIELD,
  ATTR_KATA_NAME,
  ATTR_KATA_SUBSYSTEM,
  KATA_COMPONENT_VALUE_CONTAINERD,
  KATA_COMPONENT_VALUE_HYPERVISOR,
  KATA_COMPONENT_VALUE_RUNTIME,
} from '../semconv/generated.js';

export type AnchorKind =
  | 'config.loaded'
  | 'vm.start.begin'
  | 'vm.start.end'
  | 'start.failed'
  | 'agent.connect.begin'
  | 'agent.connect.end'
  | 'sandbox.create.failed'
  | 'container.attach'
  | 'sandbox.created'
  | 'sandbox.started'
  | 'container.create.begin'
  | 'container.create.end'
  | 'container.started'
  | 'container.create.failed'
  | 'container.start.failed'
  | 'container.exit'
  | 'container.delete.end'
  | 'exec.begin'
  | 'exec.end'
  | 'stop.begin'
  | 'stop.abnormal'
  | 'agent.destroy.begin'
  | 'vm.stop.begin'
  | 'vm.stop.end'
  | 'vm.stop.failed'
  | 'stop.failed'
  | 'sandbox.end'
  | 'shim.disconnected'
  | 'hypervisor.pid'
  | 'hypervisor.exit';

export interface Anchor {
  kind: AnchorKind;
  /** The container the step is about ('' when none). */
  containerId: string;
  execId: string;
  exitCode?: number;
  hypervisorPid?: number;
  error?: string;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

// Go shim messages that mean the same step whatever the subsystem.
const GO_EXACT = new Map<string, AnchorKind>([
  ['loaded configuration', 'config.loaded'],
  ['VM started', 'vm.start.end'],
  ['Cannot start VM', 'start.failed'],
  ['New client', 'agent.connect.begin'],
  ['Agent started in the sandbox', 'agent.connect.end'],
  ['Create new sandbox failed', 'sandbox.create.failed'],
  ['Attach devices', 'container.attach'],
  ['management server started', 'sandbox.created'],
  ['Sandbox is started', 'sandbox.started'],
  ['Create() start', 'container.create.begin'],
  ['Create() end', 'container.create.end'],
  ['Container is started', 'container.started'],
  ['container create failed', 'container.create.failed'],
  ['createContainer failed', 'container.create.failed'],
  ['Failed to start container', 'container.start.failed'],
  ['Publishing container exit status', 'container.exit'],
  ['Delete() end', 'container.delete.end'],
  ['start container execution', 'exec.begin'],
  ['The container exec status is StatusStopped', 'exec.end'],
  ['cancel watcher', 'stop.begin'],
  ['sandbox stopped unexpectedly', 'stop.abnormal'],
  ['Stopping sandbox in the VM', 'agent.destroy.begin'],
  ['Stop logging QEMU', 'vm.stop.end'],
  ['Firecracker VM stopped', 'vm.stop.end'],
  ['fcEnd failed', 'vm.stop.failed'],
  ['stop sandbox failed', 'stop.failed'],
  ['delete sandbox failed', 'stop.failed'],
  ['QEMU exited with an error', 'hypervisor.exit'],
]);

// runtime-rs (NAME=kata-runtime) messages.
const RS_EXACT = new Map<string, AnchorKind>([
  ['start vm', 'vm.start.end'],
  ['Starting QEMU VM', 'vm.start.begin'],
  ['oom watcher start', 'agent.connect.end'],
  ['begin stop sandbox', 'stop.begin'],
  ['Stopping QEMU VM', 'vm.stop.begin'],
  ['sandbox stopped', 'vm.stop.end'],
  ['end to run service', 'sandbox.end'],
]);

const RS_TASK_EVENT: Record<string, AnchorKind> = {
  TaskCreate: 'container.create.begin',
  TaskStart: 'container.started',
  TaskExit: 'container.exit',
  TaskDelete: 'container.delete.end',
};

/** The Go shim or runtime-rs, from the logger name; undefined for other writers. */
export function runtimeOf(r: KataLogRecord): 'go' | 'rs' | undefined {
  const name = r.attributes[ATTR_KATA_NAME];
  return name === 'containerd-shim-v2' ? 'go' : name === 'kata-runtime' ? 'rs' : undefined;
}

/**
 * A shim starting up: its first lines (Go `loaded configuration`, research §1.2; runtime-rs `start to run`,
 * `new runtime handler …`, §2). Only these begin a new lifetime for a sandbox id that has one (machine.ts).
 */
export function startsShim(r: KataLogRecord): boolean {
  const body = r.body;
  return body === 'loaded configuration' || body === 'start to run' || body.startsWith('new runtime handler');
}

/** The lifecycle step a record marks, or undefined. */
export function anchorOf(r: KataLogRecord, sandboxId: string): Anchor | undefined {
  const a = r.attributes;
  const component = a[ATTR_KATA_COMPONENT];
  const body = r.body;
  const cid = str(a[ATTR_CONTAINER_ID]);
  const eid = str(a[ATTR_KATA_EXEC_ID]);
  const error = str(a[ATTR_ERROR_MESSAGE]) || undefined;
  if (component === KATA_COMPONENT_VALUE_CONTAINERD) {
    if (body === 'shim disconnected') return { kind: 'shim.disconnected', containerId: '', execId: '' };
    // `RemoveContainer for "<cid>" returns successfully` (containerd CRI, info).
    const m = /^RemoveContainer for "([0-9A-Za-z_.-]{1,128})" returns successfully$/.exec(body.slice(0, 200));
    if (m) return { kind: 'container.delete.end', containerId: m[1] as string, execId: '' };
    return undefined;
  }
  if (component !== KATA_COMPONENT_VALUE_RUNTIME && component !== KATA_COMPONENT_VALUE_HYPERVISOR) return undefined;
  const subsystem = a[ATTR_KATA_SUBSYSTEM];
  if (runtimeOf(r) === 'rs') return rsAnchor(body, subsystem, cid, sandboxId, error);
  // Firecracker logs its own `Starting VM` inside the sandbox's: only subsystem=sandbox is the anchor (§1.5).
  if (body === 'Starting VM') return subsystem === 'sandbox' ? anchor('vm.start.begin') : undefined;
  if (body === 'Stopping VM') return subsystem === 'sandbox' ? anchor('vm.stop.begin') : undefined;
  const kind = GO_EXACT.get(body);
  if (kind) {
    if (kind === 'container.exit') {
      const code = Number(str(a[ATTR_KATA_FIELD('exit-code')]));
      return { kind, containerId: cid, execId: eid, exitCode: Number.isInteger(code) ? code : undefined, error };
    }
    return { kind, containerId: cid, execId: eid, error };
  }
  // `watchSandbox gets an error or stop signal`: a stop; with an error, an abnormal one.
  if (body === 'watchSandbox gets an error or stop signal')
    return { kind: error ? 'stop.abnormal' : 'stop.begin', containerId: '', execId: '', error };
  // The case changed over time (§1.5 item 5): `cleanup agent` → `Cleanup agent`, `cleanup vm path`.
  const lower = body.length === 13 || body.length === 15 ? body.toLowerCase() : ''; // no copy of other lines
  if (lower === 'cleanup agent') return anchor('sandbox.end');
  if (lower === 'cleanup vm path' && subsystem === 'cloudHypervisor') return anchor('vm.stop.end');
  // `Stop logging QEMU (qemuPid=N)` before 3.27.
  if (body.startsWith('Stop logging QEMU')) return anchor('vm.stop.end');
  const pid = /^Start logging QEMU \(qemuPid=(\d{1,10})\)$/.exec(body) ?? / hypervisor pid is (\d{1,10})$/.exec(body);
  if (pid) return { kind: 'hypervisor.pid', containerId: '', execId: '', hypervisorPid: Number(pid[1]) };
  return undefined;

  function anchor(kind: AnchorKind): Anchor {
    return { kind, containerId: cid, execId: eid, error };
  }
}

function rsAnchor(body: string, subsystem: unknown, cid: string, sid: string, error?: string): Anchor | undefined {
  const plain = (kind: AnchorKind): Anchor => ({ kind, containerId: cid, execId: '', error });
  const kind = RS_EXACT.get(body);
  if (kind) return plain(kind);
  if (body === 'Starting VM' && subsystem === 'hypervisor') return plain('vm.start.begin');
  if (body.startsWith('begin to connect agent')) return plain('agent.connect.begin');
  // `receive action Event(TaskCreate { container_id: "<cid>", … })`: the Rust Debug rendering of the containerd
  // task event runtime-rs publishes (its exact text is unverified on a node: research §2).
  if (body.startsWith('receive action Event(')) {
    const head = body.slice(0, 512);
    const ev = /^receive action Event\((Task[A-Za-z]+)/.exec(head);
    const k = ev ? RS_TASK_EVENT[ev[1] as string] : undefined;
    const c = /container_id: "([0-9A-Za-z_.-]{1,128})"/.exec(head);
    if (!k || !c) return undefined;
    const id = c[1] as string;
    // The pause container's TaskCreate is the end of the sandbox Create (runtime-rs logs no other).
    if (k === 'container.create.begin' && id === sid) return { kind: 'sandbox.created', containerId: id, execId: '' };
    const code = /exit_status: (\d{1,10})/.exec(head);
    return { kind: k, containerId: id, execId: '', exitCode: code ? Number(code[1]) : undefined };
  }
  return undefined;
}
