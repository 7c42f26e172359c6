// HMAC keys from files (redaction `hash`, the integrity chain). Read once at start, as root: opened without
// following a symlink (a planted link must not choose the key), refused when not a regular file, too short or too
// long, and when other users may read it (a key others can read proves nothing).
import { constants, fstatSync, openSync, readSync, closeSync } from 'node:fs';

const MIN_BYTES = 16;
const MAX_BYTES = 4096;

export class KeyFileError extends Error {}

/** The key in `path` (trailing newline removed). `setting` names the config key in errors. */
export function readKeyFile(path: string, setting: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ELOOP' ? 'it is a symbolic link; give the real file' : `${e.code ?? ''} ${e.message}`;
    throw new KeyFileError(`${setting}: cannot open the key file ${path}: ${why}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new KeyFileError(`${setting}: ${path} is not a regular file`);
    if (st.mode & 0o077)
      throw new KeyFileError(
        `${setting}: the key file ${path} is readable by other users (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 ${path}`,
      );
    const buf = Buffer.alloc(MAX_BYTES + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, null);
    let key = buf.subarray(0, n);
    while (key.length && (key[key.length - 1] === 10 || key[key.length - 1] === 13)) key = key.subarray(0, -1);
    if (n > MAX_BYTES) throw new KeyFileError(`${setting}: the key file ${path} is larger than ${MAX_BYTES} bytes`);
    if (key.length < MIN_BYTES)
      throw new KeyFileError(
        `${setting}: the key in ${path} has ${key.length} bytes; use at least ${MIN_BYTES} (e.g. head -c 32 /dev/urandom | base64 > ${path})`,
      );
    return Buffer.from(key);
  } finally {
    closeSync(fd);
  }
}
