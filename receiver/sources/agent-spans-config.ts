// The agent span source's settings schema (its descriptor, in the `*-component.ts` beside it, loads this lazily). Its settings sit in `pipeline.lifecycle` (the spans join the lifecycle
// traces; lifecycle/config.ts spreads AgentSpanKeys there) and it listens beside `sources.vsock.roots`.
import { Type } from '@sinclair/typebox';
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

export const AgentSpansSourceSchema = Type.Object(AgentSpanKeys);
