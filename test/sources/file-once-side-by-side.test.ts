// `--once` reads its files side by side, each in proportion to its size, so two files covering the same period
// (the shim's copy and containerd's copy of the same records) stay close together in the stream and duplicate
// suppression, whose window is bounded, sees both copies of every record.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseText } from '../../receiver/parse/index.js';
import { DedupeStage } from '../../receiver/pipeline/dedupe.js';
import { FileSource } from '../../receiver/sources/file.js';
import { harness, tempDir } from './source-harness.js';

const N = 40_000;
const time = (i: number) =>
  `2024-05-01T10:${String(Math.floor(i / 1000) % 60).padStart(2, '0')}:00.${String(i).padStart(9, '0')}`;

describe('FileSource --once over several files', () => {
  it('reads them side by side in proportion to their sizes, every line once', async () => {
    const dir = tempDir();
    const shim = join(dir, 'a-shim.log');
    const ctrd = join(dir, 'b-containerd.log');
    const small = join(dir, 'c-small.log');
    const body = (i: number) => `level=info msg="record ${i}" sandbox=${'f'.repeat(64)} source=virtcontainers`;
    writeFileSync(shim, Array.from({ length: N }, (_, i) => `time="${time(i)}Z" ${body(i)}\n`).join(''));
    // containerd's copy: a longer prefix per line, so the files differ in size but not in what they cover
    writeFileSync(
      ctrd,
      Array.from(
        { length: N },
        (_, i) => `May 01 10:00:00 node containerd[1024]: time="${time(i)}Z" ${body(i)}\n`,
      ).join(''),
    );
    writeFileSync(small, 'one\ntwo\n');
    const h = harness({ once: true });
    await new FileSource({ include: [join(dir, '*.log')], startAt: 'beginning' }).run(h.ctx);

    const order = h.entries().map((e) => (e.kind === 'text' ? e.text : ''));
    expect(order).toHaveLength(2 * N + 2);
    const seen = { shim: 0, ctrd: 0 };
    let worst = 0;
    for (const t of order) {
      if (t.includes('containerd[')) seen.ctrd++;
      else if (t.startsWith('time=')) seen.shim++;
      worst = Math.max(worst, Math.abs(seen.shim - seen.ctrd));
    }
    expect(seen).toEqual({ shim: N, ctrd: N });
    // One turn moves the largest file 1 MiB (~8k lines here) and the other by the same fraction.
    expect(worst).toBeLessThan(N / 3);
    // The small file is read in the first turn, not after the others.
    expect(order.indexOf('one')).toBeLessThan(N / 2);
  });

  it('lets duplicate suppression see both copies of every record of a backlog larger than its window', async () => {
    const dir = tempDir();
    const line = (i: number, ts: string) =>
      `time="${ts}" level=debug msg="request end" name=containerd-shim-v2 pid=42 sandbox=sb${i % 7} source=virtcontainers subsystem=kata_agent n=${i}\n`;
    const nanos = (i: number) => String(i * 1000 + 7);
    writeFileSync(
      join(dir, 'shim.log'),
      Array.from({ length: N }, (_, i) =>
        line(
          i,
          `2024-05-01T10:00:${String(Math.floor(i / 1000)).padStart(2, '0')}.${nanos(i % 1000)
            .padStart(6, '0')
            .replace(/0+$/, '')}-07:00`,
        ),
      ).join(''),
    );
    writeFileSync(
      join(dir, 'containerd.log'),
      Array.from(
        { length: N },
        (_, i) =>
          `May 01 10:00:00 node containerd[1024]: ` +
          line(
            i,
            `2024-05-01T10:00:${String(Math.floor(i / 1000)).padStart(2, '0')}.${nanos(i % 1000).padStart(6, '0')}000-07:00`,
          ),
      ).join(''),
    );
    const stage = new DedupeStage({ maxKeys: 10_000 });
    let kept = 0;
    const h = harness({
      once: true,
      emit: async (b) => {
        const recs = b.entries.flatMap((e) =>
          e.kind === 'text' ? parseText(e.text, { observedTimeUnixNano: 1n }) : [],
        );
        kept += stage.process(recs).length;
      },
    });
    await new FileSource({ include: [join(dir, '*.log')], startAt: 'beginning' }).run(h.ctx);
    expect(h.entries()).toHaveLength(2 * N);
    expect(stage.suppressed).toBe(N);
    expect(kept).toBe(N);
  });
});
