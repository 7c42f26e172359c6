// `kata-otel parse` as a user runs it: a real child process, real corpus files, OTLP/JSON lines on stdout.
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
import { runCli } from '../support/cli.js';

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

  it('fails with a clear message naming a file that cannot be read, and writes nothing', async () => {
    const res = await runCli(['parse', RUNTIME, '/nonexistent/kata.log']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('/nonexistent/kata.log: cannot read: no such file; check the path');
    expect(res.stdout).toBe('');
  });
});
