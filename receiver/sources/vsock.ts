// Agent logs straight from the guest: the kata-agent serves its log stream on vsock port `agent.log_vport`
// (1025) when that kernel parameter is set, and accepts ONE connection at a time (listen backlog 1).
//
// Hybrid vsock (Cloud Hypervisor, Firecracker, Dragonball): the VMM exposes a host Unix socket; the host side
// connects, writes `CONNECT <port>\n` and the VMM answers `OK <host port>\n` once the guest accepted, then the
// socket carries the guest stream. Anything else (`ERR…`, a close, silence past the handshake timeout) is a
// failed attempt, retried with exponential backoff while the sandbox directory exists.
//
// Plain vsock (QEMU vhost-vsock): Node has no AF_VSOCK, so a helper process per sandbox does the connect
// (default `socat - VSOCK-CONNECT:<cid>:<port>`) and kata-otel reads its stdout. The guest CID comes from the
// QEMU command line (`-device vhost-vsock-pci,…,guest-cid=<cid>`) found in /proc.
//
// No checkpoint: a socket stream cannot be replayed. Lines read but not yet handed to the queue when the
// receiver crashes are lost from this source.
import { spawn } from 'node:child_process';
import { constants, existsSync } from 'node:fs';
import { access, readdir, readFile, stat } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { join, resolve as resolvePath } from 'node:path';
import type { Readable } from 'node:stream';
import { nowUnixNano, type Attributes } from '../model/record.js';
import { backoffDelay, sleep } from '../queue/backoff.js';
import {
  ATTR_KATA_COMPONENT,
  ATTR_KATA_HYPERVISOR_NAME,
  ATTR_KATA_LOG_CARRIER,
  ATTR_KATA_LOG_ORIGIN,
  ATTR_KATA_LOG_ORIGIN_ADDRESS,
  ATTR_KATA_SANDBOX_ID,
  KATA_COMPONENT_VALUE_AGENT,
  KATA_LOG_ORIGIN_VALUE_VSOCK,
  KATA_HYPERVISOR_NAME_VALUE_CLOUD_HYPERVISOR,
  KATA_HYPERVISOR_NAME_VALUE_DRAGONBALL,
  KATA_HYPERVISOR_NAME_VALUE_FIRECRACKER,
  KATA_HYPERVISOR_NAME_VALUE_QEMU,
} from '../semconv/generated.js';
import type { Logger } from '../telemetry/log.js';
import { Batcher, pumpLines, textEntry } from './batcher.js';
import { LineSplitter, type Line } from './lines.js';
import { SandboxRateLimit, type GuestRateLimitOptions } from './ratelimit.js';
import { watchSandboxes, type SandboxDir } from './sandboxes.js';
import type { Source, SourceContext } from './types.js';
import type { VsockInstanceConfig } from './vsock-config.js';

/** A run-directory root and the hybrid-vsock socket(s) a sandbox directory under it may hold. */
export interface HybridVsockRoot {
  dir: string;
  /** Socket path relative to the sandbox directory, and the hypervisor that layout means. First match wins. */
  sockets: Array<{ path: string; hypervisor: string }>;
}

/**
 * Kata's layouts (checked in kata-containers: Go `clh.go`/`fc.go`, runtime-rs `crates/hypervisor`):
 * Go runtime: CLH `/run/vc/vm/<id>/clh.sock`; Firecracker (jailer root) `/run/vc/firecracker/<id>/root/kata.hvsock`.
 * runtime-rs (`KATA_PATH` = /run/kata): Dragonball `<id>/root/kata.hvsock` (`DEFAULT_HYBRID_VSOCK_NAME`), Cloud
 * Hypervisor `<id>/ch-vm.sock`, Firecracker `<id>/kata.hvsock`, jailed Firecracker `/run/kata/firecracker/<id>/root/kata.hvsock`.
 */
