// DurableLogRecordExporter: the daemon's delivery guarantees for any @opentelemetry/sdk-logs app.
// - fidelity: the app's Resource, scope and any-value bodies reach the OTLP test server as the SDK made them;
// - outage: the backend stops, export() still succeeds once records are on disk, nothing is lost when it returns;
// - SIGKILL: a real child process app (LoggerProvider + BatchLogRecordProcessor + this exporter) killed at random
//   points and restarted: every record arrives, duplicates within the bound.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { afterEach, describe, expect, it } from 'vitest';
import { DurableLogRecordExporter } from '../../receiver/api/index.js';
import { seqText, sleep, tallyRecords, tempDir, waitFor } from '../e2e/delivery-helpers.js';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';

const APP = fileURLToPath(new URL('./fixtures/durable-app.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));

const servers: OtlpTestServer[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  for (const s of servers.splice(0)) await s.stop();
});

function sdkApp(exporter: DurableLogRecordExporter) {
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'payments-api', 'deployment.environment.name': 'test' }),
    processors: [new BatchLogRecordProcessor({ exporter, maxExportBatchSize: 256, scheduledDelayMillis: 5 })],
  });
  cleanups.push(() => provider.shutdown());
  return { provider, logger: provider.getLogger('payments', '1.2.3') };
}

