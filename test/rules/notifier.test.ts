// The Alertmanager notifier against a real HTTP server on loopback standing in for Alertmanager's API v2.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RuleEngine } from '../../receiver/rules/engine.js';
import { AlertmanagerNotifier, toPostableAlert } from '../../receiver/rules/notifier.js';
import { createLogger } from '../../receiver/telemetry/log.js';
import { T0, rec, rules, sandbox } from './helpers.js';

interface Received {
  method: string;
  url: string;
  contentType: string;
  body: unknown;
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** Answers each POST with the next status of `statuses` (the last one repeats). */
async function alertmanager(statuses: number[] = [200]): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  server = createServer((req: IncomingMessage, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'] ?? '',
        body: JSON.parse(data),
      });
      res.statusCode = statuses[Math.min(received.length - 1, statuses.length - 1)] as number;
      res.end();
    });
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server?.address() as AddressInfo).port}`, received };
}

const RULE = `
- rule: kata-debug-console-used
  name: Kata debug console shell started
  desc: Someone opened the agent debug console.
  condition: body startswith "get debug shell pid"
  output: 'debug shell in %{kata.sandbox.id}'
  priority: critical
  references: [https://example.com/debug-console]
`;

describe('Alertmanager notifier', () => {
  it("posts alerts in Alertmanager's postableAlerts shape, from the engine's onAlert hook", async () => {
    const am = await alertmanager();
    const notifier = new AlertmanagerNotifier({ url: am.url });
    const engine = new RuleEngine({ rules: rules(RULE), onAlert: notifier.notify });
    const out = engine.process([
      rec('get debug shell pid Pid(388)', { ...sandbox('sb7', 'c7'), 'k8s.pod.name': 'web-0' }, { t: T0 }),
    ]);
    expect(out).toHaveLength(2); // process() returned without waiting for the POST
    await notifier.flush();
    expect(am.received).toHaveLength(1);
    expect(am.received[0]).toMatchObject({ method: 'POST', url: '/api/v2/alerts', contentType: 'application/json' });
    expect(am.received[0]?.body).toEqual([
      {
        labels: {
          alertname: 'kata-debug-console-used',
          severity: 'critical',
          kata_sandbox_id: 'sb7',
          container_id: 'c7',
          host_name: 'node1',
          kata_component: 'agent',
          k8s_pod_name: 'web-0',
        },
        annotations: {
          summary: 'debug shell in sb7',
          title: 'Kata debug console shell started',
          description: 'Someone opened the agent debug console.',
          reference: 'https://example.com/debug-console',
          trigger_uids: expect.stringMatching(/^uid-\d+$/),
        },
        startsAt: '2025-11-20T16:00:00.000Z',
        endsAt: '2025-11-20T16:05:00.000Z',
        generatorURL: 'https://example.com/debug-console',
      },
    ]);
    expect(notifier.stats).toMatchObject({ sent: 1, dropped: 0 });
  });

  it('retries 5xx with backoff, gives up on 4xx, and logs what it drops', async () => {
    const am = await alertmanager([503, 503, 200]);
    const lines: string[] = [];
    const logger = createLogger({ write: (l) => lines.push(l) });
    const notifier = new AlertmanagerNotifier({ url: `${am.url}/api/v2/alerts`, retryBaseMs: 1, logger });
    const engine = new RuleEngine({ rules: rules(RULE), onAlert: notifier.notify });
    engine.process([rec('get debug shell pid Pid(1)')]);
    await notifier.flush();
    expect(am.received).toHaveLength(3);
    expect(notifier.stats).toMatchObject({ sent: 1, failedRequests: 2, dropped: 0 });

    await new Promise<void>((r) => server?.close(() => r()));
    const bad = await alertmanager([400]);
    const rejecting = new AlertmanagerNotifier({ url: bad.url, retryBaseMs: 1, logger });
    rejecting.notify(toPostableAlertSource());
    await rejecting.flush();
    expect(bad.received).toHaveLength(1); // no retry for a client error
    expect(rejecting.stats).toMatchObject({ sent: 0, dropped: 1 });
    expect(lines.some((l) => /Alertmanager did not accept alerts; dropped.*HTTP 400/.test(l))).toBe(true);
  });

  it('keeps a bounded queue (oldest dropped) and never throws when Alertmanager is unreachable', async () => {
    const am = await alertmanager();
    const closedPort = am.url;
    await new Promise<void>((r) => server?.close(() => r()));
    server = undefined;
    const notifier = new AlertmanagerNotifier({
      url: closedPort,
      maxQueue: 2,
      batchSize: 1,
      retries: 0,
      timeoutMs: 1000,
    });
    for (let i = 0; i < 5; i++) notifier.notify(toPostableAlertSource());
    await notifier.close();
    // first alert went straight into the sending loop; of the other four only two fit the queue
    expect(notifier.stats.dropped).toBe(5);
    expect(notifier.stats.sent).toBe(0);
    notifier.notify(toPostableAlertSource()); // after close: ignored
    expect(notifier.stats.dropped).toBe(5);
  });

  it('converts alerts without an end into events that resolve after resolveAfterMs', () => {
    const engine = new RuleEngine({ rules: rules(RULE) });
    const [, alert] = engine.process([rec('get debug shell pid', {}, { t: T0 })]);
    const p = toPostableAlert(alert as never, {
      resolveAfterMs: 60_000,
      generatorUrl: (id) => `https://kata-otel.example/rules/${id}`,
    });
    expect(p.endsAt).toBe('2025-11-20T16:01:00.000Z');
    expect(p.generatorURL).toBe('https://kata-otel.example/rules/kata-debug-console-used');
  });
});

function toPostableAlertSource() {
  const engine = new RuleEngine({ rules: rules(RULE.replace('priority: critical', 'priority: low')) });
  return engine.process([rec('get debug shell pid')])[1] as never;
}
