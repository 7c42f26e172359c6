// The agentSpansSource descriptor: type, stability, where its settings sit, its schema (agent-spans-config.ts, loaded only
// when asked: `run` validates with the build-time validator and never loads TypeBox) and its lazy factory.
import type { SourceDescriptor } from '../components/types.js';
import type { AgentSpansInstanceConfig } from './agent-spans-config.js';
export const agentSpansSource: SourceDescriptor<AgentSpansInstanceConfig> = {
  kind: 'source',
  type: 'agent-spans',
  stability: 'development',
  configKey: 'pipeline.lifecycle.agent_spans',
  schema: () => import('./agent-spans-config.js').then((m) => m.AgentSpansSourceSchema),
  instances: (config) => {
    const lc = config.pipeline.lifecycle;
    return lc.enabled && lc.agentSpans
      ? [{ id: 'agent-spans', config: { roots: config.sources.vsock.roots, maxFrameBytes: lc.agentSpanMaxFrameBytes } }]
      : [];
  },
  load: () => import('./agent-spans.js').then((m) => m.createAgentSpanSource),
};
