// Bytes → logical entries with the byte offsets a resumable source needs, shared by the file and stdin sources.
// Splitting, '\r\n', UTF-8 and long-line rules are LineSplitter's (receiver/sources/lines.ts); this adds what a
// checkpoint needs on top: where each line starts and ends in the stream, and which lines a multi-line assembler
// still holds, so the durable offset never passes a line that has not been handed downstream inside an entry.
import { isAscii } from 'node:buffer';
import { LineSplitter } from '../lines.js';

/** Groups physical lines into entries (receiver/parse/multiline.ts `LineAssembler` has this shape). */
export interface EntryAssembler {
  /** Feed one line (without its newline); returns the entries it completed. */
  push(line: string): string[];
  /** Everything held, as entries (end of input, idle timeout). */
  flush(): string[];
  /** Lines held in an unfinished entry. */
  pendingLines(): number;
}
export type AssemblerFactory = () => EntryAssembler;

export interface FramedEntry {
  text: string;
  /** One of its lines was longer than maxLineBytes and was cut. */
  truncated: boolean;
  /** Byte offset where the entry's first line starts. */
  offset: number;
  /** Byte offset just past the entry's first line. */
  firstLineEnd: number;
  /** The durable offset once this entry and every entry before it are delivered. */
  resume: number;
}

interface HeldLine {
  start: number;
  end: number;
  truncated: boolean;
}

const NL = 0x0a;
const CR = 0x0d;
/**
 * Bytes decoded into one string at a time. A string longer than ~128 KiB is allocated in V8's large-object space,
 * which costs several times the decode itself; and every line is a slice of its piece, so a line (or a value cut
 * from it) that something keeps keeps the whole piece alive: 64 KiB pieces cost ~20 MB more peak RSS on the bench's
 * logfmt backlog than 16 KiB ones (bench/README.md), for no measurable speed.
 */
const SEGMENT = 16 * 1024;
const PLACEHOLDER: HeldLine = { start: 0, end: 0, truncated: false };

export class EntryFramer {
  private readonly splitter: LineSplitter;
  /** Offset of the first byte after the chunks fed so far. */
  private pos: number;
  /** Offset where the unterminated line starts (== pos when none). */
  private lineStart: number;
  /** Lines pushed to the assembler and not yet returned inside an entry, oldest first. */
  private held: HeldLine[] = [];

  constructor(
    private readonly maxLineBytes: number,
    offset: number,
    private readonly assembler?: EntryAssembler,
  ) {
    this.splitter = new LineSplitter(maxLineBytes);
    this.pos = offset;
    this.lineStart = offset;
  }

  /** Offset just past the last byte fed. */
  get position(): number {
    return this.pos;
  }

  /** Where a restart must begin so no line is lost: the first byte not yet inside a produced entry. */
  durableOffset(): number {
    return this.held[0]?.start ?? this.lineStart;
  }

  /** Bytes of an unterminated line or lines held by the assembler are waiting. */
  hasPending(): boolean {
    return this.splitter.pendingBytes > 0 || this.held.length > 0;
  }

  /**
   * Feed the next chunk of the stream; completed entries are appended to `out`. The chunk may be reused by the
   * caller afterwards (the unterminated tail is copied).
   */
  feed(chunk: Buffer, out: FramedEntry[]): void {
    let s = 0;
    const base = this.pos;
    if (this.splitter.pendingBytes > 0) {
      // The line begun in an earlier chunk ends in this one: finish it through the splitter.
      const nl = chunk.indexOf(NL);
      if (nl >= 0) s = this.splitLine(chunk, 0, nl, base, out);
    }
    if (this.splitter.pendingBytes === 0) {
      const last = chunk.lastIndexOf(NL);
      while (last >= s) {
        s = this.feedLines(chunk, s, last, base, out);
        if (s > last) break;
        // A line longer than maxLineBytes starts at s: the splitter cuts it, then the fast path goes on.
        s = this.splitLine(chunk, s, chunk.indexOf(NL, s), base, out);
      }
    }
    for (;;) {
      const nl = chunk.indexOf(NL, s);
      if (nl < 0) break;
      s = this.splitLine(chunk, s, nl, base, out);
    }
    if (s < chunk.length) {
      // Copy only what the splitter can keep (+1 byte so it still sees the line is too long).
      const room = this.maxLineBytes - this.splitter.pendingBytes;
      const take = Math.min(chunk.length - s, Math.max(0, room) + 1);
      this.splitter.push(Buffer.from(chunk.subarray(s, s + take)));
    }
    this.pos = base + chunk.length;
  }

  /** The line chunk[s, nl] (its end is the newline at `nl`) through the splitter: one line per push, so its start
   *  and end offsets are known exactly. Returns where the next line starts. */
  private splitLine(chunk: Buffer, s: number, nl: number, base: number, out: FramedEntry[]): number {
    const end = base + nl + 1;
    const line = this.splitter.push(chunk.subarray(s, nl + 1))[0];
    if (line) this.onLine(line.text, line.truncated, this.lineStart, end, out);
    this.lineStart = end;
    return nl + 1;
  }

