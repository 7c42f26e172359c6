// The guest agent's span frames over a real Unix socket, written by a peer in a child process: valid JSON-era
// spans decode exactly (u128/u64 ids kept), garbage, bincode-era and truncated frames are counted and skipped,
// an oversized frame drops its connection, and the listener keeps serving. Decoded spans join the sandbox's
// lifecycle trace with re-derived ids.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentSpan } from '../../receiver/lifecycle/agent-spans.js';
import { AgentSpanListener } from '../../receiver/sources/agent-spans.js';
import { silentLogger } from '../../receiver/telemetry/log.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';
import { parseFixture, replay } from './helpers.js';

const SID = '5f1c0a7e9b2d4c3a8e6f1d0c9b8a7e6f5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a';
// kata-tracing.md §3.3: the W3C example ids in decimal, as serde_json writes the u128 / u64 newtypes.
const TRACE = '100985939111033328018442752961257817910'; // 4bf92f3577b34da6a3ce929d0e0e4736
const SPAN = '67667974448284343'; // 00f067aa0ba902b7
const PARENT = '6023947403358210776'; // 53995c3f42cd8ad8

function spanJson(name: string, spanId: string, parent: string, secs: number): string {
  return (
    `{"span_context":{"trace_id":${TRACE},"span_id":${spanId},"trace_flags":1,"is_remote":false,"trace_state":null},` +
    `"parent_span_id":${parent},"span_kind":"Internal","name":"${name}",` +
    `"start_time":{"secs_since_epoch":${secs},"nanos_since_epoch":123456789},` +
    `"end_time":{"secs_since_epoch":${secs},"nanos_since_epoch":987654321},` +
    `"attributes":{"map":{"code.filepath":{"String":"src/agent/src/rpc.rs"},"code.lineno":{"I64":949},"kata.sandbox.id":{"String":"forged"},"busy_ns":{"I64":812345678}},"evict_list":[],"max_len":128,"dropped_count":0},` +
    `"events":{"queue":[{"name":"hotplug","timestamp":{"secs_since_epoch":${secs},"nanos_since_epoch":5},"attributes":[{"key":"level","value":{"String":"INFO"}}],"dropped_attributes_count":0}],"max_len":128,"dropped_count":0},` +
    `"links":{"queue":null,"max_len":128,"dropped_count":0},"status_code":"Unset","status_message":"",` +
    `"resource":{"attrs":{"service.name":{"String":"unknown_service"}}}}`
  );
}

function frame(payload: Buffer | string, declared?: bigint): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(8);
  head.writeBigUInt64BE(declared ?? BigInt(body.length));
  return Buffer.concat([head, body]);
}

/** A peer in a child process: connects to `path`, writes `bytes` (in small pieces), then closes. */
function peer(path: string, bytes: Buffer): Promise<number | null> {
  const script = `
    const net = require('node:net');
    const data = Buffer.from(process.argv[2], 'hex');
    const s = net.createConnection(process.argv[1], async () => {
      for (let i = 0; i < data.length; i += 97) { s.write(data.subarray(i, i + 97)); await new Promise((r) => setTimeout(r, 1)); }
      s.end();
    });
    s.on('error', () => process.exit(0));
    s.on('close', () => process.exit(0));`;
  const child = spawn(process.execPath, ['-e', script, path, bytes.toString('hex')], { stdio: 'ignore' });
  return new Promise((resolve) => child.on('exit', resolve));
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(check()).toBe(true);
}

