// The counting OTLP receiver (sink.ts) as its own process, driven over its stdin/stdout line protocol: `reset`,
// `stats`, `latency N`. Shared by the bench's entry point (run.ts) and path (f) (versus.ts).
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { LatencyStats } from './latency.js';
import type { SinkStats } from './sink.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

export class Sink {
  private constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, null>,
    private readonly lines: Interface,
    readonly port: number,
    readonly window: string,
  ) {}

  static async start(script: string): Promise<Sink> {
    const child = spawn(process.execPath, [script], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout });
    const first = await new Promise<string>((res, rej) => {
      lines.once('line', res);
      child.once('exit', (c) => rej(new Error(`bench sink exited (${c}) before listening`)));
    });
    const ready = JSON.parse(first) as { port: number; window: string };
    return new Sink(child, lines, ready.port, ready.window);
  }

  private ask(cmd: string): Promise<string> {
    return new Promise((res) => {
      this.lines.once('line', res);
      this.child.stdin.write(cmd + '\n');
    });
  }
  async reset(): Promise<void> {
    await this.ask('reset');
  }
  async stats(): Promise<SinkStats> {
    return JSON.parse(await this.ask('stats')) as SinkStats;
  }
  async latency(written: number): Promise<LatencyStats> {
    return JSON.parse(await this.ask(`latency ${written}`)) as LatencyStats;
  }
  stop(): void {
    this.child.stdin.end();
  }
}
