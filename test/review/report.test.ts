/// <reference lib="dom" />
// The review report in real headless Chromium (Debian's /usr/bin/chromium driven by puppeteer-core), the
// timeline, and the text summary, on a generated store.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeLogsJson } from '../../receiver/otlp/index.js';
import { messageTemplate } from '../../receiver/review/report.js';
import { sandboxStory } from '../../receiver/review/lifecycle.js';
import { runCli } from '../support/cli.js';
import { generateRecords, planSandboxes, writeStoreDir, type GenOptions } from '../../bench/store-gen.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const root = mkdtempSync(join(tmpdir(), 'kata-otel-review-'));
const now = Date.now();
const GEN: GenOptions = { sandboxes: 12, perSandbox: 60, startMs: now - 5 * 3_600_000, spanMs: 4 * 3_600_000, seed: 9 };
const SBS = planSandboxes(GEN);
const dataDir = join(root, 'data');
let browser: Browser;

beforeAll(async () => {
  writeStoreDir(join(dataDir, 'store'), generateRecords(GEN), { batch: 30, fileRecords: 300 });
  // Guest-written fields that end up in chart labels, tables and attributes: markup must stay text.
  const base = [...generateRecords(GEN)][40]!;
  const hostile = {
    ...base,
    severityNumber: 17,
    body: '</script><img src=x onerror=alert(3)>',
    attributes: {
      ...base.attributes,
      'kata.subsystem': '<img src=x onerror=alert(2)>',
      'kata.field.x': '"><svg onload=alert(4)>',
    },
  };
  writeFileSync(join(dataDir, 'store', 'logs-29990101T000000000Z-999999.jsonl'), encodeLogsJson([hostile]) + '\n');
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  rmSync(root, { recursive: true, force: true });
});

/** Width and distinct colours of a PNG, decoded by Chromium itself (an <img> drawn on a canvas). */
async function pngStats(png: Buffer): Promise<{ width: number; colours: number }> {
  const p = await browser.newPage();
  try {
    return await p.evaluate(
      async (src) => {
        const img = new Image();
        img.src = src;
        await img.decode();
        const c = document.createElement('canvas');
        c.width = img.width;
        c.height = img.height;
        const g = c.getContext('2d')!;
        g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data;
        const seen = new Set<number>();
        for (let i = 0; i < d.length; i += 4 * 5) seen.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
        return { width: img.width, colours: seen.size };
      },
      `data:image/png;base64,${png.toString('base64')}`,
    );
  } finally {
    await p.close();
  }
}

