// SIGHUP reloads the configuration under load without losing a record: a real receiver follows a file while a
// writer appends to it; halfway the configuration changes (the exporter switches from OTLP/gRPC to OTLP/HTTP on
// the same test server) and the receiver gets SIGHUP; the server must count every sequence number. An invalid
// configuration on SIGHUP is refused and the receiver keeps running on the old one.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';
import {
  appendLines,
  brief,
  exactlyOnce,
  sleep,
  startReceiver,
  tallyRecords,
  tempDir,
  waitFor,
  writeReceiverConfig,
} from './delivery-helpers.js';

const N = 6_000;

describe('SIGHUP', () => {
  let srv: OtlpTestServer;
  beforeAll(async () => {
    srv = await startOtlpServer();
  });
  afterAll(async () => srv?.stop());

  /** A receiver following an empty log file, exporting to the server over gRPC, serving telemetry. */
  async function follow() {
    const dir = tempDir();
    const log = join(dir, 'shim.log');
    writeFileSync(log, '');
    const cfg = writeReceiverConfig(dir, { dataDir: join(dir, 'data'), endpoint: srv.grpcEndpoint, include: [log] });
    const receiver = startReceiver(cfg);
    await receiver.telemetry();
    return { log, cfg, receiver };
  }

  it('reloads a changed configuration under load and loses nothing (counted at the server)', async () => {
    const { log, cfg, receiver } = await follow();
    const steps = 30;
    for (let i = 0; i < steps; i++) {
      appendLines(log, (i * N) / steps, ((i + 1) * N) / steps);
      if (i === steps / 2) {
        // The new configuration: the same backend over OTLP/HTTP.
        const text = readFileSync(cfg, 'utf8').replace(
          /protocol: grpc\n(\s+)endpoint: .*/,
          `protocol: http/protobuf\n$1endpoint: ${srv.httpEndpoint}`,
        );
        expect(text).toContain('http/protobuf');
        writeFileSync(cfg, text);
        receiver.child.kill('SIGHUP');
      }
      await sleep(50);
    }
    await waitFor('the reload', () => receiver.stderr().includes('configuration reloaded'), 30_000);
    await waitFor('every record at the server', async () => (await srv.stats()).records >= N, 60_000);
    const stats = await srv.stats();
    const res = await receiver.stop('SIGTERM');
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    const tally = tallyRecords(srv.recordsFile, N);
    expect(brief(tally)).toEqual(exactlyOnce(N));
    // Both transports carried records: the reload really switched exporters.
    expect(stats.byTransport.grpc).toBeGreaterThan(0);
    expect(stats.byTransport['http/protobuf']).toBeGreaterThan(0);
  }, 120_000);

  it('keeps running on the old configuration when the new one is invalid', async () => {
    await srv.reset();
    const { log, cfg, receiver } = await follow();
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('protocol: grpc', 'protocol: smoke-signals'));
    receiver.child.kill('SIGHUP');
    await waitFor('the refusal', () => receiver.stderr().includes('configuration reload failed'), 20_000);
    appendLines(log, 0, 100);
    await waitFor('records still flowing', async () => (await srv.stats()).records >= 100, 20_000);
    const res = await receiver.stop('SIGTERM');
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('smoke-signals');
  }, 60_000);
});
