// kata_otel_source_errors_total{source}: a source that logs an error counts it — a path it cannot read, a
// journalctl it cannot run, a vsock handshake the VMM refuses.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileSource } from '../../receiver/sources/file.js';
import { JournaldSource } from '../../receiver/sources/journald.js';
import { DEFAULT_HYBRID_VSOCK_ROOTS, VsockSource } from '../../receiver/sources/vsock.js';
import type { Metrics } from '../../receiver/telemetry/metrics.js';
import { harness, tempDir, type Harness } from '../sources/source-harness.js';

async function sourceErrors(metrics: Metrics, source: string): Promise<number> {
  const v = await metrics.sourceErrors.get();
  return v.values.filter((x) => x.labels.source === source).reduce((a, x) => a + x.value, 0);
}

const errorLines = (h: Harness) => h.logs.filter((l) => l.level === 'error');

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

describe('kata_otel_source_errors_total', () => {
  it('counts each path problem the file source logs', async () => {
    const dir = tempDir();
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    writeFileSync(join(dir, 'ok.log'), 'time="2024-05-01T10:00:00Z" level=info msg=hi\n');
    const h = harness({ once: true });
    await new FileSource({
      name: 'files-x',
      include: [join(dir, 'ok.log'), sub, join(dir, 'missing.log')],
      startAt: 'beginning',
    }).run(h.ctx);
    expect(h.texts()).toHaveLength(1); // the readable file is still read
    expect(errorLines(h)).toHaveLength(2);
    expect(await sourceErrors(h.ctx.metrics, 'files-x')).toBe(2);
    expect(await h.ctx.metrics.text()).toContain('kata_otel_source_errors_total{source="files-x"} 2');
  });

  it('counts a journalctl that cannot be run', async () => {
    const h = harness({ once: true });
    await new JournaldSource({ journalctl: join(tempDir(), 'no-journalctl') }).run(h.ctx);
    expect(errorLines(h)).toHaveLength(1);
    expect(await sourceErrors(h.ctx.metrics, 'journald')).toBe(1);
  });

  it('counts every vsock connection the VMM refuses', async () => {
    const base = tempDir();
    const sock = join(base, 'run/vc/firecracker/fc1/root/kata.hvsock');
    mkdirSync(join(sock, '..'), { recursive: true });
    const server = createServer((c) => {
      // The source may hang up before the answer is written (it is stopped as soon as the count is reached): an
      // EPIPE on this side is not what the test is about, and unhandled it would fail the whole run.
      c.on('error', () => {});
      c.once('data', () => c.end('ERR no agent log port\n'));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    const h = harness();
    const source = new VsockSource({
      roots: DEFAULT_HYBRID_VSOCK_ROOTS.map((r) => ({ ...r, dir: join(base, r.dir) })),
      pollMs: 50,
      reconnectInitialMs: 20,
      reconnectMaxMs: 50,
    });
    const run = source.run(h.ctx);
    let counted = 0;
    try {
      await h.waitFor(
        () => h.logs.filter((l) => l.msg === 'agent log connection failed; retrying').length >= 3,
        '3 refusals',
      );
    } finally {
      h.controller.abort();
      await run;
      counted = await sourceErrors(h.ctx.metrics, 'vsock');
    }
    const failures = h.logs.filter((l) => l.msg === 'agent log connection failed; retrying');
    expect(String(failures[0]?.reason)).toContain('handshake refused');
    expect(counted).toBe(failures.length);
  });
});
