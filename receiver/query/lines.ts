// Byte-exact line access to OTLP/JSON lines files: the index keeps (offset, length) of each line, so a query
// reads back only the lines it needs. Hand-written over readline because readline loses byte offsets.
import { open, type FileHandle } from 'node:fs/promises';

const CHUNK = 1 << 20;

/** Every complete ('\n'-terminated) line from `start`; `end` is the offset just past the last complete line. */
export async function scanLines(
  path: string,
  start: number,
  onLine: (line: Buffer, offset: number) => void,
): Promise<{ end: number }> {
  const fh = await open(path, 'r');
  try {
    let pos = start;
    let carry: Buffer = Buffer.alloc(0);
    let carryAt = start;
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      const data = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
      let from = 0;
      for (let nl = data.indexOf(10, from); nl >= 0; nl = data.indexOf(10, from)) {
        onLine(data.subarray(from, nl), carryAt + from);
        from = nl + 1;
      }
      carryAt += from;
      carry = Buffer.from(data.subarray(from)); // copy: `buf` is reused
    }
    return { end: carryAt };
  } finally {
    await fh.close();
  }
}

/** Positioned reads of single lines from one file. */
export class LineReader {
  private constructor(private readonly fh: FileHandle) {}

  static async open(path: string): Promise<LineReader> {
    return new LineReader(await open(path, 'r'));
  }

  async read(offset: number, length: number): Promise<string> {
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await this.fh.read(buf, got, length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.toString('utf8', 0, got);
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}
