// The OTLP test server itself: startup flags, the records file, and no orphan when its parent dies.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createOtlpExporter } from '../../receiver/exporters/otlp-exporter.js';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { ATTR_SERVICE_NAME } from '../../receiver/semconv/generated.js';
import { startOtlpServer, type RecordedLog } from '../support/otlp-server.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const one = (body: string): KataLogRecord => ({
  timeUnixNano: 1n,
  observedTimeUnixNano: 2n,
  severityNumber: 13,
  severityText: 'warn',
  body,
  attributes: { [ATTR_SERVICE_NAME]: 'kata-runtime' },
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('OTLP test server', () => {
  it('applies startup flags: a failure for N requests, then partial success; writes accepted records as JSON lines', async () => {
    const srv = await startOtlpServer({
      failure: { kind: 'unavailable', requests: 2, retryAfterMs: 3000 },
      partialReject: 1,
    });
    const { exporter } = createOtlpExporter({ protocol: 'http/json', endpoint: srv.httpEndpoint }, { env: {} });
    try {
      expect(await exporter.export([one('a')])).toMatchObject({ code: 'retryable', retryAfterMs: 3000 });
      expect(await exporter.export([one('a')])).toMatchObject({ code: 'retryable' });
      expect(await exporter.export([one('a'), one('b'), one('c')])).toMatchObject({ code: 'success', rejected: 1 });
      expect(await srv.stats()).toMatchObject({ requests: 3, records: 2, rejectedRequests: 2, rejectedRecords: 1 });
      const lines = readFileSync(srv.recordsFile, 'utf8').trim().split('\n');
      const fromFile = lines.map((l) => JSON.parse(l) as RecordedLog);
      expect(fromFile.map((r) => r.body)).toEqual(['a', 'b']);
      expect(fromFile[0]).toMatchObject({
        timeUnixNano: '1',
        observedTimeUnixNano: '2',
        severityNumber: 13,
        resource: { [ATTR_SERVICE_NAME]: 'kata-runtime' },
      });
      expect(await srv.records()).toEqual(fromFile);
    } finally {
      await exporter.shutdown();
      await srv.stop();
    }
    expect(alive(srv.pid)).toBe(false);
  });

  it('a failure lasting N ms ends by itself', async () => {
    const srv = await startOtlpServer();
    const { exporter } = createOtlpExporter({ protocol: 'grpc', endpoint: srv.grpcEndpoint }, { env: {} });
    try {
      const t0 = Date.now();
      await srv.setFailure({ kind: 'unavailable', ms: 1000 });
      expect((await exporter.export([one('x')])).code).toBe('retryable');
      await new Promise((r) => setTimeout(r, Math.max(0, t0 + 1100 - Date.now())));
      expect((await exporter.export([one('x')])).code).toBe('success');
    } finally {
      await exporter.shutdown();
      await srv.stop();
    }
  });

  it('exits when the process that started it is killed with SIGKILL', async () => {
    const script = `const { startOtlpServer } = await import('./test/support/otlp-server.ts');
      const s = await startOtlpServer(); process.stdout.write(s.pid + '\\n'); setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const childPid = await new Promise<number>((resolve, reject) => {
      createInterface({ input: parent.stdout! }).once('line', (l) => resolve(Number(l)));
      parent.once('exit', () => reject(new Error('parent exited early')));
    });
    expect(alive(childPid)).toBe(true);
    parent.kill('SIGKILL');
    const deadline = Date.now() + 15_000;
    while (alive(childPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive(childPid)).toBe(false);
  });
});