export const DEFAULT_HYBRID_VSOCK_ROOTS: readonly HybridVsockRoot[] = [
  { dir: '/run/vc/vm', sockets: [{ path: 'clh.sock', hypervisor: KATA_HYPERVISOR_NAME_VALUE_CLOUD_HYPERVISOR }] },
  {
    dir: '/run/vc/firecracker',
    sockets: [{ path: 'root/kata.hvsock', hypervisor: KATA_HYPERVISOR_NAME_VALUE_FIRECRACKER }],
  },
  {
    dir: '/run/kata',
    sockets: [
      { path: 'root/kata.hvsock', hypervisor: KATA_HYPERVISOR_NAME_VALUE_DRAGONBALL },
      { path: 'ch-vm.sock', hypervisor: KATA_HYPERVISOR_NAME_VALUE_CLOUD_HYPERVISOR },
      { path: 'kata.hvsock', hypervisor: KATA_HYPERVISOR_NAME_VALUE_FIRECRACKER },
    ],
  },
  {
    dir: '/run/kata/firecracker',
    sockets: [{ path: 'root/kata.hvsock', hypervisor: KATA_HYPERVISOR_NAME_VALUE_FIRECRACKER }],
  },
];

export const DEFAULT_AGENT_LOG_PORT = 1025;

/**
 * A root given as a plain path: Kata's layout when it is one of the default roots, else every known socket name
 * (`root/kata.hvsock` counts as Firecracker under a path containing `firecracker`, as Dragonball otherwise).
 */
export function hybridVsockRoot(root: string | HybridVsockRoot): HybridVsockRoot {
  if (typeof root !== 'string') return root;
  const known = DEFAULT_HYBRID_VSOCK_ROOTS.find((r) => resolvePath(r.dir) === resolvePath(root));
  if (known) return { ...known, dir: root };
  const fc = /firecracker/.test(root);
  return {
    dir: root,
    sockets: [
      { path: 'clh.sock', hypervisor: KATA_HYPERVISOR_NAME_VALUE_CLOUD_HYPERVISOR },
      { path: 'ch-vm.sock', hypervisor: KATA_HYPERVISOR_NAME_VALUE_CLOUD_HYPERVISOR },
      {
        path: 'root/kata.hvsock',
        hypervisor: fc ? KATA_HYPERVISOR_NAME_VALUE_FIRECRACKER : KATA_HYPERVISOR_NAME_VALUE_DRAGONBALL,
      },
      { path: 'kata.hvsock', hypervisor: KATA_HYPERVISOR_NAME_VALUE_FIRECRACKER },
    ],
  };
}

export interface PlainVsockOptions {
  /** Read agents of QEMU (vhost-vsock) sandboxes through a helper process. Default false. */
  enabled?: boolean;
  /** Helper command; `{cid}` and `{port}` are replaced. Default `socat - VSOCK-CONNECT:{cid}:{port}`. */
  helper?: string[];
  /** Kata run directories whose paths identify a sandbox on the QEMU command line. Default /run/vc/vm, /run/kata. */
  runDirs?: string[];
  /** Where to look for QEMU processes. Default /proc. */
  procDir?: string;
  /** The vsock device that must exist on the host. Default /dev/vsock. */
  device?: string;
}

export interface VsockSourceOptions {
  /** Source name. Default `vsock`. */
  name?: string;
  /** Hybrid-vsock run-directory roots (a path or a layout, see hybridVsockRoot). Default DEFAULT_HYBRID_VSOCK_ROOTS. */
  roots?: Array<string | HybridVsockRoot>;
  /** The agent's log port (`agent.log_vport`). Default 1025. */
  port?: number;
  /** How long to wait for the VMM's `OK <port>` reply. Default 5000 ms. */
  handshakeTimeoutMs?: number;
  /** Reconnect backoff. Defaults 500 ms, 10 s. */
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  /** How often the run directories are scanned. Default 1000 ms. */
  pollMs?: number;
  plain?: PlainVsockOptions;
  /** Per-sandbox rate limit of the agent stream (ratelimit.ts). */
  rateLimit?: GuestRateLimitOptions;
  maxLineBytes?: number;
  maxEntries?: number;
  flushMs?: number;
}

type Attempt = { connected: boolean; reason?: string; entries: number };

/** An open agent stream. `confirmed`: the peer said the guest accepted (hybrid `OK`); a helper only proves it by data. */
interface AgentStream {
  stream: Readable;
  confirmed: boolean;
  close(): void;
  /** Why the stream ended, once it has. */
  why(): string;
}
type Connect = (signal: AbortSignal) => Promise<AgentStream | { error: string }>;

export class VsockSource implements Source {
  readonly name: string;
  private readonly o: Required<
    Pick<VsockSourceOptions, 'port' | 'handshakeTimeoutMs' | 'reconnectInitialMs' | 'reconnectMaxMs' | 'pollMs'>
  >;

