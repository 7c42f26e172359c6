// The steady-state bench's writer (its own process): appends a debug-level mix at a steady rate for a fixed time,
// half as Go-shim records into a real journal file (systemd-journal-remote fed Journal Export Format on stdin, as
// journald would store them) and half as kata-agent JSON lines appended to one log file per sandbox. Each
// line carries a field `bench_tag=kb#<seq>@<write time, µs since the epoch>`, which the sink reads back to measure latency.
//
//   node steady-writer.mjs --files DIR --journal FILE --journal-remote PATH --rate N --seconds S [--sandboxes 100]
//     [--journal-share 0.5] [--seed N]
// Prints one JSON line at the end: WriterResult.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { steadyLines } from './gen.js';

export interface WriterResult {
  written: number;
  journal: number;
  files: number;
  /** Wall seconds from the first write to the last. */
  seconds: number;
  /** Largest delay of a tick behind its schedule, ms (the writer itself falling behind). */
  maxLagMs: number;
}

const { values: a } = parseArgs({
  options: {
    files: { type: 'string' },
    journal: { type: 'string' },
    'journal-remote': { type: 'string' },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    sandboxes: { type: 'string', default: '100' },
    'journal-share': { type: 'string', default: '0.5' },
    seed: { type: 'string', default: '20' },
  },
});
const rate = Number(a.rate);
const seconds = Number(a.seconds);
const share = Number(a['journal-share']);
if (!a.files || !a.journal || !a['journal-remote'] || !(rate > 0) || !(seconds > 0) || !(share >= 0 && share <= 1))
  throw new Error('steady-writer: --files, --journal, --journal-remote, --rate > 0, --seconds > 0 are required');

const gen = steadyLines(Number(a.seed), Number(a.sandboxes));
const fds = gen.sandboxes.map((sb) => openSync(join(a.files!, `agent-${sb.id.slice(0, 12)}.log`), 'a'));
let bootId = '590edceeef5545a784ec8c6181a10400';
try {
  bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '');
} catch {
  /* not Linux: a fixed boot id */
}
const remote = spawn(a['journal-remote'], [`--output=${a.journal}`, '--compress=no', '-'], {
  stdio: ['pipe', 'ignore', 'pipe'],
});
let remoteErr = '';
remote.stderr.setEncoding('utf8').on('data', (d: string) => (remoteErr = (remoteErr + d).slice(-4000)));
const remoteDone = new Promise<number | null>((res) => remote.on('close', res));

/** Journal Export Format, text form only: every value here is one line of printable text. */
function exportEntry(fields: [string, string | number][]): string {
  let s = '';
  for (const [k, v] of fields) s += `${k}=${v}\n`;
  return s + '\n';
}

const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
const total = Math.round(rate * seconds);
let seq = 0;
let journal = 0;
let maxLagMs = 0;
const t0 = performance.now();
const TICK_MS = 10;

function tick(): void {
  const elapsed = performance.now() - t0;
  const due = Math.min(total, Math.floor((rate * elapsed) / 1000));
  const us = nowUs();
  const ms = us / 1000;
  const perFile = new Map<number, string>();
  let exp = '';
  const monoUs = process.hrtime.bigint() / 1000n;
  for (; seq < due; seq++) {
    const tag = `kb#${seq}@${us}`;
    // Spread the two kinds evenly: line seq goes to the journal when its share crosses an integer.
    if (Math.floor((seq + 1) * share) > Math.floor(seq * share)) {
      const l = gen.shim(ms, tag);
      exp += exportEntry([
        ['__REALTIME_TIMESTAMP', us],
        ['__MONOTONIC_TIMESTAMP', monoUs.toString()],
        ['_BOOT_ID', bootId],
        ['_HOSTNAME', 'node-17'],
        ['_TRANSPORT', 'syslog'],
        ['_UID', 0],
        ['_GID', 0],
        ['_COMM', 'containerd-shim'],
        ['_EXE', '/usr/bin/containerd-shim-kata-v2'],
        ['_SYSTEMD_UNIT', 'containerd.service'],
        ['_PID', l.shimPid],
        ['SYSLOG_IDENTIFIER', 'kata'],
        ['SYSLOG_PID', l.shimPid],
        ['PRIORITY', l.priority],
        ['MESSAGE', l.text],
      ]);
      journal++;
    } else {
      const l = gen.agent(ms, tag);
      perFile.set(l.sandbox, (perFile.get(l.sandbox) ?? '') + l.text + '\n');
    }
  }
  if (exp) remote.stdin.write(exp);
  for (const [i, text] of perFile) writeSync(fds[i]!, text);
  if (seq >= total) return void finish(elapsed);
  // The next tick on the schedule; how late this one ran is the writer's own lag.
  const next = Math.ceil(elapsed / TICK_MS + 1e-9) * TICK_MS;
  maxLagMs = Math.max(maxLagMs, elapsed - (next - TICK_MS));
  setTimeout(tick, Math.max(0, next - (performance.now() - t0)));
}

async function finish(elapsedMs: number): Promise<void> {
  for (const fd of fds) closeSync(fd);
  remote.stdin.end();
  const code = await remoteDone;
  if (code !== 0) throw new Error(`systemd-journal-remote exited with ${code}: ${remoteErr}`);
  const r: WriterResult = { written: seq, journal, files: seq - journal, seconds: elapsedMs / 1000, maxLagMs };
  process.stdout.write(JSON.stringify(r) + '\n');
}

tick();
