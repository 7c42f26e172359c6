// Fair share (docs/security.md): one guest flooding its agent log port cannot starve another sandbox or the health
// endpoint. The real receiver (`kata-otel run`, child process) reads two sandboxes over hybrid vsock from guests in
// child processes: one writes as fast as its socket takes it, the other writes a time-stamped line every 100 ms.
// While the flood runs, /healthz is polled and the quiet sandbox's records are timed from the time written in them
// to their arrival on the receiver's stdout. The bounds are generous (the machine is shared): they fail when the
// flood holds the event loop or queues the quiet records behind its own, not on a slow run. (One run with the rate
// limit and the parse budget switched off: /healthz p50 190 ms, quiet records p50 4.9 s late, 17 of 60 arrived.)
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { scrape, startReceiver, type Receiver } from './delivery-helpers.js';
import { tempDir } from '../sources/source-harness.js';
import { startAgent } from '../support/hvsock-agent.js';

const FLOOD = 'f100df100df100df100df100df100df100df100df100df100df100df100df100d';
const QUIET = '9e1e79e1e79e1e79e1e79e1e79e1e79e1e79e1e79e1e79e1e79e1e79e1e79e1e';
const RATE = 200;
const FLOOD_MS = 6000;

const children: ChildProcess[] = [];
let receiver: Receiver | undefined;
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await receiver?.stop('SIGKILL');
  receiver = undefined;
});

interface Arrival {
  sandbox: string;
  body: string;
  timeMs: number;
  arrivedMs: number;
  dropped?: number;
}

/** The receiver's stdout (`otlp-json`: one ExportLogsServiceRequest per line), each record stamped on arrival. */
function watchStdout(child: ChildProcess): Arrival[] {
  const out: Arrival[] = [];
  let buf = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    const now = Date.now();
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const req = JSON.parse(buf.slice(0, nl)) as {
        resourceLogs?: {
          resource: { attributes: { key: string; value: { stringValue?: string } }[] };
          scopeLogs: {
            logRecords: {
              timeUnixNano: string;
              body: { stringValue: string };
              attributes?: { key: string; value: { intValue?: string } }[];
            }[];
          }[];
        }[];
      };
      buf = buf.slice(nl + 1);
      // The stdout stream carries lifecycle spans and metrics too (resourceSpans / resourceMetrics lines).
      for (const rl of req.resourceLogs ?? []) {
        const sandbox = rl.resource.attributes.find((a) => a.key === 'kata.sandbox.id')?.value.stringValue ?? '';
        for (const sl of rl.scopeLogs)
          for (const lr of sl.logRecords) {
            const dropped = lr.attributes?.find((a) => a.key === 'kata.log.dropped_count')?.value.intValue;
            out.push({
              sandbox,
              body: lr.body.stringValue,
              timeMs: Number(BigInt(lr.timeUnixNano) / 1_000_000n),
              arrivedMs: now,
              dropped: dropped === undefined ? undefined : Number(dropped),
            });
          }
      }
    }
  });
  return out;
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)] ?? NaN;

describe('a guest flooding its vsock log port', () => {
  it('leaves another sandbox’s records and /healthz on time, and its drops counted and visible', async () => {
    const base = tempDir('ko-');
    const roots = join(base, 'vm');
    await startAgent({ socket: join(roots, FLOOD, 'clh.sock'), mode: 'flood', lineBytes: 4096 }, children);
    await startAgent({ socket: join(roots, QUIET, 'clh.sock'), mode: 'tick', tickMs: 100 }, children);
    const config = join(base, 'kata-otel.yaml');
    writeFileSync(
      config,
      stringify({
        data_dir: join(base, 'data'),
        log: { level: 'info' },
        sources: { vsock: { enabled: true, roots: [roots], reconnect_initial_ms: 50, reconnect_max_ms: 200 } },
        pipeline: {
          fair_share: { records_per_second: RATE, bytes_per_second: 4 * 1024 * 1024, burst_seconds: 1 },
        },
        exporters: [{ type: 'stdout', format: 'otlp-json' }],
        telemetry: { listen: '127.0.0.1:0' },
      }),
    );
    receiver = startReceiver(config);
    const arrivals = watchStdout(receiver.child);
    const address = await receiver.telemetry();

    // The flood runs from the moment the receiver connects; poll /healthz meanwhile.
    const started = Date.now();
    const health: number[] = [];
    while (Date.now() - started < FLOOD_MS) {
      const t0 = Date.now();
      const res = await fetch(`http://${address}/healthz`);
      await res.text();
      expect(res.status).toBe(200);
      health.push(Date.now() - t0);
      await new Promise((r) => setTimeout(r, 100));
    }
    const metrics = await scrape(address);
    const elapsed = (Date.now() - started) / 1000;

    const quiet = arrivals.filter((a) => a.sandbox === QUIET && a.body.startsWith('tick '));
    const flood = arrivals.filter((a) => a.sandbox === FLOOD && a.body.startsWith('flood '));
    const lag = quiet.map((a) => a.arrivedMs - a.timeMs);
    const summary = JSON.stringify({
      healthz: { n: health.length, p50: percentile(health, 0.5), max: Math.max(...health) },
      quiet: { n: quiet.length, p50: percentile(lag, 0.5), p95: percentile(lag, 0.95), max: Math.max(...lag) },
      flood: flood.length,
    });
    console.log(`fair share: ${summary}`);

    // /healthz answered throughout, promptly.
    expect(health.length, summary).toBeGreaterThan(FLOOD_MS / 400);
    expect(percentile(health, 0.5), summary).toBeLessThan(100);
    expect(Math.max(...health), summary).toBeLessThan(3000);
    // The quiet sandbox's records kept coming (a tick every 100 ms) and arrived on time.
    expect(quiet.length, summary).toBeGreaterThan((FLOOD_MS / 100) * 0.5);
    expect(percentile(lag, 0.5), summary).toBeLessThan(1000);
    expect(percentile(lag, 0.95), summary).toBeLessThan(2500);
    // The flood was held to its rate (plus the one-second burst), and its drops are counted and visible.
    expect(flood.length, summary).toBeGreaterThan(0);
    expect(flood.length, summary).toBeLessThanOrEqual(RATE * (elapsed + 2) + RATE);
    const dropped = metrics.get(`kata_otel_guest_records_dropped_total{source="vsock",sandbox="${FLOOD}"}`) ?? 0;
    expect(dropped, summary).toBeGreaterThan(flood.length);
    expect(metrics.get(`kata_otel_guest_records_dropped_total{source="vsock",sandbox="${QUIET}"}`)).toBeUndefined();
    expect(flood.some((a) => (a.dropped ?? 0) > 0)).toBe(true);
    expect(receiver.stderr()).toContain('guest stream over its rate limit');

    const end = await receiver.stop('SIGTERM');
    expect(end.code, end.stderr.slice(-2000)).toBe(0);
  }, 60_000);
});