  constructor(private readonly opts: VsockSourceOptions = {}) {
    this.name = opts.name ?? 'vsock';
    this.o = {
      port: opts.port ?? DEFAULT_AGENT_LOG_PORT,
      handshakeTimeoutMs: opts.handshakeTimeoutMs ?? 5000,
      reconnectInitialMs: opts.reconnectInitialMs ?? 500,
      reconnectMaxMs: opts.reconnectMaxMs ?? 10_000,
      pollMs: opts.pollMs ?? 1000,
    };
  }

  async run(ctx: SourceContext): Promise<void> {
    const log = ctx.logger.child({ source: this.name });
    if (ctx.once) {
      log.info('vsock agent streams are live and cannot be replayed: nothing to read in once mode');
      return;
    }
    const roots = (this.opts.roots ?? DEFAULT_HYBRID_VSOCK_ROOTS).map(hybridVsockRoot);
    const tasks = [
      watchSandboxes({
        roots: roots.map((r) => r.dir),
        pollMs: this.o.pollMs,
        signal: ctx.signal,
        probe: (s) => findSocket(s, roots),
        start: (s, found, gone) =>
          this.follow(ctx, log.child({ [ATTR_KATA_SANDBOX_ID]: s.id }), s, found, gone, (signal) =>
            hybridConnect(found.path, this.o.port, this.o.handshakeTimeoutMs, signal),
          ),
      }),
    ];
    if (this.opts.plain?.enabled) tasks.push(this.runPlain(ctx, log, this.opts.plain));
    await Promise.all(tasks);
  }

  /**
   * One sandbox: connect, stream, reconnect with backoff until `gone` aborts. `via.path`: the socket (hybrid vsock)
   * or `vsock://<cid>:<port>`; the sandbox is the one whose run directory (or QEMU command line) holds it, and every
   * record read is attributed to it whatever the guest writes (pipeline/provenance.ts).
   */
  private async follow(
    ctx: SourceContext,
    log: Logger,
    s: { id: string },
    via: { path: string; hypervisor: string },
    gone: AbortSignal,
    connect: Connect,
  ): Promise<void> {
    const attributes: Attributes = {
      [ATTR_KATA_SANDBOX_ID]: s.id,
      [ATTR_KATA_LOG_CARRIER]: 'vsock',
      [ATTR_KATA_HYPERVISOR_NAME]: via.hypervisor,
      [ATTR_KATA_COMPONENT]: KATA_COMPONENT_VALUE_AGENT,
      [ATTR_KATA_LOG_ORIGIN]: KATA_LOG_ORIGIN_VALUE_VSOCK,
      [ATTR_KATA_LOG_ORIGIN_ADDRESS]: via.path,
    };
    const limit = new SandboxRateLimit(this.opts.rateLimit ?? {}, {
      source: this.name,
      sandbox: s.id,
      metrics: ctx.metrics,
      log,
    });
    const batcher = new Batcher(
      (entries) => ctx.emit({ source: this.name, entries, observedTimeUnixNano: nowUnixNano(), attributes }),
      { maxEntries: this.opts.maxEntries, flushMs: this.opts.flushMs },
    );
    let failures = 0;
    while (!gone.aborted) {
      let attempt: Attempt;
      try {
        attempt = await this.attempt(connect, gone, batcher, limit);
        await batcher.flush();
      } catch (err) {
        batcher.close();
        if (!ctx.signal.aborted) log.error('vsock source stopped for this sandbox: hand-off failed', { error: err });
        if (!ctx.signal.aborted) ctx.metrics.sourceErrors.inc({ source: this.name });
        return;
      }
      if (gone.aborted) break;
      if (attempt.connected) {
        failures = 0;
        // The agent accepts one log connection per boot (src/agent/src/main.rs create_logger_task), so after this
        // the reconnects usually fail until the sandbox restarts.
        log.info('agent log stream ended; reconnecting', { reason: attempt.reason, entries: attempt.entries });
      } else {
        failures++;
        ctx.metrics.sourceErrors.inc({ source: this.name });
        // The first failure is worth a line; a sandbox whose agent has no log port fails forever.
        const fields = { reason: attempt.reason, failures };
        if (failures === 1) log.info('agent log connection failed; retrying', fields);
        else log.debug('agent log connection failed; retrying', fields);
      }
      const delayMs = backoffDelay(Math.max(1, failures), {
        initialMs: this.o.reconnectInitialMs,
        maxMs: this.o.reconnectMaxMs,
        multiplier: 2,
      });
      await sleep(delayMs, gone);
    }
    limit.report();
    log.debug('sandbox gone; stopped reading its agent log');
  }

