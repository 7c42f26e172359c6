// File identity by content (the Collector's fileconsumer design): the first `fingerprintBytes` bytes of a file.
// A path or an inode is not an identity: rotation moves paths, and inodes are reused after deletion.
import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

const KEY_RE = /^[0-9a-f]{32}:(\d+)$/;

function sha256hex(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Checkpoint key of a fingerprint: hex of its hash, ':' and its length (a short file's key changes as it grows). */
export function fingerprintKey(fp: Buffer): string {
  return `${sha256hex(fp).slice(0, 32)}:${fp.length}`;
}

/** Fingerprint length encoded in a key, or undefined when `key` is not a fingerprint key. */
export function keyLength(key: string): number | undefined {
  const m = KEY_RE.exec(key);
  return m ? Number(m[1]) : undefined;
}

/** 64-bit hex id of a fingerprint prefix (the first half of a record uid). */
export function fingerprintId(fp: Buffer): string {
  return sha256hex(fp).slice(0, 16);
}

/**
 * `log.record.uid` of the entry starting at `offset`: the fingerprint id followed by the offset as 16 hex digits
 * (128 bits, like a trace id). Concatenated rather than hashed again: it is unique per (file identity, offset)
 * already, and it costs no hash per record on the hot path.
 */
export function recordUid(fpId: string, offset: number): string {
  const hex = offset.toString(16);
  // A table of zero runs rather than padStart, which builds its padding anew per record (the hot path).
  return fpId + (ZEROS[hex.length] ?? '') + hex;
}

/** ZEROS[n]: the zeros that pad n hex digits to 16. */
const ZEROS = Array.from({ length: 17 }, (_, n) => '0'.repeat(16 - n));

/** True when the shorter of `a` and `b` is a prefix of the longer (a file shorter than the fingerprint size). */
export function prefixMatch(a: Buffer, b: Buffer): boolean {
  const n = Math.min(a.length, b.length);
  return n > 0 && a.compare(b, 0, n, 0, n) === 0;
}

/** True when `a` is a prefix of (or equal to) `b`. */
export function isPrefixOf(a: Buffer, b: Buffer): boolean {
  return a.length > 0 && a.length <= b.length && a.compare(b, 0, a.length, 0, a.length) === 0;
}

/**
 * The first `n` bytes of an open regular file (fewer at its end), read synchronously: the truncation check reads
 * them from every file that grew, every poll, and a thread-pool round trip costs ~15 µs of CPU where a `pread` of a
 * cached page costs ~2 µs (bench/README.md "Wakeups"). Only for descriptors of regular files (never a FIFO).
 */
export function readHeadSync(fd: number, n: number): Buffer {
  const buf = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    const bytesRead = readSync(fd, buf, got, n - got, got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === n ? buf : buf.subarray(0, got);
}

/** The first `n` bytes of an open file (fewer at its end). */
export async function readHead(fh: FileHandle, n: number): Promise<Buffer> {
  const buf = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    const { bytesRead } = await fh.read(buf, got, n - got, got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === n ? buf : buf.subarray(0, got);
}
