// `kata-otel parse` as a user runs it: a real child process, real corpus files, OTLP/JSON lines on stdout.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeLogsJson } from '../../receiver/otlp/index.js';
import {
  ATTR_KATA_COMPONENT,
  ATTR_KATA_LOG_PARSE_ERROR,
  ATTR_KATA_LOG_TRUNCATED,
  ATTR_KATA_SANDBOX_ID,
  ATTR_LOG_FILE_NAME,
  ATTR_LOG_FILE_PATH,
  ATTR_LOG_RECORD_ORIGINAL,
} from '../../receiver/semconv/generated.js';
import { REPO, runCli } from '../support/cli.js';

const CORPUS = new URL('../fixtures/corpus/', import.meta.url).pathname;
const RUNTIME = join(CORPUS, 'runtime-logfmt.log');
const CONTAINERD = join(CORPUS, 'shim-via-containerd.log');

interface Request {
  resourceLogs: {
    resource: { attributes: { key: string; value: Record<string, unknown> }[] };
    scopeLogs: { scope: { name: string }; logRecords: Record<string, unknown>[] }[];
  }[];
}
const requests = (stdout: string): Request[] =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Request);

describe('kata-otel parse', () => {
  it('writes one Collector-format ExportLogsServiceRequest per line, grouped per sandbox and component', async () => {
    const res = await runCli(['parse', '--batch-size', '10', RUNTIME, CONTAINERD]);
    expect(res.code).toBe(0);
    const reqs = requests(res.stdout);
    expect(reqs.length).toBeGreaterThan(1); // batch size 10
    for (const req of reqs) {
      const seen = new Set<string>();
      for (const rl of req.resourceLogs) {
        const attrs = Object.fromEntries(rl.resource.attributes.map((a) => [a.key, Object.values(a.value)[0]]));
        const id = `${String(attrs[ATTR_KATA_SANDBOX_ID])}/${String(attrs[ATTR_KATA_COMPONENT])}`;
        expect(seen.has(id), `one resource per sandbox+component in a request (${id})`).toBe(false);
        seen.add(id);
        for (const sl of rl.scopeLogs)
          for (const r of sl.logRecords) {
            // The OTLP/JSON conventions the Collector's otlpjsonfile receiver reads: int64 as decimal strings,
            // enums as integers, camelCase keys.
            expect(r.timeUnixNano).toMatch(/^\d+$/);
            expect(r.observedTimeUnixNano).toMatch(/^\d+$/);
            expect(Number.isInteger(r.severityNumber)).toBe(true);
            expect(Object.keys(r)).not.toContain('time_unix_nano');
          }
      }
    }
    const records = reqs.flatMap((r) => decodeLogsJson(JSON.stringify(r)));
    // 24 kata lines all have a containerd twin among the 29 containerd lines.
    expect(records).toHaveLength(29);
    for (const r of records) {
      expect([RUNTIME, CONTAINERD]).toContain(r.attributes[ATTR_LOG_FILE_PATH]);
      expect(['runtime-logfmt.log', 'shim-via-containerd.log']).toContain(r.attributes[ATTR_LOG_FILE_NAME]);
    }
    expect(res.stderr).toContain('24 duplicates suppressed');
  });

  it('--no-dedupe keeps both copies; --original keeps the raw text', async () => {
    const res = await runCli(['parse', '--no-dedupe', '--original', RUNTIME, CONTAINERD]);
    expect(res.code).toBe(0);
    const records = requests(res.stdout).flatMap((r) => decodeLogsJson(JSON.stringify(r)));
    expect(records).toHaveLength(53);
    const first = records[0]!;
    expect(first.attributes[ATTR_LOG_RECORD_ORIGINAL]).toMatch(/^May 17 19:43:30 raisin kata\[1614807\]: time="/);
  });

  it('reads stdin when no file or "-" is given, and unparseable input still exits 0 with the raw text kept', async () => {
    const res = await runCli(['parse', '-'], { input: 'complete garbage \u0001\u0002 not a kata line\n' });
    expect(res.code).toBe(0);
    const [rec] = requests(res.stdout).flatMap((r) => decodeLogsJson(JSON.stringify(r)));
    expect(rec?.body).toBe('complete garbage \u0001\u0002 not a kata line');
    expect(rec?.attributes[ATTR_KATA_LOG_PARSE_ERROR]).toBeTruthy();
    expect(rec?.attributes[ATTR_LOG_FILE_PATH]).toBeUndefined();
  });

  it('frames lines as run does: a lone \\r is not a line end, \\r\\n is, and --max-line-bytes cuts and marks', async () => {
    const shim = (msg: string) => `time="2026-03-02T10:15:30.5Z" level=info msg="${msg}" sandbox=sb-frame`;
    const input = `${shim('one\rstill one')}\r\n${shim('two')}\n${shim('x'.repeat(300))} pid=7\n`;
    const res = await runCli(['parse', '--max-line-bytes', '200', '-'], { input });
    expect(res.code).toBe(0);
    const records = requests(res.stdout).flatMap((r) => decodeLogsJson(JSON.stringify(r)));
    expect(records.map((r) => r.body.slice(0, 16))).toEqual(['one\rstill one', 'two', 'x'.repeat(16)]);
    expect(records[0]?.attributes[ATTR_KATA_LOG_TRUNCATED]).toBeUndefined();
    expect(records[2]?.attributes[ATTR_KATA_LOG_TRUNCATED]).toBe(true);
    expect(records[2]?.attributes['process.pid']).toBeUndefined(); // cut before `pid=7`
    const bad = await runCli(['parse', '--max-line-bytes', '0', '-'], { input });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--max-line-bytes');
  });

  it('--stats reports understood, fragment and raw lines per shape and component, with raw examples', async () => {
    const sb = '3b9e0c41d7a2f65e8c1b0a9d8e7f6c5b4a3d2e1f0c9b8a7d6e5f4c3b2a1d0e9f';
    const input = [
      `Feb 03 09:12:44 worker-1 kata[6021]: time="2026-02-03T09:12:44.5Z" level=info msg="VM started" sandbox=${sb} source=virtcontainers subsystem=sandbox`,
      `{"msg":"rpc","level":"INFO","ts":"2026-02-03T09:12:45Z","pid":"1","subsystem":"rpc","name":"kata-agent","source":"agent"}`,
      `pid=6021 sandbox=${sb} source=virtcontainers subsystem=kata_agent`,
      'some unrelated daemon output',
      'another line nobody wrote',
      'and a third one',
      '{"msg":"cut here","level":"INFO","ts":"2026-02-03T09:12:46Z"',
    ].join('\n');
    const res = await runCli(['parse', '--stats', '--examples', '2', '-'], { input: `${input}\n` });
    expect(res.code).toBe(0);
    const out = res.stdout;
    expect(out).toMatch(/^7 records: 2 understood, 1 fragments, 4 raw$/m);
    expect(out).toMatch(/^logfmt\s+2\s+1\s+1\s+0$/m);
    expect(out).toMatch(/^slog-json\s+2\s+1\s+0\s+1$/m);
    expect(out).toMatch(/^runtime\s+2\s+1\s+1\s+0$/m);
    expect(out).toMatch(/^ {2}unrecognised line: 3$/m);
    expect(out).toMatch(/^ {2}invalid JSON: 1$/m);
    expect(out).toContain('-: "some unrelated daemon output"');
    expect(out).toContain('-: "another line nobody wrote"');
    expect(out).not.toContain('and a third one'); // --examples 2
  });

  it("the README's --stats figures for the corpus are what parse --stats prints", async () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const block =
      /\$ kata-otel parse --stats test\/fixtures\/corpus\/\*\.log test\/fixtures\/corpus\/\*\.json\n([\s\S]*?)```/.exec(
        readme,
      );
    expect(block).not.toBeNull();
    const files = readdirSync(CORPUS)
      .filter((f) => f.endsWith('.log'))
      .sort()
      .map((f) => `test/fixtures/corpus/${f}`);
    const res = await runCli(['parse', '--stats', ...files, 'test/fixtures/corpus/journald-record-kata-runtime.json']);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(block?.[1]);
  });

  it('fails with a clear message naming a file that cannot be read, and writes nothing', async () => {
    const res = await runCli(['parse', RUNTIME, '/nonexistent/kata.log']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('/nonexistent/kata.log: cannot read: no such file; check the path');
    expect(res.stdout).toBe('');
  });
});
