// examples/node.yaml, the complete configuration for a Kata node, loads with the real loader (schema, env
// substitution, exporter resolution) and builds every source it enables, so the example cannot rot silently.
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../receiver/config/index.js';
import { buildSources } from '../../receiver/run/receiver.js';
import { silentLogger } from '../../receiver/telemetry/log.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/node.yaml', import.meta.url));

describe('examples/node.yaml', () => {
  it('loads without errors and describes a node: journal, hypervisor files, vsock, FIFOs, OTLP with a disk queue', () => {
    const c = loadConfig(EXAMPLE, undefined, { env: {} });
    expect(c.sources.journald).toMatchObject({ enabled: true, identifiers: ['kata'], units: ['containerd.service'] });
    expect(c.sources.files[0]?.include.some((g) => g.includes('qemu'))).toBe(true);
    expect(c.sources.files[0]?.include.some((g) => g.includes('clh'))).toBe(true);
    expect(c.sources.vsock).toMatchObject({ enabled: true, roots: ['/run/vc/firecracker'], port: 1025 });
    expect(c.sources.fifo).toMatchObject({ enabled: true, metrics: 'drop' });
    expect(c.pipeline.dedupe.enabled).toBe(true);
    expect(c.pipeline.rules).toMatchObject({ enabled: true, builtin: true });
    expect(c.exporters).toEqual([
      expect.objectContaining({ type: 'otlp', name: 'collector', protocol: 'grpc', endpoint: 'http://127.0.0.1:4317' }),
    ]);
    expect(c.queue).toMatchObject({ kind: 'disk', whenFull: 'block', fsync: 'always' });
    expect(c.telemetry.listen).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(c.dataDir).toBe('/var/lib/kata-otel');
  });

  it('takes the node name from the environment, with a default', () => {
    const named = loadConfig(EXAMPLE, undefined, { env: { NODE_NAME: 'worker-7' } });
    const otlp = named.exporters[0];
    expect(otlp?.type === 'otlp' && otlp.resourceAttributes).toEqual({ 'k8s.node.name': 'worker-7' });
    const unnamed = loadConfig(EXAMPLE, undefined, { env: {} }).exporters[0];
    expect(unnamed?.type === 'otlp' && unnamed.resourceAttributes).toEqual({ 'k8s.node.name': 'unknown' });
  });

  it('builds every source it enables', async () => {
    const c = loadConfig(EXAMPLE, undefined, { env: {} });
    const sources = await buildSources(
      c,
      { files: [], once: false },
      { stdin: new PassThrough(), stdout: new PassThrough(), logger: silentLogger },
    );
    expect(sources.map((s) => s.name).sort()).toEqual(['fifo', 'file-0', 'journald', 'vsock']);
  });
});
