// FifoSource against real FIFOs (mkfifo) laid out as Kata's Go runtime lays out Firecracker's, written by child
// processes.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ATTR_KATA_COMPONENT,
  ATTR_KATA_HYPERVISOR_NAME,
  ATTR_KATA_LOG_CARRIER,
  ATTR_KATA_LOG_ORIGIN,
  ATTR_KATA_SANDBOX_ID,
  ATTR_LOG_FILE_NAME,
  ATTR_LOG_FILE_PATH,
} from '../../receiver/semconv/generated.js';
import { FifoSource } from '../../receiver/sources/fifo.js';
import { harness, tempDir } from './source-harness.js';

const corpus = new URL('../../../shared/corpus/', import.meta.url);
const fcLines = readFileSync(new URL('firecracker.log', corpus), 'utf8').split('\n').filter(Boolean);
// Synthetic, in the shape of Firecracker's metrics flush (one JSON object per line); not from the corpus.
const metricsLine = (ts: number) =>
  JSON.stringify({
    utc_timestamp_ms: ts,
    api_server: { process_startup_time_us: 1023, process_startup_time_cpu_us: 987, sync_response_fails: 0 },
    block: { activate_fails: 0, cfg_fails: 0, read_bytes: 4096 },
    vsock: { rx_bytes_count: 1024, tx_bytes_count: 512 },
  });

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

/** A child process that opens the FIFO (`w`: blocks until a reader, like a plain writer; `rw`: never blocks),
 *  writes `data`, then closes and exits, or stays alive holding it when `hold`. */