  private async attempt(
    connect: Connect,
    gone: AbortSignal,
    batcher: Batcher,
    limit: SandboxRateLimit,
  ): Promise<Attempt> {
    const c = await connect(gone);
    if ('error' in c) return { connected: false, reason: c.error, entries: 0 };
    const onGone = () => c.close();
    gone.addEventListener('abort', onGone, { once: true });
    try {
      const admit = (line: Line) => limit.admit(textEntry(line), line.text.length);
      const entries = await pumpLines(c.stream, new LineSplitter(this.opts.maxLineBytes), batcher, admit).catch(
        (err: unknown) => {
          // A reset connection ends the stream; a failed hand-off (shutdown) must reach the caller.
          if (isStreamError(err)) return 0;
          throw err;
        },
      );
      return { connected: c.confirmed || entries > 0, reason: c.why(), entries };
    } finally {
      gone.removeEventListener('abort', onGone);
      c.close();
    }
  }

  /** QEMU sandboxes: scan /proc for QEMU processes with a vhost-vsock guest CID; read each through the helper. */
  private async runPlain(ctx: SourceContext, log: Logger, plain: PlainVsockOptions): Promise<void> {
    const device = plain.device ?? '/dev/vsock';
    if (!existsSync(device)) {
      ctx.metrics.sourceErrors.inc({ source: this.name });
      log.error(
        `plain vsock needs ${device} on the host (load the vhost_vsock/vsock modules, or mount /dev/vsock into the container); QEMU agent logs are not read`,
      );
      return;
    }
    const helper = plain.helper ?? ['socat', '-', 'VSOCK-CONNECT:{cid}:{port}'];
    const runDirs = plain.runDirs ?? ['/run/vc/vm', '/run/kata'];
    const procDir = plain.procDir ?? '/proc';
    if (!(await which(helper[0] ?? ''))) {
      ctx.metrics.sourceErrors.inc({ source: this.name });
      log.error(
        `vsock helper '${helper[0] ?? ''}' not found: install socat >= 1.7.4 (built with VSOCK support) or set the vsock source's plain.helper`,
      );
      return;
    }
    const active = new Map<number, AbortController>();
    const done: Promise<void>[] = [];
    while (!ctx.signal.aborted) {
      const found = await findQemuSandboxes(procDir, runDirs);
      for (const q of found) {
        if (active.has(q.pid)) continue;
        const stop = new AbortController();
        active.set(q.pid, stop);
        const slog = log.child({ [ATTR_KATA_SANDBOX_ID]: q.id, cid: q.cid });
        const gone = AbortSignal.any([stop.signal, ctx.signal]);
        done.push(
          this.follow(
            ctx,
            slog,
            q,
            { path: `vsock://${q.cid}:${this.o.port}`, hypervisor: KATA_HYPERVISOR_NAME_VALUE_QEMU },
            gone,
            async () => helperConnect(helper, q.cid, this.o.port),
          ).finally(() => active.delete(q.pid)),
        );
      }
      const live = new Set(found.map((q) => q.pid));
      for (const [pid, stop] of active) if (!live.has(pid)) stop.abort();
      await sleep(this.o.pollMs, ctx.signal);
    }
    for (const stop of active.values()) stop.abort();
    await Promise.allSettled(done);
  }
}

/** The first hybrid-vsock socket of the sandbox's layout that exists. */
export async function findSocket(
  s: SandboxDir,
  roots: readonly HybridVsockRoot[],
): Promise<{ path: string; hypervisor: string } | undefined> {
  const layout = roots.find((r) => resolvePath(r.dir) === s.root);
  for (const sock of layout?.sockets ?? []) {
    const path = join(s.dir, sock.path);
    try {
      if ((await stat(path)).isSocket()) return { path, hypervisor: sock.hypervisor };
    } catch {
      // not there (yet)
    }
  }
  return undefined;
}

const isStreamError = (err: unknown) => {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^(ECONNRESET|EPIPE|ERR_STREAM_PREMATURE_CLOSE|ECONNABORTED)$/.test(code);
};

/**
 * Connect to a hybrid-vsock Unix socket and do the `CONNECT <port>` handshake. Resolves with the stream positioned
 * after the `OK` line (bytes that came with it are put back), or with the reason the attempt failed.
 */
