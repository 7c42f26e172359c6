// FileSource on real files: following appends, startAt, globs, long lines, partial lines, UTF-8, errors, the
// open-file cap and the multi-line assembler's effect on checkpoints.
import { spawn } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, readdirSync, readlinkSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LineAssembler } from '../../receiver/parse/multiline.js';
import { checkpointPath } from '../../receiver/sources/checkpoint.js';
import { FileSource, SourceInputError, type FileCheckpoint } from '../../receiver/sources/file.js';
import {
  ATTR_KATA_LOG_TRUNCATED,
  ATTR_LOG_FILE_NAME,
  ATTR_LOG_FILE_PATH,
  ATTR_LOG_RECORD_UID,
} from '../../receiver/semconv/generated.js';
import { delay, expectExactlyOnce, follow, line, lines, uidOf, scratch } from './file-helpers.js';
import { harness } from './source-harness.js';

const runOnce = async (opts: ConstructorParameters<typeof FileSource>[0], checkpointDir?: string) => {
  const h = harness({ once: true, checkpointDir });
  const source = new FileSource({ startAt: 'beginning', ...opts });
  await source.run(h.ctx);
  return { h, source };
};

describe('FileSource: reading', () => {
  it('follows appends, with file attributes, a stable uid and the read counter', async () => {
    const dir = scratch();
    const f = join(dir, 'kata.log');
    writeFileSync(f, lines(0, 10));
    const r = follow({ include: [join(dir, '*.log')], startAt: 'beginning', attributes: { 'test.static': 'yes' } });
    await r.h.waitFor(() => r.h.texts().length === 10, '10 lines');
    appendFileSync(f, lines(10, 25));
    await r.h.waitFor(() => r.h.texts().length === 25, '25 lines');
    appendFileSync(f, line(25) + '\r\n'); // CRLF
    await r.h.waitFor(() => r.h.texts().length === 26, '26 lines');
    await r.stop();
    expectExactlyOnce(r.h.texts(), 26);
    expect(r.h.texts()[25]).toBe(line(25));
    const e = r.h.entries()[3];
    expect(e?.attributes?.[ATTR_LOG_FILE_PATH]).toBe(f);
    expect(e?.attributes?.[ATTR_LOG_FILE_NAME]).toBe('kata.log');
    expect(r.h.batches[0]?.attributes).toEqual({ 'test.static': 'yes' });
    const uids = r.h.entries().map(uidOf);
    expect(new Set(uids).size).toBe(26);
    expect(String(uids[1])).toMatch(/^[0-9a-f]{32}$/);
    expect(r.h.batches.every((b) => b.source === 'file')).toBe(true);

    // The same bytes read again (no checkpoint) give the same uids: downstream can drop a resent duplicate.
    const again = await runOnce({ include: [f] });
    expect(again.h.entries().map(uidOf)).toEqual(uids);
  });

  it('startAt end skips what is there at the first poll, but reads files created later from their beginning', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'old.log'), lines(0, 5));
    writeFileSync(join(dir, 'empty.log'), ''); // empty at the first poll: read from its beginning once it has data
    const r = follow({ include: [join(dir, '*.log')] });
    await r.h.waitFor(() => r.source.stats().openFiles === 1, 'old.log open');
    appendFileSync(join(dir, 'old.log'), lines(5, 8));
    writeFileSync(join(dir, 'new.log'), lines(100, 103));
    appendFileSync(join(dir, 'empty.log'), lines(200, 202));
    await r.h.waitFor(() => r.h.texts().length === 8, '8 lines');
    await delay(100);
    await r.stop();
    expect(r.h.texts().sort()).toEqual([5, 6, 7, 100, 101, 102, 200, 201].map((i) => line(i)).sort());
  });

  it('startAt beginning reads existing content; include and exclude globs select files (** and literal paths)', async () => {
    const dir = scratch();
    mkdirSync(join(dir, 'a', 'b'), { recursive: true });
    writeFileSync(join(dir, 'top.log'), 'top\n');
    writeFileSync(join(dir, 'top.txt'), 'txt\n');
    writeFileSync(join(dir, 'a', 'mid.log'), 'mid\n');
    writeFileSync(join(dir, 'a', 'b', 'deep.log'), 'deep\n');
    writeFileSync(join(dir, 'a', 'b', 'skip.log'), 'skip\n');
    writeFileSync(join(dir, 'literal.out'), 'literal\n');
    const { h } = await runOnce({
      include: [join(dir, '**/*.log'), join(dir, 'literal.out')],
      exclude: [join(dir, '**/skip.log')],
    });
    expect(h.texts().sort()).toEqual(['deep', 'literal', 'mid', 'top']);

    const shallow = await runOnce({ include: [join(dir, '*/*.log')] });
    expect(shallow.h.texts()).toEqual(['mid']);
  });

  it('cuts lines longer than maxLineBytes, marks them, and carries on with the next line', async () => {
    const dir = scratch();
    const f = join(dir, 'long.log');
    const long = 'é'.repeat(40_000) + 'TAIL'; // 80 KB of 2-byte characters, spread over several reads
    writeFileSync(f, `before\n${long}\nafter\n${'z'.repeat(5000)}`);
    const { h } = await runOnce({ include: [f], maxLineBytes: 1001 });
    const [a, cut, b, last] = h.entries();
    expect(h.entries()).toHaveLength(4);
    expect(a).toMatchObject({ text: 'before' });
    expect(a?.attributes?.[ATTR_KATA_LOG_TRUNCATED]).toBeUndefined();
    // Cut at a character boundary: 500 characters = 1000 bytes, no half 'é'.
    expect(cut).toMatchObject({ text: 'é'.repeat(500) });
    expect(cut?.attributes?.[ATTR_KATA_LOG_TRUNCATED]).toBe(true);
    expect(b).toMatchObject({ text: 'after' });
    // A last line without newline is flushed at EOF in once mode, cut as well.
    expect(last).toMatchObject({ text: 'z'.repeat(1001) });
    expect(last?.attributes?.[ATTR_KATA_LOG_TRUNCATED]).toBe(true);
  });

  it('replaces invalid UTF-8 with U+FFFD and keeps multi-byte characters split across reads', async () => {
    const dir = scratch();
    const f = join(dir, 'bin.log');
    const filler = 'a'.repeat(128 * 1024 - 1); // the 4-byte character straddles the first 128 KiB read
    writeFileSync(
      f,
      Buffer.concat([
        Buffer.from('ok \xff\xfe bad\n', 'latin1'),
        Buffer.from(`${filler}😀x\n`),
        Buffer.from([0xc3, 0x0a]), // a lead byte and then the newline
      ]),
    );
    const { h } = await runOnce({ include: [f], maxLineBytes: 1 << 20 });
    expect(h.texts()).toEqual(['ok \ufffd\ufffd bad', `${filler}😀x`, '\ufffd']);
  });

  it('flushes a last line without newline after flushTimeoutMs; the rest of that line becomes its own entry', async () => {
    const dir = scratch();
    const f = join(dir, 'partial.log');
    writeFileSync(f, 'complete\nhalf a li');
    const r = follow({ include: [f], startAt: 'beginning', flushTimeoutMs: 150 });
    await r.h.waitFor(() => r.h.texts().length === 2, 'partial line flushed');
    expect(r.h.texts()).toEqual(['complete', 'half a li']);
    appendFileSync(f, 'ne\nnext\n');
    await r.h.waitFor(() => r.h.texts().length === 4, 'continuation');
    await r.stop();
    expect(r.h.texts()).toEqual(['complete', 'half a li', 'ne', 'next']);
    // The checkpoint is past everything, the flushed part included.
    const cp = JSON.parse(readFileSync(checkpointPath(r.h.ctx.checkpointDir, 'file'), 'utf8')) as FileCheckpoint;
    expect(Object.values(cp.files)).toEqual([expect.objectContaining({ path: f, offset: readFileSync(f).length })]);
  });

  it('tracks a file shorter than the fingerprint as it grows past it, across a restart (checkpoint format)', async () => {
    const dir = scratch();
    const f = join(dir, 'short.log');
    const cpDir = join(dir, 'cp');
    writeFileSync(f, lines(0, 3)); // ~100 bytes < 1024
    const r = follow({ include: [f], startAt: 'beginning' }, harness({ checkpointDir: cpDir }));
    await r.h.waitFor(() => r.h.texts().length === 3, '3 lines');
    await r.stop();
    const cp = JSON.parse(readFileSync(checkpointPath(cpDir, 'file'), 'utf8')) as FileCheckpoint;
    const size = lines(0, 3).length;
    expect(cp.version).toBe(1);
    expect(Object.keys(cp.files)).toEqual([expect.stringMatching(new RegExp(`^[0-9a-f]{32}:${size}$`))]);
    expect(Object.values(cp.files)[0]).toMatchObject({ path: f, offset: size, inode: expect.any(Number) });

    appendFileSync(f, lines(3, 100)); // now > 1024 bytes: the stored key is a prefix of the new fingerprint
    const again = await runOnce({ include: [f], startAt: 'end' }, cpDir);
    expectExactlyOnce([...r.h.texts(), ...again.h.texts()], 100);
    const after = JSON.parse(readFileSync(checkpointPath(cpDir, 'file'), 'utf8')) as FileCheckpoint;
    expect(Object.keys(after.files)).toEqual([expect.stringMatching(/^[0-9a-f]{32}:1024$/)]);
    // Same uid for the same entry whichever fingerprint length was known when it was read.
    const all = await runOnce({ include: [f] });
    expect(all.h.entries().slice(0, 3).map(uidOf)).toEqual(r.h.entries().map(uidOf));
  });

  it('forgets checkpoints of files not seen for forgetAfterMs, and keeps at most maxCheckpoints', async () => {
    const dir = scratch();
    const cpDir = join(dir, 'cp');
    const day = 24 * 3600 * 1000;
    const entry = (seen: number) => ({ path: '/gone.log', offset: 10, inode: 1, dev: 1, seen });
    const stale: FileCheckpoint = {
      version: 1,
      files: {
        ['a'.repeat(32) + ':1024']: entry(Date.now() - 2 * day),
        ['b'.repeat(32) + ':1024']: entry(Date.now() - 1000),
        ['c'.repeat(32) + ':1024']: entry(Date.now() - 2000),
      },
    };
    mkdirSync(cpDir);
    writeFileSync(checkpointPath(cpDir, 'file'), JSON.stringify(stale));
    writeFileSync(join(dir, 'live.log'), lines(0, 3));
    await runOnce({ include: [join(dir, 'live.log')], forgetAfterMs: day, maxCheckpoints: 2 }, cpDir);
    const cp = JSON.parse(readFileSync(checkpointPath(cpDir, 'file'), 'utf8')) as FileCheckpoint;
    // The two-day-old entry is forgotten; of the rest, the least recently seen goes to stay within 2.
    expect(
      Object.values(cp.files)
        .map((f) => f.path)
        .sort(),
    ).toEqual(['/gone.log', join(dir, 'live.log')]);
    expect(Object.keys(cp.files)).toContain('b'.repeat(32) + ':1024');
  });

  it('keeps the checkpoint before lines the assembler still holds, so a restart rebuilds the whole entry', async () => {
    const dir = scratch();
    const f = join(dir, 'panic.log');
    const cpDir = join(dir, 'cp');
    const panic = ['panic: boom', '', 'goroutine 1 [running]:', 'main.main()', '\t/src/main.go:5 +0x1d'];
    writeFileSync(f, `before\n${panic.join('\n')}\n`);
    // Follow mode with a long flush timeout: the panic stays held (it may go on) when the source stops.
    const r = follow(
      { include: [f], startAt: 'beginning', assembler: () => new LineAssembler(), flushTimeoutMs: 60_000 },
      harness({ checkpointDir: cpDir }),
    );
    await r.h.waitFor(() => r.h.texts().length === 1, 'first entry');
    await delay(100);
    await r.stop();
    expect(r.h.texts()).toEqual(['before']);
    const cp = JSON.parse(readFileSync(checkpointPath(cpDir, 'file'), 'utf8')) as FileCheckpoint;
    expect(Object.values(cp.files)[0]?.offset).toBe('before\n'.length);

    appendFileSync(f, 'after\n');
    const again = await runOnce({ include: [f], assembler: () => new LineAssembler() }, cpDir);
    expect(again.h.texts()).toEqual([panic.join('\n'), 'after']);
    // The entry's uid is the offset of its first line.
    const uid = String(again.h.entries()[0]?.attributes?.[ATTR_LOG_RECORD_UID]);
    expect(parseInt(uid.slice(16), 16)).toBe('before\n'.length);
  });

  it('holds at most maxOpenFiles descriptors and still reads every file', async () => {
    const dir = scratch();
    const n = 30;
    for (let i = 0; i < n; i++) writeFileSync(join(dir, `f${i}.log`), line(i * 1000) + '\n');
    const openInDir = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir + '/');
        } catch {
          return false;
        }
      }).length;
    let maxSeen = 0;
    const h = harness({
      emit: async () => {
        maxSeen = Math.max(maxSeen, openInDir());
      },
    });
    const r = follow({ include: [join(dir, '*.log')], startAt: 'beginning', maxOpenFiles: 4 }, h);
    await r.h.waitFor(() => r.h.texts().length === n, 'first round');
    for (let round = 1; round < 3; round++) {
      for (let i = 0; i < n; i++) appendFileSync(join(dir, `f${i}.log`), line(i * 1000 + round) + '\n');
      await r.h.waitFor(() => r.h.texts().length === n * (round + 1), `round ${round}`);
    }
    await r.stop();
    expect(maxSeen).toBeGreaterThan(0);
    expect(maxSeen).toBeLessThanOrEqual(4);
    const got = r.h.texts().map((t) => Number(/seq=(\d+)/.exec(t)?.[1]));
    const want = [];
    for (let i = 0; i < n; i++) for (let round = 0; round < 3; round++) want.push(i * 1000 + round);
    expect(got.sort((a, b) => a - b)).toEqual(want);
  });

  it('hands one batch at a time downstream (backpressure) and keeps batches within batchMaxEntries', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'a.log'), lines(0, 3000));
    writeFileSync(join(dir, 'b.log'), lines(3000, 6000));
    let inFlight = 0;
    let maxInFlight = 0;
    const h = harness({
      emit: async () => {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await delay(5);
        inFlight--;
      },
    });
    const r = follow({ include: [join(dir, '*.log')], startAt: 'beginning', batchMaxEntries: 500 }, h);
    await h.waitFor(() => h.texts().length === 6000, 'all lines');
    await r.stop();
    expectExactlyOnce(h.texts(), 6000);
    expect(maxInFlight).toBe(1);
    expect(Math.max(...h.batches.map((b) => b.entries.length))).toBeLessThanOrEqual(500);
  });
});