  /**
   * The complete lines in chunk[from, last] (`last` is the last newline), split as strings instead of a Buffer
   * slice and a decode per line (the hot path of every backlog: bench/README.md). Each piece of at most SEGMENT
   * bytes is decoded once as latin1, where string offsets equal byte offsets. A line that holds a non-ASCII byte
   * (its UTF-8 length differs from its latin1 length) is decoded again from its own bytes as UTF-8, exactly as the
   * splitter would (invalid bytes become U+FFFD the same way); a piece that is all ASCII skips that check. Returns
   * where the per-line path continues: last + 1, or the start of a line longer than maxLineBytes (which the
   * splitter cuts).
   */
  private feedLines(chunk: Buffer, from: number, last: number, base: number, out: FramedEntry[]): number {
    let s = from;
    while (s <= last) {
      // The piece ends at a newline; one line longer than SEGMENT makes it longer.
      let nl = last;
      if (last - s > SEGMENT) {
        nl = chunk.lastIndexOf(NL, s + SEGMENT);
        if (nl < s) nl = chunk.indexOf(NL, s + SEGMENT);
      }
      const stop = this.feedPiece(chunk, s, nl, base, out);
      if (stop >= 0) return stop;
      s = nl + 1;
    }
    return last + 1;
  }

  /** Lines of chunk[from, nl] (`nl` is a newline); -1 when all went out, else where a too-long line starts. */
  private feedPiece(chunk: Buffer, from: number, nl: number, base: number, out: FramedEntry[]): number {
    const ascii = isAscii(chunk.subarray(from, nl));
    const text = chunk.toString('latin1', from, nl);
    const n = text.length;
    const max = this.maxLineBytes;
    for (let p = 0; p <= n;) {
      let e = text.indexOf('\n', p);
      if (e < 0) e = n;
      if (e - p > max) return from + p;
      const end = base + from + e + 1;
      const stop = e > p && text.charCodeAt(e - 1) === CR ? e - 1 : e;
      let line = text.slice(p, stop);
      if (!ascii && Buffer.byteLength(line, 'utf8') !== line.length)
        line = chunk.toString('utf8', from + p, from + stop);
      this.onLine(line, false, this.lineStart, end, out);
      this.lineStart = end;
      p = e + 1;
    }
    return -1;
  }

  /**
   * Emit the unterminated line (a writer idle past the flush timeout, or the end of input) and whatever the
   * assembler holds. Bytes that later complete that line start a new line of their own.
   */
  flush(out: FramedEntry[]): void {
    const tail = this.splitter.flush();
    if (tail) this.onLine(tail.text, tail.truncated, this.lineStart, this.pos, out);
    this.lineStart = this.pos;
    if (this.assembler) this.settle(this.assembler.flush(), 0, this.pos, out);
  }

  private onLine(text: string, truncated: boolean, start: number, end: number, out: FramedEntry[]): void {
    if (!this.assembler) {
      // Identity framing (hot path): one line, one entry; an empty line carries nothing.
      if (text.length > 0 || truncated) out.push({ text, truncated, offset: start, firstLineEnd: end, resume: end });
      return;
    }
    const done = this.assembler.push(text);
    const pending = this.assembler.pendingLines();
    if (this.held.length === 0 && pending === 0 && done.length === 1) {
      // The common case, settled without the bookkeeping below: nothing was held, the line is its own entry.
      const entry = done[0] as string;
      if (entry.length > 0) out.push({ text: entry, truncated, offset: start, firstLineEnd: end, resume: end });
      return;
    }
    this.held.push({ start, end, truncated });
    this.settle(done, pending, end, out);
  }

  /** The assembler returned `done` and now holds `pending` lines: the oldest held lines went into `done`. */
  private settle(done: string[], pending: number, fallback: number, out: FramedEntry[]): void {
    const keep = Math.max(0, Math.min(this.held.length, pending));
    const used = this.held.splice(0, this.held.length - keep);
    if (done.length === 0) return;
    const resume = this.held[0]?.start ?? fallback;
    let i = 0;
    for (let k = 0; k < done.length; k++) {
      const text = done[k] as string;
      const avail = used.length - i;
      const later = done.length - k - 1;
      // Which lines made this entry: the assembler joins lines with '\n', so count them; the last entry takes the
      // rest. Only an entry's first offset matters (its record uid), and this stays deterministic across re-reads.
      let n = later === 0 ? avail : Math.max(1, Math.min(countLines(text), avail - later));
      n = Math.max(0, Math.min(n, avail));
      const first = used[Math.min(i, used.length - 1)] ?? PLACEHOLDER;
      let truncated = false;
      for (let j = i; j < i + n; j++) if (used[j]?.truncated) truncated = true;
      i += n;
      if (text.length > 0) out.push({ text, truncated, offset: first.start, firstLineEnd: first.end, resume });
    }
  }
}

function countLines(text: string): number {
  let n = 1;
  for (let p = text.indexOf('\n'); p >= 0; p = text.indexOf('\n', p + 1)) n++;
  return n;
}
