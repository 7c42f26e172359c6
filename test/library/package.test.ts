// The package installs: `npm pack` (which builds dist/ through `prepare`), then an offline install of the tarball
// into an empty directory under os.tmpdir() with only the npm cache, as a user would: the CLI and the library API
// (runtime and type declarations) work there, away from the source tree. Also: the exported API surface matches
// the checked-in report (api/kata-otel.api.md, api-extractor), so it changes only on purpose.
//
// Offline: the npm cache holds the dependency tarballs but not the registry's version lists, so the temp app gets
// a lockfile made from this repository's (the production entries: the versions kata-otel is tested with).
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
};

// npm passes its own settings to scripts as npm_* variables (prefix, cache mode, …); the user's npm has none.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

function run(cmd: string, args: string[], cwd: string, input?: string): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env: cleanEnv, encoding: 'utf8', input, timeout: 120_000 });
}
const explain = (r: SpawnSyncReturns<string>) => `exit ${r.status}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`;

/** A lockfile for an app whose only dependency is the tarball: kata-otel's production tree from our lockfile. */
function appLockfile(tarball: string, tgzName: string): unknown {
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean } & Record<string, unknown>>;
  };
  const root = lock.packages[''] as Record<string, unknown>;
  const packages: Record<string, unknown> = {
    '': { name: 'app', dependencies: { [pkg.name]: `file:${tgzName}` } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: `file:${tgzName}`,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      license: root.license,
      dependencies: root.dependencies,
      peerDependencies: root.peerDependencies,
      peerDependenciesMeta: root.peerDependenciesMeta,
      bin: root.bin,
      engines: root.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) if (path && !entry.dev) packages[path] = entry;
  return { name: 'app', lockfileVersion: 3, requires: true, packages };
}

const CHECK = `
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ATTR_KATA_SANDBOX_ID, AlertRules, DurableLogRecordExporter, KataLogBridge, parseLine } from 'kata-otel';

const line = 'time="2025-11-20T16:20:02.481026977Z" level=info msg="VM started" name=containerd-shim-v2 pid=41001 sandbox=c0ffee source=virtcontainers subsystem=sandbox';
const memory = new InMemoryLogRecordExporter();
const loggerProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: memory })] });
const bridge = new KataLogBridge({ loggerProvider });
await bridge.emitLine(line);
const [rec] = memory.getFinishedLogRecords();
const exporter = new DurableLogRecordExporter({
  directory: mkdtempSync(join(tmpdir(), 'kata-otel-pkg-queue-')),
  otlp: { endpoint: 'http://127.0.0.1:9', protocol: 'grpc' },
  shutdownTimeoutMs: 0,
});
await exporter.opened();
await exporter.shutdown();
console.log(JSON.stringify({
  body: rec.body,
  sandbox: rec.attributes[ATTR_KATA_SANDBOX_ID],
  parsed: parseLine(line)[0].body,
  builtinRules: new AlertRules().ruleSet.rules.length,
}));
`;

const TYPES = `
import { KataLogBridge, parseLine, type KataLogRecord, type KataRecordObserver } from 'kata-otel';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
const bridge: KataLogBridge = new KataLogBridge({ loggerProvider: new LoggerProvider() });
const recs: Promise<KataLogRecord[]> = bridge.emitLine('x');
const n: number = parseLine('x')[0]!.severityNumber;
const o: KataRecordObserver = { observe: (r: readonly KataLogRecord[]) => void r.length };
// @ts-expect-error emitLine takes text
void bridge.emitLine(42);
export { recs, n, o };
`;

describe('the npm package', () => {
  let app = '';
  let installed = '';
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'kata-otel-pack-'));
    const packed = run('npm', ['pack', '--pack-destination', dir, '--json'], REPO);
    if (packed.status !== 0) throw new Error(`npm pack failed: ${explain(packed)}`);
    const tgzName = (JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string }[])[0]!
      .filename;
    app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'app',
        private: true,
        type: 'module',
        dependencies: { [pkg.name]: `file:../${tgzName}` },
      }),
    );
    writeFileSync(join(app, 'package-lock.json'), JSON.stringify(appLockfile(join(dir, tgzName), `../${tgzName}`)));
    const inst = run('npm', ['install', '--omit=dev', '--offline', '--no-audit', '--no-fund'], app);
    if (inst.status !== 0) throw new Error(`npm install of the tarball failed: ${explain(inst)}`);
    installed = join(app, 'node_modules', pkg.name);
  }, 240_000);

  it('holds the built library and CLI, not the sources or tests', () => {
    for (const f of [
      'dist/api/index.js',
      'dist/api/index.d.ts',
      'dist/cli/main.js',
      'bin/kata-otel.js',
      'CHANGELOG.md',
    ])
      expect(existsSync(join(installed, f)), f).toBe(true);
    expect(
      readdirSync(join(installed, 'dist/rules/builtin')).filter((f) => f.endsWith('.yaml')).length,
    ).toBeGreaterThan(0);
    expect(existsSync(join(installed, 'test'))).toBe(false);
    expect(existsSync(join(installed, 'receiver/api/index.ts'))).toBe(false);
    expect(existsSync(join(installed, 'node_modules/typescript'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/typescript'))).toBe(false);
  });

  it('runs `kata-otel --help` and `kata-otel parse` there', () => {
    const help = run(join(app, 'node_modules/.bin/kata-otel'), ['--help'], app);
    expect(help.status, explain(help)).toBe(0);
    expect(help.stdout).toMatch(/parse[\s\S]*run[\s\S]*rules/);
    const parsed = run(
      join(app, 'node_modules/.bin/kata-otel'),
      ['parse'],
      app,
      'time="2025-11-20T16:20:02.481026977Z" level=warning msg="hello" sandbox=c0ffee source=virtcontainers\n',
    );
    expect(parsed.status, explain(parsed)).toBe(0);
    expect(parsed.stdout).toContain('"stringValue":"c0ffee"');
    expect(parsed.stdout).toContain('"severityNumber":13');
  });

  it('serves the API: bridge, parser, built-in rules, durable exporter', () => {
    writeFileSync(join(app, 'check.mjs'), CHECK);
    const r = run(process.execPath, ['check.mjs'], app);
    expect(r.status, explain(r)).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<string, unknown>;
    expect(out).toMatchObject({ body: 'VM started', sandbox: 'c0ffee', parsed: 'VM started' });
    expect(out.builtinRules).toBeGreaterThan(5);
  });

  it('ships type declarations that a TypeScript user can compile against', () => {
    writeFileSync(join(app, 'check.ts'), TYPES);
    // No @types/node in the app: skipLibCheck, and nothing in check.ts needs Node's types.
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          skipLibCheck: true,
          types: [],
          noEmit: true,
        },
        files: ['check.ts'],
      }),
    );
    const r = run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', '.'], app);
    expect(r.status, explain(r)).toBe(0);
  });

  it('exports the API recorded in api/kata-otel.api.md (run `npm run api:report` after a deliberate change)', () => {
    const r = run(join(REPO, 'node_modules/.bin/api-extractor'), ['run'], REPO);
    expect(r.status, explain(r)).toBe(0);
  });
});
