// The agent span source's descriptor. Its settings sit in `pipeline.lifecycle` (the spans join the lifecycle
// traces; lifecycle/config.ts spreads AgentSpanKeys there) and it listens beside `sources.vsock.roots`.
import { Type } from '@sinclair/typebox';
import type { SourceDescriptor } from '../components/types.js';
import { bool, bytes } from '../config/schema-kit.js';

export const AgentSpanKeys = {
  agent_spans: bool(
    false,
    "Listen at each hybrid-vsock sandbox's `<socket>_10240` for the guest agent's own spans (agent tracing on, Kata >= 3.29) and put them in the sandbox's trace; roots as sources.vsock.roots.",
  ),
  agent_span_max_frame_bytes: bytes(
    1024 * 1024,
    'Largest agent span frame accepted; a larger one drops its connection.',
  ),
};

export interface AgentSpansInstanceConfig {
  roots: string[];
  maxFrameBytes: number;
}

export const agentSpansSource: SourceDescriptor<AgentSpansInstanceConfig> = {
  kind: 'source',
  type: 'agent-spans',
  stability: 'development',
  configKey: 'pipeline.lifecycle.agent_spans',
  schema: Type.Object(AgentSpanKeys),
  instances: (config) => {
    const lc = config.pipeline.lifecycle;
    return lc.enabled && lc.agentSpans
      ? [{ id: 'agent-spans', config: { roots: config.sources.vsock.roots, maxFrameBytes: lc.agentSpanMaxFrameBytes } }]
      : [];
  },
  load: () => import('./agent-spans.js').then((m) => m.createAgentSpanSource),
};
