// Where the guest agent exports its spans (kata-tracing.md §2, §4): for hybrid vsock the VMM connects, for the
// guest's connection to port 10240, to the host Unix socket `<hybrid vsock socket>_10240`, which must already be
// listening. This listens there, one socket per sandbox; the sandbox id is the one of the socket's directory
// (never anything in a span: the guest is hostile). Frames (8-byte big-endian length + payload) are decoded by
// ../lifecycle/agent-spans.ts; valid spans go to `onSpans`; undecodable, truncated and oversized frames are
// counted (kata_otel_agent_span_frames_total{outcome}) and logged, and never stop the listener.
// QEMU (vhost-vsock) needs an AF_VSOCK listener, which Node lacks: not covered.
import { lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { Counter } from 'prom-client';
import { AgentFrameReader, type AgentSpan } from '../lifecycle/agent-spans.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import { watchSandboxes } from './sandboxes.js';
import type { Source, SourceContext } from './types.js';
import { findSocket, hybridVsockRoot, type HybridVsockRoot } from './vsock.js';
import type { SourceEnv } from '../components/types.js';
import type { AgentSpansInstanceConfig } from './agent-spans-config.js';

export const AGENT_TRACE_PORT = 10240;
/** serde_json of one span is a few KiB; anything near this is not a span. */
export const DEFAULT_MAX_FRAME_BYTES = 1 << 20;

export type FrameCounts = Record<'span' | 'undecodable' | 'truncated' | 'oversized', number>;

export interface AgentSpanListenerOptions {
  onSpans(sandboxId: string, spans: AgentSpan[]): void;
  logger: Logger;
  metrics?: Metrics;
  maxFrameBytes?: number;
}

export class AgentSpanListener {
  readonly counts: FrameCounts = { span: 0, undecodable: 0, truncated: 0, oversized: 0 };
  private readonly servers = new Map<string, Server>();
  private readonly sockets = new Set<Socket>();
  private readonly counter?: Counter<'outcome'>;

  constructor(private readonly opts: AgentSpanListenerOptions) {
    const reg = opts.metrics?.registry;
    if (reg) {
      const name = 'kata_otel_agent_span_frames_total';
      this.counter =
        (reg.getSingleMetric(name) as Counter<'outcome'> | undefined) ??
        new Counter({
          name,
          help: 'Agent span frames by outcome (span, undecodable, truncated, oversized)',
          labelNames: ['outcome'],
          registers: [reg],
        });
    }
  }

  /** Listens at `<vsockSocket>_10240` for the agent of `sandboxId`. Resolves once listening. */
  async listen(vsockSocket: string, sandboxId: string): Promise<string> {
    const path = `${vsockSocket}_${AGENT_TRACE_PORT}`;
    if (this.servers.has(path)) return path;
    // A socket left by an earlier run is replaced; anything else at the path (a planted file or link) is not.
    try {
      if (lstatSync(path).isSocket()) unlinkSync(path);
    } catch {
      /* absent */
    }
    const server = createServer((sock) => this.serve(sock, sandboxId, path));
    this.servers.set(path, server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.opts.logger.warn('agent span listener failed', { path, err }));
    return path;
  }

  /** Stops listening at the path (the sandbox is gone). */
  async unlisten(path: string): Promise<void> {
    const s = this.servers.get(path);
    this.servers.delete(path);
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all([...this.servers.keys()].map((p) => this.unlisten(p)));
  }

  private count(outcome: keyof FrameCounts, n = 1): void {
    this.counts[outcome] += n;
    this.counter?.labels(outcome).inc(n);
  }

  private serve(sock: Socket, sandboxId: string, path: string): void {
    this.sockets.add(sock);
    const reader = new AgentFrameReader(this.opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    const log = this.opts.logger;
    sock.on('data', (chunk: Buffer) => {
      const spans: AgentSpan[] = [];
      for (const o of reader.push(chunk)) {
        if (o.kind === 'span') spans.push(o.span);
        else if (o.kind === 'undecodable') {
          this.count('undecodable');
          log.warn('agent span frame not decoded; skipped', { sandbox: sandboxId, path, reason: o.reason });
        } else {
          this.count('oversized');
          log.warn('agent span frame over the size limit; connection dropped', {
            sandbox: sandboxId,
            path,
            bytes: o.bytes.toString(),
            limit: this.opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
          });
          sock.destroy();
        }
      }
      if (spans.length) {
        this.count('span', spans.length);
        try {
          this.opts.onSpans(sandboxId, spans);
        } catch (err) {
          log.error('agent spans not taken', { sandbox: sandboxId, err });
        }
      }
    });
    sock.on('error', (err) => log.debug('agent span connection error', { sandbox: sandboxId, err }));
    sock.on('close', () => {
      this.sockets.delete(sock);
      if (reader.pending > 0 && !reader.broken) {
        this.count('truncated');
        log.warn('agent span connection closed inside a frame; its partial span is dropped', {
          sandbox: sandboxId,
          path,
          bytes: reader.pending,
        });
      }
    });
  }
}

export interface AgentSpanSourceOptions {
  /** Hybrid-vsock run-directory roots (as sources.vsock.roots). */
  roots: Array<string | HybridVsockRoot>;
  onSpans(sandboxId: string, spans: AgentSpan[]): void;
  maxFrameBytes?: number;
  pollMs?: number;
}

/** The receiver's source: a listener at `<socket>_10240` for every sandbox with a hybrid-vsock socket. */
export class AgentSpanSource implements Source {
  readonly name = 'agent-spans';

  constructor(private readonly opts: AgentSpanSourceOptions) {}

  async run(ctx: SourceContext): Promise<void> {
    const log = ctx.logger.child({ source: this.name });
    if (ctx.once) return; // a live socket: nothing to replay
    const listener = new AgentSpanListener({
      onSpans: this.opts.onSpans,
      logger: log,
      metrics: ctx.metrics,
      maxFrameBytes: this.opts.maxFrameBytes,
    });
    const roots = this.opts.roots.map(hybridVsockRoot);
    try {
      await watchSandboxes({
        roots: roots.map((r) => r.dir),
        pollMs: this.opts.pollMs ?? 1000,
        signal: ctx.signal,
        probe: (s) => findSocket(s, roots),
        start: async (s, found, gone) => {
          let path: string;
          try {
            path = await listener.listen(found.path, s.id);
          } catch (err) {
            log.warn('cannot listen for agent spans', {
              sandbox: s.id,
              path: `${found.path}_${AGENT_TRACE_PORT}`,
              err,
            });
            return;
          }
          log.info('listening for agent spans', { sandbox: s.id, path });
          await new Promise<void>((r) =>
            gone.aborted ? r() : gone.addEventListener('abort', () => r(), { once: true }),
          );
          await listener.unlisten(path);
        },
      });
    } finally {
      await listener.close();
    }
  }
}

/** The registry's factory (agent-spans-config.ts): spans go to the pipeline's lifecycle stage. */
export function createAgentSpanSource(c: AgentSpansInstanceConfig, _id: string, env: SourceEnv): AgentSpanSource {
  return new AgentSpanSource({
    roots: c.roots,
    maxFrameBytes: c.maxFrameBytes,
    onSpans: (sid, spans) => {
      if ((env.lifecycle?.adoptAgentSpans(sid, spans) ?? 0) === 0)
        env.logger.debug('agent spans of a sandbox with no lifecycle yet; dropped', {
          sandbox: sid,
          spans: spans.length,
        });
    },
  });
}
