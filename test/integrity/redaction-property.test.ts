// Property: whatever secrets Kata logs, and wherever in a real-format line they sit, their values never reach the
// store, the OTLP backend (a real server decoding with the official protos) or an alert. Lines are generated in
// the shapes of test/fixtures/redact (agent JSON and Rust Debug requests, Go shim request structs, the shim's
// vmconsole re-log, policy documents, image-pull auth, URLs, bearer headers, token shapes), with random values.
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../receiver/config/index.js';
import { runReceiver } from '../../receiver/run/receiver.js';
import { silentLogger } from '../../receiver/telemetry/log.js';
import { startOtlpServer, type OtlpTestServer } from '../support/otlp-server.js';

const SB = '38f55c4a058a0f7227e64edd75f2aed134bee7db4b211f071be84fb44d17b0bb';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const str = (chars: string, min: number, max: number) =>
  fc.array(fc.constantFrom(...chars.split('')), { minLength: min, maxLength: max }).map((a) => a.join(''));
/** Env values: what a shell or a manifest allows without quoting trouble (no quote, backslash or space). */
const envValue = str(ALNUM + '!#%*+-./:=?@^_~,;&', 12, 40);
const alnum = (n: number, m = n) => str(ALNUM, n, m);
const upperNum = (n: number) => str('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', n, n);
const b64url = (n: number, m: number) => str(ALNUM + '-_', n, m);
const envKey = fc.constantFrom(
  'DB_PASSWORD',
  'MYSQL_ROOT_PASSWORD',
  'API_KEY',
  'GITHUB_TOKEN',
  'AWS_SECRET_ACCESS_KEY',
  'OAUTH_CLIENT_SECRET',
  'REGISTRY_AUTH',
  'SSH_PRIVATE_KEY',
  'SESSION_COOKIE',
  'clientSecret',
  'credentials',
);

/** A secret value and the text it is written as. */
interface Secret {
  value: string;
  env: string; // an Env entry or a token in free text
}
const secretArb: fc.Arbitrary<Secret> = fc.oneof(
  fc.tuple(envKey, envValue).map(([k, v]) => ({ value: v, env: `${k}=${v}` })),
  alnum(36).map((v) => ({ value: `ghp_${v}`, env: `TOKEN_HINT=ghp_${v}` })),
  upperNum(16).map((v) => ({ value: `AKIA${v}`, env: `AWS_ID=AKIA${v}` })),
  alnum(24, 40).map((v) => ({ value: `xoxb-${v}`, env: `NOTIFY=xoxb-${v}` })),
  fc
    .tuple(b64url(10, 30), b64url(10, 60), b64url(20, 43))
    .map(([a, b, c]) => ({ value: `eyJ${a}.eyJ${b}.${c}`, env: `ID=eyJ${a}.eyJ${b}.${c}` })),
);

const quote = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
const agentJson = (msg: string, extra: Record<string, string> = {}) =>
  JSON.stringify({
    msg,
    level: 'DEBG',
    ts: '2026-11-20T16:25:33.010026353Z',
    version: '0.1.0',
    name: 'kata-agent',
    subsystem: 'rpc',
    source: 'agent',
    pid: '1',
    ...extra,
  });
const shim = (fields: string) =>
  `time="2026-11-20T16:25:32.996810781Z" level=debug ${fields} name=containerd-shim-v2 pid=3426175 sandbox=${SB} source=virtcontainers subsystem=kata_agent`;

