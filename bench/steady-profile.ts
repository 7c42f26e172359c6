// Where the CPU of the steady state goes: one steady-state run (bench/steady.ts) with `kata-otel run` under
// `node --cpu-prof`, then its self time per function and per file (bench/profile.ts).
//
//   npx tsx bench/steady-profile.ts [--build DIR] [--rate 2000] [--seconds 20] [--from S] [--out DIR] [--no-profile]
//     [--node-arg=--min-semi-space-size=8 …] [--follower [--follower-arg=--emit=none …]]
// --follower runs the naive SDK shipper in follow mode (bench/baseline/follow.mjs) on the same inputs instead of
// kata-otel: the floor beside kata-otel's figures.
// DIR: a build saved by `npm run bench -- --save-build NAME` (default: the bench's last build).
import { mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatTop, topFiles, topFunctions } from './profile.js';
import { Sink } from './sink-client.js';
import { runSteady } from './steady.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values: a } = parseArgs({
  options: {
    build: { type: 'string', default: join(ROOT, 'node_modules/.cache/kata-otel-bench') },
    rate: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '20' },
    // Also print the mean CPU % from this many seconds after the writer started to its end: V8 is still compiling
    // (TurboFan, on its worker threads) through the first ~40 s of a run, which a short run's mean includes.
    from: { type: 'string' },
    out: { type: 'string', default: join(ROOT, 'bench/results/steady-profile') },
    // Only the steady-state figures (the profiler's own thread costs a few % of a core).
    'no-profile': { type: 'boolean' },
    // Run the naive SDK shipper in follow mode (bench/baseline/follow.mjs) instead of kata-otel: the floor.
    follower: { type: 'boolean' },
    // More arguments for the follower (e.g. --follower-arg=--emit=none), repeatable.
    'follower-arg': { type: 'string', multiple: true, default: [] },
    // More Node options for kata-otel (e.g. --min-semi-space-size=8), repeatable.
    'node-arg': { type: 'string', multiple: true, default: [] },
  },
});
const build = resolve(a.build!);
const out = resolve(a.out!, `${Date.now()}`);
mkdirSync(out, { recursive: true });
const sink = await Sink.start(join(build, 'sink.mjs'));
try {
  const s = await runSteady({
    cli: join(build, 'kata-otel.mjs'),
    writer: join(build, 'steady-writer.mjs'),
    sink,
    rate: Number(a.rate),
    seconds: Number(a.seconds),
    env: Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_') && k !== 'NODE_OPTIONS'),
    ),
    ...(a.follower ? { follower: join(ROOT, 'bench/baseline/follow.mjs'), followerArgs: a['follower-arg']! } : {}),
    runNodeArgs: [...a['node-arg']!, ...(a['no-profile'] ? [] : ['--cpu-prof', `--cpu-prof-dir=${out}`])],
  });
  const from = a.from === undefined ? undefined : Number(a.from);
  const late = s.samples.filter((x) => from !== undefined && x.t > from && x.t <= s.seconds + 0.5);
  const lateCpu = late.length ? late.reduce((sum, x) => sum + x.cpuPct, 0) / late.length : undefined;
  process.stdout.write(
    (lateCpu === undefined ? '' : `CPU from ${from} s to the end of writing: ${lateCpu.toFixed(1)}% of a core; `) +
      `${s.rate} lines/s ${s.seconds} s: ${s.writer.written} written, ${s.latency.received} delivered, CPU ${s.cpuPct.toFixed(1)}% ` +
      `(${s.cpuSeconds.toFixed(1)} CPU s to the last record, ${s.cpuUsPerLine.toFixed(0)} µs/line) ` +
      `(journalctl ${s.childCpuPct.toFixed(1)}%), RSS max ${s.rssMaxMB.toFixed(0)} MB, p50 ${s.latency.p50.toFixed(0)} ms p99 ${s.latency.p99.toFixed(0)} ms, ` +
      `load ${s.loadavg.map((x) => x.toFixed(1)).join('–')}${s.problems.length ? ' PROBLEMS: ' + s.problems.join('; ') : ''}\n`,
  );
  for (const f of readdirSync(out).filter((f) => f.endsWith('.cpuprofile'))) {
    const file = join(out, f);
    process.stdout.write(
      `\n${file}\n${formatTop(topFunctions(file, build, 40))}\n\n${formatTop(topFiles(file, build, 25))}\n`,
    );
  }
} finally {
  sink.stop();
}
