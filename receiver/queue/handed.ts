// The disk queue's export record (`handed.json`): per segment, the end of the furthest frame this queue handed to
// its exporter or released itself (dropped, found damaged). It is saved before every acks.json and read before
// acks.json is trusted: an acknowledgement that covers frames beyond it, or names a segment it does not know,
// was not written by this queue (an edit that would drop queued records unsent), so it is refused (those frames
// are sent again: the safe direction) and logged.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../safefs/index.js';
import type { Logger } from '../telemetry/log.js';

export const HANDED_FILE = 'handed.json';

export type Acks = Map<string, { upTo: number; done: Set<number> }>;

export class HandedRecord {
  private readonly ends = new Map<string, number>();
  private lastText = '';

  constructor(private readonly dir: string) {}

  /** Frames [.., end) of `segment` were handed to the exporter or released by the queue. */
  note(segment: string, end: number): void {
    if ((this.ends.get(segment) ?? -1) < end) this.ends.set(segment, end);
  }

  forget(segment: string): void {
    this.ends.delete(segment);
  }

  async load(log: Logger): Promise<void> {
    let text: string;
    try {
      text = await readFile(join(this.dir, HANDED_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn('cannot read the queue export record', { err });
      return;
    }
    try {
      const doc = JSON.parse(text) as { version?: unknown; segments?: Record<string, unknown> };
      if (doc.version !== 1 || typeof doc.segments !== 'object' || doc.segments === null) throw new Error('bad shape');
      for (const [name, end] of Object.entries(doc.segments))
        if (Number.isSafeInteger(end)) this.note(name, end as number);
    } catch (err) {
      log.warn('the queue export record is damaged; acknowledgements it would vouch for are refused', { err });
    }
  }

  /** The acknowledgements this record vouches for; the others are dropped from `acks` and logged. */
  check(acks: Acks, log: Logger, file: string): void {
    const refused: { segment: string; reason: string }[] = [];
    for (const [name, a] of acks) {
      const end = this.ends.get(name);
      let reason: string | undefined;
      if (end === undefined) reason = 'no export record for this segment';
      else if (a.upTo > end)
        reason = `acknowledged up to byte ${a.upTo}, but only frames up to byte ${end} were handed to the exporter`;
      else {
        const beyond = [...a.done].find((o) => o >= end);
        if (beyond !== undefined) reason = `acknowledges the frame at byte ${beyond}, never handed to the exporter`;
      }
      if (reason) {
        refused.push({ segment: name, reason });
        acks.delete(name);
      }
    }
    if (refused.length)
      log.error(
        'acks.json acknowledges queued frames that were never exported; refused, those frames will be sent (acks.json was edited, or written by an older kata-otel)',
        { file, refused },
      );
  }

  /** Written (and synced when `sync`) before acks.json, so every acknowledgement saved is covered. */
  async save(segments: Iterable<string>, sync: boolean): Promise<void> {
    const live = new Set(segments);
    for (const k of [...this.ends.keys()]) if (!live.has(k)) this.ends.delete(k);
    const text = JSON.stringify({ version: 1, segments: Object.fromEntries(this.ends) });
    if (text === this.lastText) return;
    // Like acks.json: an O_EXCL|O_NOFOLLOW temporary renamed into place (safefs), never opened through a planted link.
    await writeFileAtomic(join(this.dir, HANDED_FILE), text, { sync: sync ? 'data' : 'none' });
    this.lastText = text;
  }
}