type Template = (s: Secret[]) => string;
const env = (s: Secret[]) => ['PATH=/usr/local/sbin:/usr/bin', ...s.map((x) => x.env), 'HOSTNAME=web-0'];
const templates: Template[] = [
  // Agent: CreateContainer request in Rust Debug.
  (s) =>
    agentJson(
      `rpc call from shim to agent: "create_container" req: CreateContainerRequest { OCI: Some(Spec { process: Some(Process { env: [${env(
        s,
      )
        .map((e) => `"${e}"`)
        .join(', ')}], cwd: "/" }) }) }`,
    ),
  // Agent: the request as JSON in a field.
  (s) =>
    agentJson('policy check: CreateContainerRequest', {
      request: JSON.stringify({ OCI: { Process: { Env: env(s), Cwd: '/' } } }),
    }),
  // Policy input document.
  (s) => JSON.stringify({ kind: 'CreateContainerRequest', request: { OCI: { Process: { Env: env(s) } } } }),
  // Go shim %#v and proto text.
  (s) =>
    shim(
      `msg="sending request" req="${quote(
        `&CreateContainerRequest{OCI:&Spec{Process:&Process{Env:[]string{${env(s)
          .map((e) => `"${e}"`)
          .join(', ')}}}}}`,
      )}"`,
    ),
  (s) =>
    shim(
      `msg="sending request" req="${quote(
        `OCI:<Process:<Env:[${env(s)
          .map((e) => `"${e}"`)
          .join(' ')}] > >`,
      )}"`,
    ),
  // The shim re-logging an agent line in vmconsole= (double escaping).
  (s) =>
    shim(
      `msg="reading guest console" vmconsole="${quote(
        agentJson(
          `env: [${env(s)
            .map((e) => `"${e}"`)
            .join(', ')}]`,
        ),
      )}"`,
    ),
  // URL credentials and a bearer header, with every secret's value.
  (s) =>
    shim(
      `msg="failed to pull image" error="${quote(
        s
          .map((x) => `GET https://robot:${x.value}@registry.example.com/v2/ 401 (Authorization: Bearer ${x.value})`)
          .join('; '),
      )}"`,
    ),
  // Registry auth in a pull request (Rust Debug).
  (s) =>
    agentJson(
      `rpc call from shim to agent: "pull_image" req: PullImageRequest { image: "registry.example.com/app:1", ${s
        .map((x, i) => `${['source_creds', 'password', 'identity_token'][i % 3]}: "${x.value}"`)
        .join(', ')} }`,
    ),
];

const lineArb = fc.tuple(fc.nat(templates.length - 1), fc.array(secretArb, { minLength: 1, maxLength: 3 }));

let srv: OtlpTestServer;
beforeAll(async () => {
  srv = await startOtlpServer();
});
afterAll(async () => {
  await srv?.stop();
});

describe('no secret value leaves the pipeline', () => {
  it('not in the store, not at the OTLP backend, not in alerts', async () => {
    const rulesDir = mkdtempSync(join(tmpdir(), 'prop-rules-'));
    const rules = join(rulesDir, 'secret.yaml');
    writeFileSync(
      rules,
      [
        '- rule: secret-logged',
        '  name: A secret was logged',
        '  desc: Kata logged a credential (redacted by kata-otel)',
        '  condition: kata.redacted.count > 0',
        "  output: 'Secret in %{kata.sandbox.id}: %body / %{kata.field.req} / %{kata.field.vmconsole} / %{log.record.original}'",
        '  priority: high',
      ].join('\n') + '\n',
    );
    await fc.assert(
      fc.asyncProperty(fc.array(lineArb, { minLength: 3, maxLength: 12 }), async (gen) => {
        await srv.reset();
        const from = existsSync(srv.recordsFile) ? statSync(srv.recordsFile).size : 0;
        const dir = mkdtempSync(join(tmpdir(), 'prop-'));
        const lines = gen.map(([t, s]) => templates[t]!(s));
        const secrets = gen.flatMap(([, s]) => s.map((x) => x.value));
        const log = join(dir, 'kata.log');
        writeFileSync(log, lines.join('\n') + '\n');
        const config = loadConfig(undefined, {
          data_dir: join(dir, 'data'),
          exporters: [{ type: 'store' }, { type: 'otlp', endpoint: srv.httpEndpoint, protocol: 'http/json' }],
          pipeline: { keep_original: true, rules: { builtin: false, files: [rules] }, dedupe: { enabled: false } },
          telemetry: { listen: null },
        });
        // A run that does not finish (a backend refusing forever) fails this case instead of the whole test.
        const abort = new AbortController();
        const timer = setTimeout(() => abort.abort(), 20_000);
        const summary = await runReceiver(
          config,
          { files: [log], once: true },
          { stdin: process.stdin, stdout: process.stdout, logger: silentLogger },
          abort.signal,
        ).finally(() => clearTimeout(timer));
        expect(summary.drained).toBe(true);
        expect(summary.alerts).toBeGreaterThan(0);
        const store = join(dir, 'data', 'store');
        const stored = readdirSync(store)
          .map((f) => readFileSync(join(store, f), 'utf8'))
          .join('\n');
        const received = readFileSync(srv.recordsFile).subarray(from).toString('utf8'); // this run's records
        expect(received).toContain('kata.alert');
        for (const v of secrets) {
          expect(stored, v).not.toContain(v);
          expect(
            received.split('\n').filter((l) => l.includes(v)),
            v,
          ).toEqual([]);
          // JSON-escaped forms too (a value with / or other escapes as written in the files).
          expect(stored, v).not.toContain(JSON.stringify(v).slice(1, -1));
        }
      }),
      { numRuns: 30 },
    );
  }, 180_000);
});