describe('FileSource: input errors', () => {
  it('validate() throws SourceInputError naming missing literal paths; globs are not checked', () => {
    const dir = scratch();
    writeFileSync(join(dir, 'here.log'), 'x\n');
    const src = new FileSource({ include: [join(dir, 'here.log'), join(dir, 'gone.log'), join(dir, 'none-*.log')] });
    expect(src.missingInputs()).toEqual([join(dir, 'gone.log')]);
    expect(() => src.validate()).toThrow(SourceInputError);
    expect(() => src.validate()).toThrow(/gone\.log/);
    expect(() => new FileSource({ include: [join(dir, 'here.log')] }).validate()).not.toThrow();
  });

  it('logs a directory, a missing file and a glob without matches in once mode, and reads the other files', async () => {
    const dir = scratch();
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'good.log'), 'good\n');
    const { h, source } = await runOnce({
      include: [join(dir, 'logs'), join(dir, 'missing.log'), join(dir, 'nothing-*.log'), join(dir, 'good.log')],
    });
    expect(h.texts()).toEqual(['good']);
    expect(source.stats().errors).toBe(3);
    const msgs = h.logs.filter((l) => l.level === 'error');
    expect(msgs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: join(dir, 'logs'), fix: expect.stringContaining('/*.log') }),
        expect.objectContaining({ path: join(dir, 'missing.log') }),
        expect.objectContaining({ path: join(dir, 'nothing-*.log') }),
      ]),
    );
  });

  it('reports a file it may not read (as an unprivileged user) and keeps reading the others', async () => {
    if (process.getuid?.() !== 0) return; // needs root to run the child as nobody
    const dir = scratch();
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'secret.log'), 'secret\n', { mode: 0o600 });
    writeFileSync(join(dir, 'open.log'), 'open\n', { mode: 0o644 });
    const child = fileURLToPath(new URL('./file-child.ts', import.meta.url));
    const out = join(dir, 'out');
    mkdirSync(out, { mode: 0o777 });
    chmodSync(out, 0o777);
    const proc = spawn(process.execPath, ['--import', 'tsx', child], {
      uid: 65534,
      gid: 65534,
      env: {
        ...process.env,
        CHILD_INCLUDE: join(dir, '*.log'),
        CHILD_OUT: join(out, 'entries.jsonl'),
        CHILD_CHECKPOINTS: join(out, 'cp'),
        CHILD_ONCE: '1',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => proc.on('close', r));
    expect(code, stderr).toBe(0);
    const texts = readFileSync(join(out, 'entries.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { text: string }).text);
    expect(texts).toEqual(['open']);
    expect(stderr).toContain('secret.log');
    expect(stderr).toContain('grant kata-otel read permission');
  });
});
