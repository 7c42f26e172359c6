// ExporterHealth around a real OTLP/HTTP exporter and the real OTLP test server: readiness follows the last
// outcome, and a failing or refusing exporter is summarised at every interval for as long as it lasts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOtlpExporter } from '../../receiver/exporters/otlp-exporter.js';
import { ExporterHealth, rejectedMessage } from '../../receiver/run/health.js';
import { createLogger } from '../../receiver/telemetry/log.js';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';
import { makeRecords } from '../queue/helpers.js';

let srv: OtlpTestServer;
beforeAll(async () => {
  srv = await startOtlpServer();
});
afterAll(async () => srv?.stop());

describe('ExporterHealth', () => {
  it('goes unready on failures and refusals, summarises them at every interval, and recovers', async () => {
    const lines: { msg: string; [k: string]: unknown }[] = [];
    const logger = createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l)) });
    const health = new ExporterHealth(logger, 100);
    const { exporter } = createOtlpExporter({ endpoint: srv.httpEndpoint, protocol: 'http/protobuf' }, { name: 'b' });
    const wrapped = health.wrap(exporter);
    health.start();
    try {
      expect(health.ready()).toBe(true); // nothing asked yet
      await srv.setFailure({ kind: 'unavailable' });
      expect((await wrapped.export(makeRecords(1))).code).toBe('retryable');
      expect(health.ready()).toBe(false);
      await new Promise((r) => setTimeout(r, 350));
      const failing = lines.filter((l) => l.msg.startsWith('exporter cannot deliver'));
      expect(failing.length).toBeGreaterThanOrEqual(2); // not once then silence
      expect(failing[0]).toMatchObject({ exporter: 'b', failedAttempts: 1 });

      await srv.setFailure({ kind: 'invalid' });
      expect((await wrapped.payload!.export(wrapped.payload!.encode(makeRecords(2)), 2)).code).toBe('permanent');
      expect(health.snapshot()).toEqual({ b: 'rejecting' });
      await new Promise((r) => setTimeout(r, 250));
      expect(lines.filter((l) => l.msg.startsWith('backend refuses exports permanently')).at(-1)).toMatchObject({
        rejectedRecords: 2,
        rejectedBatches: 1,
      });

      await srv.setFailure(null);
      expect((await wrapped.export(makeRecords(1))).code).toBe('success');
      expect(health.ready()).toBe(true);
      expect(lines.some((l) => l.msg === 'exporter delivering again')).toBe(true);
    } finally {
      health.stop();
      await wrapped.shutdown();
    }
  }, 30_000);

  it('rejectedMessage names each refusing exporter, and nothing when none refused', () => {
    expect(rejectedMessage([{ name: 'a', where: 'x', rejected: 0 }])).toBeUndefined();
    expect(rejectedMessage([{ name: 'a', where: 'http://h/v1/logs', rejected: 3 }])).toContain(
      '3 by a (http://h/v1/logs)',
    );
  });
});