describe('kata-otel review --html', () => {
  it('renders in Chromium with no console error: charts, swim lanes, alert → record; guest <script> stays text', async () => {
    const html = join(root, 'report.html');
    const r = await runCli(['review', '--data-dir', dataDir, '--since', '24h', '--html', html]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/sandboxes +12 \(/);
    expect(r.stdout).toMatch(/alerts +\d+ \(kata-/);
    const text = readFileSync(html, 'utf8');
    expect(text).not.toMatch(/<script>alert\(1\)<\/script>|<img src=x|<svg onload/); // the guest's markup is escaped
    expect(text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(text).not.toMatch(/(src|href)="https?:/);

    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('request', (req) => {
      if (!req.url().startsWith('file:') && !req.url().startsWith('data:')) problems.push(`network: ${req.url()}`);
    });
    let dialog = false;
    page.on('dialog', (d) => {
      dialog = true;
      void d.dismiss();
    });
    await page.setViewport({ width: 1000, height: 900 });
    await page.goto(`file://${html}`, { waitUntil: 'load' });

    const dom = await page.evaluate(() => ({
      charts: document.querySelectorAll('.uplot canvas').length,
      problemSeries: document.querySelectorAll('#chart-problems .u-legend .u-series').length,
      startSeries: document.querySelectorAll('#chart-start .u-legend .u-series').length,
      lanes: document.querySelectorAll('svg.lanes').length,
      steps: document.querySelectorAll('svg.lanes rect.step').length,
      gaps: document.querySelectorAll('svg.lanes rect.gap').length,
      sandboxRows: document.querySelectorAll('#sandboxes + table tr').length - 1,
      alertLinks: document.querySelectorAll('a.alert-link').length,
      failed: document.querySelectorAll('td.outcome-failed').length,
    }));
    expect(dom.charts).toBe(2);
    expect(dom.problemSeries).toBeGreaterThan(2);
    expect(dom.startSeries).toBe(4); // x + qemu, cloud-hypervisor, firecracker
    expect(dom.lanes).toBe(12);
    expect(dom.steps).toBeGreaterThan(12 * 3);
    expect(dom.gaps).toBeGreaterThan(0);
    expect(dom.sandboxRows).toBe(12);
    expect(dom.alertLinks).toBeGreaterThan(0);
    expect(dom.failed).toBe(SBS.filter((s) => s.failed).length);

    // The chart canvas is really drawn on: more than one colour in it.
    const colours = await page.evaluate(() => {
      const c = document.querySelector('#chart-problems canvas') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set<number>();
      for (let i = 0; i < d.length; i += 4 * 7) seen.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
      return seen.size;
    });
    expect(colours).toBeGreaterThan(3);

    const shot = join(root, 'report.png');
    await page.screenshot({ path: shot, fullPage: false });
    const png = await pngStats(readFileSync(shot));
    expect(png.width).toBe(1000);
    expect(png.colours).toBeGreaterThan(10);

    // Click from the first alert to its record.
    const href = await page.$eval('a.alert-link', (a) => a.getAttribute('href'));
    await page.click('a.alert-link');
    await page.waitForFunction((h) => location.hash === h, {}, href);
    const target = await page.evaluate(() => {
      const el = document.querySelector(':target');
      const box = el?.getBoundingClientRect();
      return {
        cls: el?.className,
        text: el?.textContent ?? '',
        visible: !!box && box.top >= 0 && box.top < innerHeight,
      };
    });
    expect(target.cls).toBe('record');
    expect(target.visible).toBe(true);
    expect(target.text).toMatch(/kata\.alert\.rule\.id/);

    expect(dialog).toBe(false); // the guest's <script>alert(1)</script> did not run
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);

  it('lists message kinds not seen in the previous review', async () => {
    const d = join(root, 'kinds');
    writeStoreDir(join(d, 'store'), generateRecords({ ...GEN, sandboxes: 3 }));
    const first = await runCli(['review', '--data-dir', d, '--since', '24h']);
    expect(first.stdout).toMatch(/first review/);
    expect(existsSync(join(d, 'review', 'known-kinds.json'))).toBe(true);
    const rec = [...generateRecords({ ...GEN, sandboxes: 1 })][0]!;
    const novel = {
      ...rec,
      body: 'agent: unexpected mount of /dev/sdb7 with id 4412',
      timeUnixNano: BigInt(now) * 1_000_000n,
    };
    writeFileSync(join(d, 'store', 'logs-29990101T000000000Z-999999.jsonl'), encodeLogsJson([novel]) + '\n');
    const html = join(d, 'r.html');
    const second = await runCli(['review', '--data-dir', d, '--since', '24h', '--html', html]);
    expect(second.stdout).toMatch(/new kinds +1\n/);
    expect(readFileSync(html, 'utf8')).toContain('unexpected mount of &lt;path&gt; with id &lt;n&gt;');
  }, 60_000);

  it('masks ids and numbers in message kinds', () => {
    expect(messageTemplate('Read from agent timed out after 118ms')).toBe(
      messageTemplate('Read from agent timed out after 4321ms'),
    );
    expect(messageTemplate('sandbox 54632572e152 hypervisor pid is 1614807')).toBe(
      'sandbox <hex> hypervisor pid is <hex>',
    );
    expect(messageTemplate('pid 42 exited after 1.5s')).toBe('pid <n> exited after <n>s');
  });
});

describe('kata-otel timeline', () => {
  it('tells one sandbox’s story: steps with durations, errors, alerts and agent gaps', async () => {
    const sb = SBS.find((s) => !s.failed)!;
    const r = await runCli(['timeline', '--data-dir', dataDir, sb.id]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/outcome stopped/);
    expect(r.stdout).toMatch(/vm\.start +\d+ms {2}\(log\)/);
    expect(r.stdout).toMatch(/agent\.connect +\d+ms/);
    expect(r.stdout).toMatch(/sandbox\.stop +\d+ms/);
    const lines = r.stdout.split('\n');
    const times = lines.filter((l) => /^ {2}\d{4}-/.test(l) && !/^ {2}\S+ {2}\S+\.\S+ /.test(l));
    expect(times.length).toBeGreaterThan(10);
    const byPod = await runCli(['timeline', '--data-dir', dataDir, `${sb.pod.namespace}/${sb.pod.name}`]);
    expect(byPod.stdout).toBe(r.stdout);
  }, 60_000);

  it('takes steps from lifecycle spans stored beside the logs when there are some', async () => {
    const d = join(root, 'spans');
    const sb = SBS.find((s) => !s.failed)!;
    writeStoreDir(
      join(d, 'store'),
      [...generateRecords(GEN)].filter((x) => x.attributes['kata.sandbox.id'] === sb.id),
    );
    const t0 = BigInt(sb.startMs) * 1_000_000n;
    const span = (name: string, from: number, to: number, error = false) => ({
      traceId: sb.traceId,
      spanId: '00f067aa0ba902b7',
      name,
      startTimeUnixNano: String(t0 + BigInt(from) * 1_000_000n),
      endTimeUnixNano: String(t0 + BigInt(to) * 1_000_000n),
      ...(error ? { status: { code: 2 } } : {}),
    });
    const line = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'kata.sandbox.id', value: { stringValue: sb.id } }] },
          scopeSpans: [{ spans: [span('kata.sandbox.create', 0, 1234), span('kata.vm.start', 10, 900, true)] }],
        },
      ],
    };
    writeFileSync(join(d, 'store', 'traces-20260517T100000000Z-000000.jsonl'), JSON.stringify(line) + '\n');
    const r = await runCli(['timeline', '--data-dir', d, sb.id]);
    expect(r.stdout).toMatch(/kata\.sandbox\.create +1234ms {2}\(span\)/);
    expect(r.stdout).toMatch(/kata\.vm\.start +890ms {2}\(span\)/);
    expect(r.stdout).not.toMatch(/\(log\)/);
    expect(r.stdout).toMatch(/outcome failed/);
  }, 60_000);

  it('marks a failed start and gaps in the agent stream; a guest cannot fake a step', () => {
    const sb = SBS.find((s) => s.failed)!;
    const recs = [...generateRecords(GEN)].filter((x) => x.attributes['kata.sandbox.id'] === sb.id);
    const story = sandboxStory(sb.id, recs);
    expect(story.outcome).toBe('failed');
    expect(story.steps.find((s) => s.name === 'agent.connect')?.failed).toBe(true);
    // The guest writes the runtime's "Agent started" message: not a step.
    const fake = {
      ...recs[0]!,
      body: 'Agent started in the sandbox',
      attributes: { ...recs[0]!.attributes, 'kata.component': 'agent' },
    };
    expect(sandboxStory(sb.id, [...recs, fake]).outcome).toBe('failed');
    const ok = SBS.find((s) => !s.failed)!;
    const okRecs = [...generateRecords(GEN)].filter((x) => x.attributes['kata.sandbox.id'] === ok.id);
    const agent = okRecs.filter((x) => x.attributes['kata.component'] === 'agent');
    const silent = agent.map((x, i) =>
      i >= agent.length / 2 ? { ...x, timeUnixNano: x.timeUnixNano + 120_000_000_000n } : x,
    );
    expect(sandboxStory(ok.id, silent).gaps.length).toBeGreaterThan(0);
  });
});
