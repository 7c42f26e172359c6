// The reused output buffer of the hand-written encoders (encode-proto.ts, json-bytes.ts): each keeps one, grows it by
// doubling, and drops one that grew past MAX_KEPT_SCRATCH after the call instead of keeping it alive between calls.

export const INITIAL_SCRATCH = 1 << 20;
export const MAX_KEPT_SCRATCH = 8 << 20;

/** `buf`, or a buffer at least twice as large holding its first `used` bytes, with room for `need` more. */
export function withRoom(buf: Buffer, used: number, need: number): Buffer {
  if (used + need <= buf.length) return buf;
  let size = buf.length * 2;
  while (size < used + need) size *= 2;
  const bigger = Buffer.allocUnsafe(size);
  buf.copy(bigger, 0, 0, used);
  return bigger;
}

/** A fresh scratch buffer when `buf` grew past what is kept between calls, else `buf`. */
export const kept = (buf: Buffer): Buffer =>
  buf.length > MAX_KEPT_SCRATCH ? Buffer.allocUnsafe(INITIAL_SCRATCH) : buf;
