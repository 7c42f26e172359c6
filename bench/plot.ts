// `npm run bench:plot -- [RESULTS.json] [OUT.svg]`: the steady-state plot of bench/README.md — CPU % of one core
// and RSS of the kata-otel process over time, one line per rate — as a self-contained SVG (hand-written: two
// panels of polylines need no charting library). Input: a bench results file with a `steady` array (default
// bench/steady.json, the run the README quotes); output default bench/steady.svg.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SteadyResult } from './steady.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
const W = 760;
const PANEL_H = 220;
const M = { left: 60, right: 150, top: 30, bottom: 40 };

/** A round axis maximum and tick step above `max`. */
function axis(max: number): { top: number; step: number } {
  const raw = Math.max(max, 1e-9) / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((k) => k * p).find((s) => s >= raw)!;
  return { top: Math.ceil(max / step) * step || step, step };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function panel(
  runs: SteadyResult[],
  y0: number,
  title: string,
  value: (s: SteadyResult['samples'][number]) => number,
  unit: string,
  limit?: { at: number; label: string },
): string {
  const all = runs.flatMap((r) => r.samples);
  const tMin = Math.min(0, ...all.map((s) => s.t));
  const tMax = Math.max(...all.map((s) => s.t));
  const y = axis(Math.max(...all.map(value), limit?.at ?? 0));
  const x = axis(tMax);
  const pw = W - M.left - M.right;
  const px = (t: number) => M.left + ((t - tMin) / (x.top - tMin)) * pw;
  const py = (v: number) => y0 + PANEL_H - (v / y.top) * PANEL_H;
  const out: string[] = [`<text x="${M.left}" y="${y0 - 10}" font-weight="bold">${esc(title)}</text>`];
  for (let v = 0; v <= y.top + 1e-9; v += y.step) {
    out.push(
      `<line x1="${M.left}" x2="${M.left + pw}" y1="${py(v)}" y2="${py(v)}" stroke="#ddd"/>`,
      `<text x="${M.left - 6}" y="${py(v) + 4}" text-anchor="end">${+v.toFixed(2)}</text>`,
    );
  }
  for (let t = 0; t <= x.top + 1e-9; t += x.step)
    out.push(
      `<line x1="${px(t)}" x2="${px(t)}" y1="${y0}" y2="${y0 + PANEL_H}" stroke="#eee"/>`,
      `<text x="${px(t)}" y="${y0 + PANEL_H + 16}" text-anchor="middle">${+t.toFixed(1)}</text>`,
    );
  out.push(
    `<text x="${M.left + pw / 2}" y="${y0 + PANEL_H + 32}" text-anchor="middle">seconds since the writer started (negative: start-up)</text>`,
    `<text transform="translate(16 ${y0 + PANEL_H / 2}) rotate(-90)" text-anchor="middle">${esc(unit)}</text>`,
    `<rect x="${M.left}" y="${y0}" width="${pw}" height="${PANEL_H}" fill="none" stroke="#888"/>`,
  );
  if (limit)
    out.push(
      `<line x1="${M.left}" x2="${M.left + pw}" y1="${py(limit.at)}" y2="${py(limit.at)}" stroke="#000" stroke-dasharray="6 4"/>`,
      `<text x="${M.left + pw + 6}" y="${py(limit.at) + 4}">${esc(limit.label)}</text>`,
    );
  runs.forEach((r, i) => {
    const pts = r.samples.map((s) => `${px(s.t).toFixed(1)},${py(value(s)).toFixed(1)}`).join(' ');
    const c = COLORS[i % COLORS.length]!;
    out.push(
      `<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="1.8"/>`,
      `<text x="${M.left + pw + 6}" y="${y0 + 20 + i * 18}" fill="${c}">${r.rate.toLocaleString('en-US')} lines/s</text>`,
    );
  });
  return out.join('\n');
}

export function steadySvg(runs: SteadyResult[], caption: string): string {
  const h = M.top + 2 * (PANEL_H + M.bottom + M.top) + 20;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    panel(runs, M.top, 'kata-otel run: CPU, % of one core (1 s samples)', (s) => s.cpuPct, '% of one core', {
      at: 5,
      label: 'target at 2k: 5%',
    }),
    panel(runs, M.top * 2 + PANEL_H + M.bottom, 'kata-otel run: RSS', (s) => s.rssMB, 'MiB'),
    `<text x="${M.left}" y="${h - 8}" fill="#555">${esc(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const input = process.argv[2] ?? fileURLToPath(new URL('steady.json', import.meta.url));
  const output = process.argv[3] ?? fileURLToPath(new URL('steady.svg', import.meta.url));
  const doc = JSON.parse(readFileSync(input, 'utf8')) as { date?: string; steady?: SteadyResult[] };
  if (!doc.steady?.length) throw new Error(`${input}: no "steady" results (run npm run bench -- --steady)`);
  writeFileSync(output, steadySvg(doc.steady, `${doc.date ?? ''} · ${input.split('/').pop()}`));
  process.stdout.write(`wrote ${output}\n`);
}