describe('agent span frames over a Unix socket', () => {
  let listener: AgentSpanListener | undefined;
  afterEach(async () => {
    await listener?.close();
  });

  it('decodes valid frames, counts the others, and survives them all', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kata-otel-agent-spans-'));
    const got: { sid: string; spans: AgentSpan[] }[] = [];
    const metrics = new Metrics();
    listener = new AgentSpanListener({
      onSpans: (sid, spans) => got.push({ sid, spans }),
      logger: silentLogger,
      metrics,
      maxFrameBytes: 64 * 1024,
    });
    const path = await listener.listen(join(dir, 'kata.hvsock'), SID);
    expect(path).toBe(join(dir, 'kata.hvsock_10240'));

    // One connection: a valid span, garbage, a bincode-era payload, a second valid span, then a truncated frame.
    const bincode = Buffer.from('36470e0e9d92cea3a64db377352ff94bb702a90baa67f000', 'hex');
    await peer(
      path,
      Buffer.concat([
        frame(spanJson('create_container', SPAN, PARENT, 1796032801)),
        frame('{"span_context": nope'),
        frame(bincode),
        frame(spanJson('root-span', '42', '0', 1796032800)),
        frame('{"span_context":', 500n),
      ]),
    );
    await until(() => listener!.counts.truncated === 1);
    expect(listener.counts).toEqual({ span: 2, undecodable: 2, truncated: 1, oversized: 0 });
    const spans = got.flatMap((g) => g.spans);
    expect(got.every((g) => g.sid === SID)).toBe(true);
    const rpc = spans.find((s) => s.name === 'create_container');
    expect(rpc).toMatchObject({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      parentSpanId: '53995c3f42cd8ad8',
      startTimeUnixNano: 1796032801123456789n,
      endTimeUnixNano: 1796032801987654321n,
      status: { code: 0, message: '' },
    });
    // Guest attribute keys stay under the agent prefix: a forged kata.sandbox.id cannot reach the Resource.
    expect(rpc?.attributes['kata.agent.span.attribute.code.lineno']).toBe(949);
    expect(rpc?.attributes['kata.agent.span.attribute.kata.sandbox.id']).toBe('forged');
    expect(rpc?.attributes['kata.sandbox.id']).toBeUndefined();
    expect(rpc?.events[0]).toMatchObject({ name: 'hotplug', timeUnixNano: 1796032801000000005n });
    expect(spans.find((s) => s.name === 'root-span')?.parentSpanId).toBe('');

    // An oversized frame drops its connection; the next connection is served as before.
    await peer(path, frame('x'.repeat(10), 1n << 40n));
    await until(() => listener!.counts.oversized === 1);
    await peer(path, frame(spanJson('exec_process', '7', PARENT, 1796032802)));
    await until(() => listener!.counts.span === 3);
    const text = await metrics.registry.getSingleMetricAsString('kata_otel_agent_span_frames_total');
    expect(text).toContain('outcome="oversized"} 1');
  }, 30_000);

  it('adopted agent spans join the sandbox trace with re-derived ids and lifecycle parents', () => {
    const recs = parseFixture('qemu-success.log');
    const { stage, spans: lifecycle } = replay(recs);
    const root = lifecycle.find((s) => s.name === 'kata.sandbox')!;
    const agentConnect = lifecycle.find((s) => s.name === 'kata.agent.connect')!;
    const at = agentConnect.startTimeUnixNano + 1_000_000n;
    const mk = (name: string, spanId: string, parent: string): AgentSpan => ({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId,
      parentSpanId: parent,
      name,
      kind: 'Internal',
      startTimeUnixNano: at,
      endTimeUnixNano: at + 5_000_000n,
      attributes: {},
      events: [],
      status: { code: 0, message: '' },
    });
    const taken = stage.adoptAgentSpans(SID, [
      mk('create_sandbox', '00f067aa0ba902b7', '000000000000002a'),
      mk('root-span', '000000000000002a', ''),
    ]);
    expect(taken).toBe(2);
    expect(stage.adoptAgentSpans('no-such-sandbox', [mk('x', '01', '')])).toBe(0);
    const out = stage.drain().spans;
    const child = out.find((s) => s.name === 'create_sandbox')!;
    const top = out.find((s) => s.name === 'root-span')!;
    for (const s of [child, top]) {
      expect(s.traceId).toBe(root.traceId);
      expect(lifecycle.some((l) => l.spanId === s.spanId)).toBe(false);
      expect(s.attributes['service.name']).toBe('kata-agent');
      expect(s.attributes['kata.sandbox.id']).toBe(SID);
    }
    expect(child.parentSpanId).toBe(top.spanId);
    // An agent root goes under the lifecycle span open when it started (the agent connect).
    expect(top.parentSpanId).toBe(agentConnect.spanId);
    expect(child.attributes['kata.agent.span.original_id']).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736/00f067aa0ba902b7/000000000000002a',
    );
  });
});