function writer(path: string, data: string, mode: 'w' | 'rw' = 'w', hold = false): Promise<void> | ChildProcess {
  const code = `const fs=require('fs');const fd=fs.openSync(process.argv[1], process.argv[3]==='rw'?fs.constants.O_RDWR:'w');
fs.writeSync(fd, process.argv[2]);
if (process.argv[4]==='hold') { process.stdout.write('written\\n'); setInterval(()=>{},1e6); } else fs.closeSync(fd);`;
  const child = spawn(process.execPath, ['-e', code, path, data, mode, hold ? 'hold' : ''], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  if (hold) return child;
  return new Promise((resolve, reject) =>
    child.on('close', (c) => (c === 0 ? resolve() : reject(new Error(`writer exited ${String(c)}`)))),
  );
}

/** Paths this process holds open (to check the source closed a FIFO). */
function openPaths(): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/self/fd/${fd}`)];
    } catch {
      return [];
    }
  });
}

const fast = { pollMs: 50, flushMs: 20 };

describe('FifoSource (real FIFOs)', () => {
  it('reads logs.fifo and root/metrics.fifo lines, tagged with the sandbox; writers may close and reopen', async () => {
    const base = tempDir();
    const root = join(base, 'run/vc/firecracker');
    const dir = join(root, 'fc-sandbox-1');
    mkdirSync(join(dir, 'root'), { recursive: true });
    mkfifo(join(dir, 'logs.fifo'));
    mkfifo(join(dir, 'root', 'metrics.fifo'));
    const h = harness();
    const run = new FifoSource({ roots: [root], fifos: ['logs.fifo', 'metrics.fifo'], ...fast }).run(h.ctx);
    const logLines = () =>
      h.batches.filter((b) => b.attributes?.[ATTR_LOG_FILE_NAME] === 'logs.fifo').flatMap((b) => b.entries);
    const metricLines = () =>
      h.batches.filter((b) => b.attributes?.[ATTR_LOG_FILE_NAME] === 'metrics.fifo').flatMap((b) => b.entries);

    await writer(join(dir, 'logs.fifo'), fcLines.slice(0, 8).join('\n') + '\n');
    await h.waitFor(() => logLines().length === 8, 'the first writer’s lines');
    // The first writer has closed: a new writer (Firecracker reopening, or the next one) is still read, and a
    // line split across two writers arrives whole.
    const rest = fcLines.slice(8).join('\n') + '\n';
    await writer(join(dir, 'logs.fifo'), rest.slice(0, 30));
    await writer(join(dir, 'logs.fifo'), rest.slice(30));
    await writer(
      join(dir, 'root', 'metrics.fifo'),
      metricsLine(1697206555422) + '\n' + metricsLine(1697206615422) + '\n',
    );
    await h.waitFor(() => logLines().length === fcLines.length && metricLines().length === 2, 'all lines');
    h.controller.abort();
    await run;

    expect(logLines().map((e) => (e.kind === 'text' ? e.text : ''))).toEqual(fcLines);
    expect(metricLines().map((e) => (e.kind === 'text' ? JSON.parse(e.text).utc_timestamp_ms : 0))).toEqual([
      1697206555422, 1697206615422,
    ]);
    const logBatch = h.batches.find((b) => b.attributes?.[ATTR_LOG_FILE_NAME] === 'logs.fifo');
    expect(logBatch?.source).toBe('fifo');
    expect(logBatch?.attributes).toEqual({
      [ATTR_KATA_SANDBOX_ID]: 'fc-sandbox-1',
      [ATTR_KATA_LOG_CARRIER]: 'fifo',
      [ATTR_KATA_HYPERVISOR_NAME]: 'firecracker',
      [ATTR_KATA_COMPONENT]: 'hypervisor',
      [ATTR_LOG_FILE_PATH]: join(dir, 'logs.fifo'),
      [ATTR_LOG_FILE_NAME]: 'logs.fifo',
      [ATTR_KATA_LOG_ORIGIN]: 'fifo',
    });
    const metricsBatch = h.batches.find((b) => b.attributes?.[ATTR_LOG_FILE_NAME] === 'metrics.fifo');
    expect(metricsBatch?.attributes?.[ATTR_LOG_FILE_PATH]).toBe(join(dir, 'root', 'metrics.fifo'));
  });

  it('finds a FIFO created after its sandbox directory, and closes it when the sandbox goes away', async () => {
    const base = tempDir();
    const root = join(base, 'run/vc/firecracker');
    const a = join(root, 'sbx-a');
    const b = join(root, 'sbx-b');
    mkdirSync(a, { recursive: true });
    mkdirSync(b, { recursive: true });
    mkfifo(join(b, 'logs.fifo'));
    const h = harness();
    const run = new FifoSource({ roots: [root], ...fast }).run(h.ctx);
    const from = (id: string) =>
      h.batches.filter((x) => x.attributes?.[ATTR_KATA_SANDBOX_ID] === id).flatMap((x) => x.entries);
    mkfifo(join(a, 'logs.fifo'));
    await writer(join(a, 'logs.fifo'), `${fcLines[0]}\n`);
    await writer(join(b, 'logs.fifo'), `${fcLines[1]}\n`);
    await h.waitFor(() => from('sbx-a').length === 1 && from('sbx-b').length === 1, 'a line from each sandbox');
    expect(openPaths()).toContain(join(a, 'logs.fifo'));

    rmSync(a, { recursive: true });
    await h.waitFor(
      () => !openPaths().some((p) => p.startsWith(join(a, 'logs.fifo'))),
      'the FIFO of sbx-a to be closed',
    );
    await writer(join(b, 'logs.fifo'), `${fcLines[2]}\n`);
    await h.waitFor(() => from('sbx-b').length === 2, 'sbx-b to keep flowing');
    h.controller.abort();
    await run;
    expect(openPaths().some((p) => p.includes(root))).toBe(false);
  });

  it('once mode reads what the pipe holds now and returns while a writer still holds it open', async () => {
    const base = tempDir();
    const root = join(base, 'run/vc/firecracker');
    const dir = join(root, 'sbx-once');
    mkdirSync(dir, { recursive: true });
    mkfifo(join(dir, 'logs.fifo'));
    const child = writer(join(dir, 'logs.fifo'), fcLines.slice(0, 5).join('\n') + '\n', 'rw', true) as ChildProcess;
    await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
    const h = harness({ once: true });
    await new FifoSource({ roots: [root], ...fast }).run(h.ctx);
    expect(h.texts()).toEqual(fcLines.slice(0, 5));
    expect(h.batches[0]?.attributes?.[ATTR_KATA_SANDBOX_ID]).toBe('sbx-once');
  });
});
