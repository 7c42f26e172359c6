// The file source's poller (receiver/sources/file/poller.ts): polls back to back while a poll leaves bytes unread,
// runs discovery only beside a poll that is reading, stops on abort; decides when an idle file's last line is
// flushed and when an orphan is closed; and shares once-mode reading between files by what each has left.
import { describe, expect, it } from 'vitest';
import { EntryFramer } from '../../receiver/sources/file/framer.js';
import { ONCE_TURN_BYTES, Poller, sideBySide } from '../../receiver/sources/file/poller.js';
import type { Tracked } from '../../receiver/sources/file/tracker.js';

/** An open file's state as the idle rule sees it; `partial` feeds a last line without newline. */
function openFile(over: Partial<Tracked>, partial = ''): Tracked {
  const framer = new EntryFramer(1 << 20, 0);
  const bytes = Buffer.from(`done\n${partial}`);
  framer.feed(bytes, []);
  return {
    key: '',
    fp: bytes,
    fpLen: bytes.length,
    path: '/var/log/app.log',
    name: 'app.log',
    dev: 1,
    ino: 1,
    birthMs: 0,
    offset: 0,
    committed: 0,
    seen: 0,
    framer,
    pos: bytes.length,
    size: bytes.length,
    mtimeMs: 0,
    lastGrowth: 0,
    lastActive: 0,
    deleted: false,
    ...over,
  };
}

describe('file poller', () => {
  it('flushes a last line without newline only at the end of the file and after flushTimeoutMs without growth', () => {
    const p = new Poller({ pollIntervalMs: 200, flushTimeoutMs: 500 });
    expect(p.idle(openFile({ lastGrowth: 1000 }, 'half a li'), 1499)).toBeUndefined();
    expect(p.idle(openFile({ lastGrowth: 1000 }, 'half a li'), 1500)).toBe('flush');
    expect(p.idle(openFile({ lastGrowth: 1000 }), 5000)).toBeUndefined(); // nothing held
    expect(p.idle(openFile({ lastGrowth: 1000, size: 1 << 20 }, 'half a li'), 5000)).toBeUndefined(); // more to read
  });

  it('closes an orphan only after it stayed idle for max(1 s, 5 polls, flushTimeoutMs) since it grew or was orphaned', () => {
    const p = new Poller({ pollIntervalMs: 300, flushTimeoutMs: 500 });
    expect(p.orphanLingerMs).toBe(1500);
    // Renamed away at 10 000 after it last grew at 9 000: the writer may still write into it for a moment.
    const t = openFile({ lastGrowth: 9000, orphanSince: 10_000 });
    expect(p.idle(t, 11_499)).toBeUndefined();
    expect(p.idle(t, 11_500)).toBe('close');
    t.lastGrowth = 11_000; // it grew after the rename: the linger starts again
    expect(p.idle(t, 12_499)).toBeUndefined();
    expect(p.idle(t, 12_500)).toBe('close');
    expect(new Poller({ pollIntervalMs: 10, flushTimeoutMs: 0 }).orphanLingerMs).toBe(1000);
  });

  it('polls again at once while a poll leaves bytes unread, runs discovery only beside a reading poll, stops on abort', async () => {
    const p = new Poller({ pollIntervalMs: 5, flushTimeoutMs: 0 });
    const controller = new AbortController();
    const events: string[] = [];
    let polls = 0;
    let discovered!: () => void;
    const discoveredDuringRead = new Promise<void>((r) => (discovered = r));
    await p.follow(
      controller.signal,
      async () => {
        polls++;
        events.push(`poll ${polls}`);
        if (polls === 1) {
          // Busy without reading (listing, fingerprinting) for several intervals: no discovery yet.
          await new Promise((r) => setTimeout(r, 30));
          return true; // bytes left: the next poll starts without sleeping
        }
        p.startedReading();
        await discoveredDuringRead; // a long read: discovery must run meanwhile
        controller.abort();
        return false;
      },
      async () => {
        events.push('discover');
        discovered();
      },
    );
    expect(events.slice(0, 3)).toEqual(['poll 1', 'poll 2', 'discover']);
    expect(polls).toBe(2);
  });

  it('once mode: each turn, every file advances in proportion to what it had left, so all reach their end together', () => {
    const files = [
      { pos: 0, size: 10 * ONCE_TURN_BYTES },
      { pos: 500, size: 500 + 2 * ONCE_TURN_BYTES },
      { pos: 7, size: 7 }, // nothing left: one byte per turn, so it is read (to its end) and closed at once
    ];
    const share = sideBySide(files);
    expect(share(0, 1, 0)).toBe(ONCE_TURN_BYTES);
    expect(share(1, 1, 500)).toBe(0.2 * ONCE_TURN_BYTES);
    expect(share(2, 1, 7)).toBe(1);
    // A file that read past its share (a line straddling it) gets less next turn, not a growing lag.
    expect(share(1, 2, 500 + 0.3 * ONCE_TURN_BYTES)).toBeCloseTo(0.1 * ONCE_TURN_BYTES);
    let turns = 0;
    const pos = files.map((f) => f.pos);
    while (pos[0]! < files[0]!.size || pos[1]! < files[1]!.size) {
      turns++;
      for (const i of [0, 1]) pos[i] = Math.min(files[i]!.size, pos[i]! + share(i, turns, pos[i]!));
    }
    expect(turns).toBe(10);
  });
});