export function hybridConnect(
  path: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<AgentStream | { error: string }> {
  return new Promise((resolve) => {
    const sock: Socket = createConnection(path);
    let endReason = 'closed by the peer';
    // Errors after the handshake end the stream (pumpLines sees them); this listener keeps them from being uncaught.
    sock.on('error', (err) => (endReason = err.message));
    let buf = Buffer.alloc(0);
    const finish = (r: { ok: true } | { error: string }) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      sock.off('data', onData).off('close', onClose).off('error', onError);
      sock.pause();
      if ('error' in r) {
        sock.destroy();
        resolve(r);
        return;
      }
      const nl = buf.indexOf(0x0a);
      const rest = buf.subarray(nl + 1);
      if (rest.length > 0) sock.unshift(rest);
      resolve({ stream: sock, confirmed: true, close: () => sock.destroy(), why: () => endReason });
    };
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const nl = buf.indexOf(0x0a);
      if (nl < 0) {
        if (buf.length > 256) finish({ error: 'handshake reply without a newline' });
        return;
      }
      const reply = buf.subarray(0, nl).toString('utf8').trim();
      if (/^OK(\s|$)/.test(reply)) finish({ ok: true });
      else finish({ error: `handshake refused: '${reply.slice(0, 100)}'` });
    };
    const onClose = () => finish({ error: 'closed before the handshake reply (is agent.log_vport set in the guest?)' });
    const onError = (err: Error) => finish({ error: err.message });
    const onAbort = () => finish({ error: 'sandbox gone' });
    const timer = setTimeout(() => finish({ error: `no handshake reply within ${timeoutMs} ms` }), timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    sock.on('data', onData).on('close', onClose).on('error', onError);
    sock.write(`CONNECT ${port}\n`);
  });
}

/** Run the plain-vsock helper; its stdout is the agent stream. */
function helperConnect(helper: readonly string[], cid: number, port: number): AgentStream | { error: string } {
  const [cmd, ...args] = helper.map((a) => a.replaceAll('{cid}', String(cid)).replaceAll('{port}', String(port)));
  if (!cmd) return { error: 'empty vsock helper command' };
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError = err));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  return {
    stream: child.stdout,
    confirmed: false,
    close: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
    why: () => spawnError?.message ?? (stderr.trim() || `helper exited (${String(child.exitCode)})`),
  };
}

/** The executable `cmd` resolves to (a path, or looked up in PATH), or undefined. */
async function which(cmd: string): Promise<string | undefined> {
  const candidates = cmd.includes('/') ? [cmd] : (process.env['PATH'] ?? '').split(':').map((d) => join(d || '.', cmd));
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return undefined;
}

export interface QemuSandbox {
  pid: number;
  id: string;
  cid: number;
}

/** QEMU processes with a vhost-vsock device: guest CID from `guest-cid=`, sandbox id from a Kata run-dir path. */
export async function findQemuSandboxes(procDir: string, runDirs: readonly string[]): Promise<QemuSandbox[]> {
  const out: QemuSandbox[] = [];
  let pids: string[];
  try {
    pids = (await readdir(procDir)).filter((p) => /^\d+$/.test(p));
  } catch {
    return out;
  }
  const escaped = runDirs.map((d) => d.replace(/\/+$/, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const idRe = new RegExp(`(?:${escaped.join('|')})/([^/,\\s]+)/`);
  for (const p of pids) {
    let cmdline: string;
    try {
      cmdline = (await readFile(join(procDir, p, 'cmdline'))).toString('utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    const cid = /vhost-vsock[^ ]*guest-cid=(\d+)/.exec(cmdline);
    const id = idRe.exec(cmdline) ?? /-name sandbox-([^\s,]+)/.exec(cmdline);
    if (cid && id) out.push({ pid: Number(p), id: id[1] as string, cid: Number(cid[1]) });
  }
  return out;
}

/** The registry's factory (vsock-config.ts). */
export function createVsockSource(v: VsockInstanceConfig): VsockSource {
  return new VsockSource({
    roots: v.roots,
    plain: { enabled: v.plainVsock },
    port: v.port,
    reconnectInitialMs: v.reconnectInitialMs,
    reconnectMaxMs: v.reconnectMaxMs,
    handshakeTimeoutMs: v.handshakeTimeoutMs,
    rateLimit: v.fairShare,
  });
}