describe('DurableLogRecordExporter', () => {
  it.each(['grpc', 'http/protobuf'] as const)(
    'sends what the SDK made over %s: Resource, scope, any-value body, attributes',
    async (protocol) => {
      const server = await startOtlpServer();
      servers.push(server);
      const exporter = new DurableLogRecordExporter({
        directory: tempDir('kata-otel-durable-'),
        otlp: { endpoint: protocol === 'grpc' ? server.grpcEndpoint : server.httpEndpoint, protocol },
      });
      const { provider, logger } = sdkApp(exporter);
      logger.emit({
        body: { order: 42, items: ['a', 'b'] },
        severityNumber: 17,
        severityText: 'ERROR',
        eventName: 'payment.failed',
        attributes: { 'http.route': '/pay', retries: 3 },
        timestamp: [1_763_655_602, 481_026_977],
      });
      await provider.forceFlush();
      expect(await exporter.drain(20_000)).toBe(true);
      const [r, ...rest] = await server.records();
      expect(rest).toEqual([]);
      expect(r).toMatchObject({
        transport: protocol,
        resource: { 'service.name': 'payments-api', 'deployment.environment.name': 'test' },
        scope: { name: 'payments', version: '1.2.3' },
        timeUnixNano: '1763655602481026977',
        severityNumber: 17,
        severityText: 'ERROR',
        eventName: 'payment.failed',
        attributes: { 'http.route': '/pay', retries: 3 },
      });
      expect(JSON.stringify(r?.body)).toContain('42');
      expect(JSON.stringify(r?.body)).toContain('items');
    },
    30_000,
  );

  it('says clearly what it cannot do: no directory, http/json, a queue directory already in use', async () => {
    expect(() => new DurableLogRecordExporter({} as never)).toThrow(/options.directory/);
    const json = new DurableLogRecordExporter({
      directory: tempDir('kata-otel-durable-'),
      otlp: { endpoint: 'http://127.0.0.1:9/v1/logs', protocol: 'http/json' },
    });
    await expect(json.opened()).rejects.toThrow(/http\/json is not supported.*use grpc or http\/protobuf/);
    const dir = tempDir('kata-otel-durable-');
    const otlp = { endpoint: 'http://127.0.0.1:9', protocol: 'grpc' as const };
    const first = new DurableLogRecordExporter({ directory: dir, otlp, shutdownTimeoutMs: 0 });
    await first.opened();
    cleanups.push(() => first.shutdown());
    const second = new DurableLogRecordExporter({ directory: dir, otlp });
    await expect(second.opened()).rejects.toThrow(/already open in this process: give every exporter a distinct name/);
    // export() reports the failure to the SDK rather than throwing.
    const result = await new Promise((res) => second.export([], res));
    expect(result).toMatchObject({ code: 1 });
  });

  it('backend outage: export() succeeds once durable, every record arrives after the backend returns', async () => {
    const first = await startOtlpServer();
    servers.push(first);
    const exporter = new DurableLogRecordExporter({
      directory: tempDir('kata-otel-durable-'),
      otlp: { endpoint: first.grpcEndpoint, protocol: 'grpc', timeoutMs: 2000 },
      queue: { maxBatchRecords: 256, maxInFlight: 2, retry: { initialMs: 50, maxMs: 300 } },
    });
    const { provider, logger } = sdkApp(exporter);
    const emit = (from: number, to: number) => {
      for (let i = from; i < to; i++) logger.emit({ body: seqText(i), severityNumber: 9 });
    };
    emit(0, 1000);
    await provider.forceFlush();
    await waitFor('the first records at the server', async () => (await first.stats()).records >= 1000, 20_000, 50);

    await first.stop();
    for (let c = 1000; c < 5000; c += 1000) {
      emit(c, c + 1000);
      await provider.forceFlush(); // resolves while the backend is down: the records are on disk
    }
    const depth = await exporter.depth();
    expect(depth.records).toBeGreaterThan(0);
    await sleep(500); // retries against a dead endpoint
    expect(tallyRecords(first.recordsFile, 5000).unique).toBe(1000);

    const second = await startOtlpServer({ grpcPort: first.grpcPort, recordsFile: first.recordsFile });
    servers.push(second);
    expect(await exporter.drain(60_000)).toBe(true);
    const tally = tallyRecords(first.recordsFile, 5000);
    expect({ missing: tally.missing, unique: tally.unique }).toEqual({ missing: [], unique: 5000 });
    // At most the batches in flight when the backend went away are sent twice.
    expect(tally.duplicates).toBeLessThanOrEqual(2 * 256);
  }, 90_000);

  it('SIGKILL mid-export: a restarted app delivers every record, duplicates bounded', async () => {
    const N = 30_000;
    const CHUNK = 1000;
    const KILLS = 5;
    // A slow backend, so that kills land while exports are in flight.
    const RATE = 40_000;
    // Per kill, what can arrive twice (never what is lost):
    //  - the app: the chunk after its last printed mark may already be durable and sent; the restart emits it again;
    //  - the queue: the batches in flight (maxInFlight × maxBatchRecords = 2 × 256), whose acks never arrived;
    //  - the queue: batches acknowledged since acks.json was last written (every fsyncIntervalMs = 20 ms, plus the
    //    write itself; 40 ms at RATE records/s).
    const PER_KILL_BOUND = CHUNK + 2 * 256 + (RATE * 40) / 1000;
    const server = await startOtlpServer();
    servers.push(server);
    await server.setRate(RATE, 'delay');
    const dir = tempDir('kata-otel-durable-kill-');

    const start = (from: number, finish: boolean) => {
      const child = spawn(process.execPath, ['--import', 'tsx', APP], {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          KO_DIR: join(dir, 'data'),
          KO_ENDPOINT: server.grpcEndpoint,
          KO_FROM: String(from),
          KO_TO: String(N),
          KO_CHUNK: String(CHUNK),
          KO_PAUSE_MS: finish ? '0' : '40',
          ...(finish ? { KO_FINISH: '1' } : {}),
        },
      });
      let mark = from;
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const m = /^durable (\d+)$/.exec(line);
        if (m) mark = Number(m[1]);
      });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
        (res) => child.once('close', (code, signal) => res({ code, signal })), // after stdout ended: the last mark is read
      );
      cleanups.push(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      });
      return { child, mark: () => mark, stderr: () => stderr, exited };
    };

    let mark = 0;
    const marks: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const before = (await server.stats()).records;
      const app = start(mark, false);
      await waitFor(
        'the app to make new records durable and the server to receive some',
        // Progress of this run (not only the previous run's queue being resent), then a kill at a random point.
        async () => app.mark() >= N || (app.mark() > mark && (await server.stats()).records > before),
        30_000,
        20,
      );
      await sleep(Math.floor(Math.random() * 400));
      app.child.kill('SIGKILL');
      const res = await app.exited;
      expect(res.signal, app.stderr().slice(-2000)).toBe('SIGKILL');
      mark = app.mark();
      marks.push(mark);
    }
    const last = start(mark, true);
    const res = await last.exited;
    expect(res.code, last.stderr().slice(-2000)).toBe(0);

    const tally = tallyRecords(server.recordsFile, N);
    console.log(
      `durable exporter, SIGKILL x${KILLS}: ${tally.total} records received for ${N}: ${tally.duplicates} duplicates ` +
        `(bound ${KILLS * PER_KILL_BOUND}); restarted from ${marks.join('/')}`,
    );
    expect({ missing: tally.missing, missingCount: tally.missingCount, other: tally.other }).toEqual({
      missing: [],
      missingCount: 0,
      other: 0,
    });
    expect(tally.unique).toBe(N);
    expect(tally.duplicates).toBeLessThanOrEqual(KILLS * PER_KILL_BOUND);
  }, 180_000);
});
