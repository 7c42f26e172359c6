// StdinSource: a real child process pipe to EOF, backpressure, the partial-line timeout, abort, the assembler.
import { spawn } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LineAssembler } from '../../receiver/parse/multiline.js';
import { StdinSource } from '../../receiver/sources/stdin.js';
import { ATTR_KATA_LOG_TRUNCATED } from '../../receiver/semconv/generated.js';
import { delay, expectExactlyOnce, line, lines } from './file-helpers.js';
import { harness } from './source-harness.js';

describe('StdinSource', () => {
  it('reads lines from a child process pipe and ends at EOF', async () => {
    const script = `
      const w = (s) => process.stdout.write(s);
      let s = '';
      for (let i = 0; i < 20000; i++) s += 'seq=' + i + ' ${'x'.repeat(24)}' + (i % 2 ? '\\r\\n' : '\\n');
      w(s);
      w(Buffer.from([0x62, 0x61, 0x64, 0xff, 0x0a]));
      w('L'.repeat(3000) + '\\n');
      w('no newline at the end');
    `;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const h = harness();
    await new StdinSource({ stream: child.stdout, maxLineBytes: 1000 }).run(h.ctx);
    const texts = h.texts();
    expectExactlyOnce(texts.slice(0, 20000), 20000);
    expect(texts[1]).toBe(line(1));
    expect(texts.slice(20000)).toEqual(['bad\ufffd', 'L'.repeat(1000), 'no newline at the end']);
    expect(h.entries()[20001]?.attributes?.[ATTR_KATA_LOG_TRUNCATED]).toBe(true);
    expect(h.batches.every((b) => b.source === 'stdin')).toBe(true);
  });

  it('reads nothing more while an emit is pending (backpressure)', async () => {
    const total = 4 * 1024 * 1024;
    const chunk = Buffer.from(lines(0, 1000)); // ~33 KB
    let pulled = 0;
    let i = 0;
    const stream = new Readable({
      highWaterMark: 64 * 1024,
      read() {
        if (pulled >= total) return void this.push(null);
        pulled += chunk.length;
        // Renumber so every line is unique across chunks.
        this.push(Buffer.from(lines(i * 1000, ++i * 1000)));
      },
    });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let pending = false;
    let pulledWhileHeld = 0;
    const h = harness({
      emit: async () => {
        if (!pending && h.batches.length === 0) {
          pending = true;
          pulledWhileHeld = pulled;
          await held;
        }
      },
    });
    const done = new StdinSource({ stream, batchMaxEntries: 500 }).run(h.ctx);
    await h.waitFor(() => pending, 'first batch held');
    for (let k = 0; k < 20; k++) await delay(5);
    // Without backpressure the whole 4 MiB would have been pulled by now.
    expect(pulled - pulledWhileHeld).toBeLessThanOrEqual(128 * 1024);
    expect(pulled).toBeLessThan(total / 4);
    release();
    await done;
    expectExactlyOnce(h.texts(), i * 1000);
  });

  it('emits a last line without newline after flushTimeoutMs while the stream stays open', async () => {
    const stream = new PassThrough();
    const h = harness();
    const done = new StdinSource({ stream, flushTimeoutMs: 100, batchFlushMs: 10 }).run(h.ctx);
    stream.write('first\nhalf');
    await h.waitFor(() => h.texts().length === 2, 'partial line');
    expect(h.texts()).toEqual(['first', 'half']);
    stream.write(' rest\nlast\n');
    stream.end();
    await done;
    expect(h.texts()).toEqual(['first', 'half', ' rest', 'last']);
  });

  it('groups multi-line entries with an injected assembler and flushes what it holds on abort', async () => {
    const stream = new PassThrough();
    const h = harness();
    const done = new StdinSource({
      stream,
      assembler: () => new LineAssembler(),
      flushTimeoutMs: 60_000,
      batchFlushMs: 10,
    }).run(h.ctx);
    stream.write('before\npanic: boom\n\ngoroutine 1 [running]:\nmain.main()\n');
    await h.waitFor(() => h.texts().length === 1, 'first entry');
    h.controller.abort();
    await done;
    expect(h.texts()).toEqual(['before', 'panic: boom\n\ngoroutine 1 [running]:\nmain.main()']);
    expect(stream.destroyed).toBe(true);
  });
});
