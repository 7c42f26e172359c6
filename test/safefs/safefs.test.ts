// Files as root, safely (issue 11): links planted in the data directory are never written through, directories
// are never re-moded through links, and a data directory someone else can write to is refused.
import { chmod, chown, lstat, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createStoreExporter } from '../../receiver/exporters/store.js';
import { DiskQueue } from '../../receiver/queue/index.js';
import { ensurePrivateDir, UnsafePathError, writeFileAtomic } from '../../receiver/safefs/index.js';
import { checkpointPath, readCheckpoint, writeCheckpoint } from '../../receiver/sources/checkpoint.js';
import { createLogger, silentLogger } from '../../receiver/telemetry/log.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';
import { makeRecords, ScriptedExporter, tempDir } from '../queue/helpers.js';

const isRoot = process.geteuid?.() === 0;
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups) await c();
  cleanups = [];
});
async function dir(): Promise<string> {
  const t = await tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}
const mode = async (p: string) => (await stat(p)).mode & 0o777;

describe('temporary files are never written through a planted link', () => {
  it('a checkpoint whose .tmp name is a link to a victim file leaves the victim alone', async () => {
    const d = await dir();
    const victim = join(d, 'victim');
    await writeFile(victim, 'precious\n');
    const path = checkpointPath(join(d, 'checkpoints'), 'file-0');
    await mkdir(join(d, 'checkpoints'), { mode: 0o700 });
    await symlink(victim, `${path}.tmp`);
    await writeCheckpoint(path, { version: 1, files: {} });
    expect(await readFile(victim, 'utf8')).toBe('precious\n');
    expect(await readCheckpoint(path)).toEqual({ ok: true, value: { version: 1, files: {} } });
    expect((await lstat(path)).isFile()).toBe(true);
    expect(await mode(path)).toBe(0o600);
  });

  it('a checkpoint that is a link is not read (its target could be any file)', async () => {
    const d = await dir();
    const victim = join(d, 'shadow');
    await writeFile(victim, 'root:$6$secret:19000:0:99999:7:::\n');
    await symlink(victim, join(d, 'file-0.json'));
    const r = await readCheckpoint(join(d, 'file-0.json'));
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toContain('secret');
  });

  it('acks.json.tmp planted in a queue directory: the acknowledgements are saved, the victim is untouched', async () => {
    const d = await dir();
    const victim = join(d, 'victim');
    await writeFile(victim, 'precious\n');
    const qdir = await ensurePrivateDir(d, join('queue', 'otlp'));
    await symlink(victim, join(qdir, 'acks.json.tmp'));
    const exporter = new ScriptedExporter('otlp');
    const q = await DiskQueue.open({ fsync: 'always' }, exporter, {
      dataDir: d,
      logger: silentLogger,
      metrics: new Metrics(),
    });
    q.start();
    await q.append(makeRecords(3));
    expect(await q.drain(10_000)).toBe(true);
    await q.close();
    expect(await readFile(victim, 'utf8')).toBe('precious\n');
    expect((await lstat(join(qdir, 'acks.json'))).isFile()).toBe(true);
  });

  it('the log file (log.file) is never appended to through a link planted at its name', async () => {
    const d = await dir();
    const victim = join(d, 'victim');
    await writeFile(victim, 'precious\n');
    await symlink(victim, join(d, 'kata-otel.log'));
    const logger = createLogger({ file: join(d, 'kata-otel.log') });
    expect(() => logger.info('hello')).toThrow(/ELOOP/);
    expect(await readFile(victim, 'utf8')).toBe('precious\n');
    createLogger({ file: join(d, 'real.log') }).info('hello');
    expect(await mode(join(d, 'real.log'))).toBe(0o600);
  });

  it('a write that fails leaves no temporary file behind', async () => {
    const d = await dir();
    await expect(writeFileAtomic(join(d, 'missing', 'x.json'), '{}')).rejects.toThrow(/ENOENT/);
    await writeFileAtomic(join(d, 'x.json'), '{}');
    expect(await readFile(join(d, 'x.json'), 'utf8')).toBe('{}');
  });
});

describe('data directory ownership and modes', () => {
  it('does not re-mode a directory through a link planted as the queue directory; refuses it instead', async () => {
    const d = await dir();
    const victim = join(d, 'etc');
    await mkdir(victim, { mode: 0o755 });
    await chmod(victim, 0o755);
    const data = join(d, 'data');
    await mkdir(data, { mode: 0o700 });
    await symlink(victim, join(data, 'queue'));
    const err = await DiskQueue.open({}, new ScriptedExporter('otlp'), {
      dataDir: data,
      logger: silentLogger,
      metrics: new Metrics(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafePathError);
    expect((err as Error).message).toContain(join(data, 'queue'));
    expect((err as Error).message).toMatch(/symbolic link/);
    expect(await mode(victim)).toBe(0o755);
  });

  it('refuses a data directory writable by group or others, naming the path, the mode and the fix', async () => {
    const d = await dir();
    const data = join(d, 'data');
    await mkdir(data);
    await chmod(data, 0o777);
    const err = await ensurePrivateDir(data).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafePathError);
    expect((err as Error).message).toContain(`data directory ${data} has mode 0777`);
    expect((err as Error).message).toContain(`chmod 0700 ${data}`);
    // and a directory inside it
    await chmod(data, 0o700);
    await mkdir(join(data, 'checkpoints'));
    await chmod(join(data, 'checkpoints'), 0o775);
    await expect(ensurePrivateDir(data, 'checkpoints')).rejects.toThrow(/checkpoints has mode 0775/);
  });

  it.skipIf(!isRoot)('refuses a data directory (or a directory in it) owned by another user', async () => {
    const d = await dir();
    const data = join(d, 'data');
    await mkdir(data, { mode: 0o700 });
    await chown(data, 65534, 65534);
    await expect(ensurePrivateDir(data)).rejects.toThrow(
      new RegExp(`data directory ${data} is owned by uid 65534 \\(mode 0700\\), not by uid 0.*chown 0 ${data}`),
    );
    await chown(data, 0, 0);
    await mkdir(join(data, 'store'), { mode: 0o700 });
    await chown(join(data, 'store'), 65534, 65534);
    const store = createStoreExporter({
      directory: join(data, 'store'),
      maxFileBytes: 1 << 20,
      maxFileAgeMs: 60_000,
      maxAgeMs: 60_000,
      maxTotalBytes: 1 << 30,
    });
    const r = await store.export(makeRecords(1));
    expect(r.code).not.toBe('success');
    expect(JSON.stringify(r)).toMatch(/owned by uid 65534/);
    await store.shutdown();
  });

  it('creates missing directories 0700 and tightens an existing 0755 one through its descriptor', async () => {
    const d = await dir();
    const data = join(d, 'a', 'data');
    await ensurePrivateDir(data, join('queue', 'x'));
    expect(await mode(data)).toBe(0o700);
    expect(await mode(join(data, 'queue', 'x'))).toBe(0o700);
    await chmod(join(data, 'queue'), 0o755);
    await ensurePrivateDir(data, 'queue');
    expect(await mode(join(data, 'queue'))).toBe(0o700);
  });
});
