// Byte stream → lines, shared by every source that reads a stream (files, sockets, FIFOs, journalctl's stdout).
// Hand-written because it is on the hot path and the rules are ours: split on '\n' only, drop one trailing '\r'
// (Cloud Hypervisor ends lines with "\r\n"), decode UTF-8 only once a line is complete so a multi-byte character
// split across two reads stays intact, replace invalid UTF-8 with U+FFFD (never throw), and cut a line longer
// than `maxLineBytes` at a character boundary, dropping the rest up to its newline and flagging it truncated.

/** Default longest line kept, in bytes (Kata's agent `announce` record with the whole config is ~10 KiB). */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

export interface Line {
  text: string;
  /** The line was longer than `maxLineBytes`; `text` holds its first `maxLineBytes` bytes (or fewer, at a character boundary). */
  truncated: boolean;
}

const NL = 0x0a;
const CR = 0x0d;

export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private truncated = false;

  constructor(private readonly maxLineBytes: number = DEFAULT_MAX_LINE_BYTES) {
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) {
      throw new RangeError(`maxLineBytes must be a positive integer, got ${String(maxLineBytes)}`);
    }
  }

  /** Bytes held for the line not yet terminated by '\n'. */
  get pendingBytes(): number {
    return this.size;
  }

  /** Feed one chunk; returns the lines it completed, in order. */
  push(chunk: Buffer): Line[] {
    const out: Line[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      if (nl < 0) break;
      this.append(chunk.subarray(start, nl));
      out.push(this.take());
      start = nl + 1;
    }
    if (start < chunk.length) this.append(chunk.subarray(start));
    return out;
  }

  /** The unterminated tail as a line (end of input, or a writer that stopped mid-line), or undefined when none. */
  flush(): Line | undefined {
    if (this.size === 0 && !this.truncated) return undefined;
    return this.take();
  }

  private append(piece: Buffer): void {
    if (piece.length === 0) return;
    const room = this.maxLineBytes - this.size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    if (piece.length > room) {
      this.truncated = true;
      piece = piece.subarray(0, room);
    }
    this.parts.push(piece);
    this.size += piece.length;
  }

  private take(): Line {
    let buf = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.size);
    if (!this.truncated && buf.length > 0 && buf[buf.length - 1] === CR) buf = buf.subarray(0, -1);
    if (this.truncated) buf = buf.subarray(0, utf8Boundary(buf));
    const line = { text: buf.toString('utf8'), truncated: this.truncated };
    this.parts = [];
    this.size = 0;
    this.truncated = false;
    return line;
  }
}

/** Length of `buf` without a trailing incomplete UTF-8 sequence (so a cut never leaves half a character). */
export function utf8Boundary(buf: Buffer): number {
  const end = buf.length;
  // Walk back over at most 3 continuation bytes to the lead byte of the last character.
  let p = end - 1;
  while (p >= 0 && end - p <= 3 && ((buf[p] as number) & 0xc0) === 0x80) p--;
  if (p < 0) return end;
  const lead = buf[p] as number;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return p + need > end ? p : end;
}
