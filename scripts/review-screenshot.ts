// Regenerates docs/review-report.png, the README's picture of `kata-otel review --html`: a generated store of
// 12 sandboxes over the last 5 hours, the report rendered by Debian's chromium through puppeteer-core.
// Run: npx tsx scripts/review-screenshot.ts   (CHROMIUM=/path overrides /usr/bin/chromium)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { generateRecords, writeStoreDir } from '../bench/store-gen.js';
import { main } from '../receiver/cli/main.js';

const out = fileURLToPath(new URL('../docs/review-report.png', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kata-otel-shot-'));
try {
  const now = Date.now();
  writeStoreDir(
    join(dir, 'store'),
    generateRecords({ sandboxes: 12, perSandbox: 60, startMs: now - 5 * 3_600_000, spanMs: 4 * 3_600_000, seed: 9 }),
  );
  const html = join(dir, 'report.html');
  if ((await main(['review', '--data-dir', dir, '--since', '24h', '--html', html])) !== 0)
    throw new Error('review failed');
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 960, height: 1500 });
    await page.goto(`file://${html}`, { waitUntil: 'load' });
    await page.screenshot({ path: out as `${string}.png`, fullPage: false });
  } finally {
    await browser.close();
  }
  process.stderr.write(`wrote ${out}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
