// `kata-otel validate` as a real child process against the real OTLP test server: reachable (gRPC, HTTP
// protobuf and JSON, nothing recorded), unreachable (a closed port), misconfigured (a wrong HTTP path → 404, an
// invalid endpoint), and sources resolved to what they would read.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';

let srv: OtlpTestServer;
let dir: string;
beforeAll(async () => {
  srv = await startOtlpServer();
  dir = mkdtempSync(join(tmpdir(), 'kata-otel-validate-'));
  chmodSync(dir, 0o700);
});
afterAll(async () => srv?.stop());

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function config(name: string, exporters: string, sources = ''): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, `data_dir: ${join(dir, `data-${name}`)}\n${sources}\nexporters:\n${exporters}\n`);
  return path;
}
interface Report {
  ok: boolean;
  checks: { kind: string; name: string; status: string; detail: string; paths?: { path: string; access: string }[] }[];
}
const validate = async (path: string) => {
  const r = await runCli(['validate', '--config', path, '--json', '--timeout', '5000']);
  return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
};
const exporterChecks = (r: Report) => r.checks.filter((c) => c.kind === 'exporter');

describe('kata-otel validate', () => {
  it('reaches gRPC, HTTP/protobuf and HTTP/JSON endpoints with an empty export and sends no record', async () => {
    await srv.reset();
    const path = config(
      'ok',
      [
        `  - { type: otlp, name: grpc, endpoint: ${srv.grpcEndpoint}, protocol: grpc }`,
        `  - { type: otlp, name: proto, endpoint: ${srv.httpEndpoint}, protocol: http/protobuf }`,
        `  - { type: otlp, name: json, endpoint: ${srv.httpEndpoint}, protocol: http/json }`,
      ].join('\n'),
    );
    const { code, report } = await validate(path);
    expect(exporterChecks(report).map((c) => [c.name, c.status])).toEqual([
      ['grpc', 'ok'],
      ['proto', 'ok'],
      ['json', 'ok'],
    ]);
    expect(report.ok).toBe(true);
    expect(code).toBe(0);
    const stats = await srv.stats();
    expect(stats.requests).toBe(3); // one empty export each
    expect(stats.records).toBe(0);
  }, 30_000);

  it('exits 1 for an unreachable endpoint and a backend that rejects the path (404)', async () => {
    const port = await closedPort();
    const path = config(
      'bad',
      [
        `  - { type: otlp, name: down, endpoint: http://127.0.0.1:${port}, protocol: grpc }`,
        `  - { type: otlp, name: wrongpath, endpoint: ${srv.httpEndpoint.replace('/v1/logs', '/v1/nothing')}, protocol: http/protobuf }`,
      ].join('\n'),
    );
    const { code, report } = await validate(path);
    const [down, wrong] = exporterChecks(report);
    expect(down).toMatchObject({ name: 'down', status: 'fail' });
    expect(down!.detail).toMatch(/cannot reach grpc http:\/\/127\.0\.0\.1:\d+/);
    expect(wrong).toMatchObject({ name: 'wrongpath', status: 'fail' });
    expect(wrong!.detail).toMatch(/rejects exports.*404/);
    expect(code).toBe(1);
  }, 30_000);

  it('exits 2 for an invalid configuration and names the field', async () => {
    const path = config('invalid', '  - { type: otlp, endpoint: 42, protocol: carrier-pigeon }');
    const { code, report } = await validate(path);
    expect(code).toBe(2);
    expect(report.checks[0]).toMatchObject({ kind: 'config', status: 'fail' });
    expect(report.checks[0]!.detail).toContain('protocol');
    const missing = await runCli(['validate', '--config', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
  }, 30_000);

  it('resolves sources to the files and directories they would read, with access', async () => {
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    writeFileSync(join(logs, 'a.log'), 'x\n');
    writeFileSync(join(logs, 'b.log'), 'y\n');
    const sources = [
      'sources:',
      `  files: [{ include: ["${logs}/*.log"] }, { include: ["${dir}/none/*.log"] }]`,
      `  fifo: { enabled: true, roots: ["${dir}/no-sandbox-yet"] }`,
      '  vsock: { enabled: false }',
    ].join('\n');
    const path = config('sources', '  - { type: store }', sources);
    const { code, report } = await validate(path);
    const byName = new Map(report.checks.map((c) => [c.name, c]));
    expect(byName.get('file-0')).toMatchObject({ status: 'ok' });
    expect(byName.get('file-0')!.paths).toEqual([
      { path: join(logs, 'a.log'), kind: 'file', access: 'readable' },
      { path: join(logs, 'b.log'), kind: 'file', access: 'readable' },
    ]);
    expect(byName.get('file-1')).toMatchObject({ status: 'warn' });
    expect(byName.get('fifo')).toMatchObject({ status: 'warn' });
    expect(report.checks.find((c) => c.kind === 'data_dir')).toMatchObject({ status: 'ok' });
    expect(code).toBe(0);
  }, 30_000);
});
