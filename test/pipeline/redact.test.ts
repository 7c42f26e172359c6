// Redaction on real-format Kata lines (test/fixtures/redact/README.md): every secret in the agent's JSON and Rust
// Debug requests, the Go shim's request structs, policy documents, image-pull auth, URLs, bearer headers, PEM keys
// and token shapes is hidden in the body, every attribute and `log.record.original`, and the text around it stays.
import { chmodSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../receiver/config/index.js';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { parseText } from '../../receiver/parse/index.js';
import { Pipeline } from '../../receiver/pipeline/pipeline.js';
import { MASK, Redactor } from '../../receiver/pipeline/redact/redactor.js';
import { createRedactStage } from '../../receiver/pipeline/redact/stage.js';
import { RuleEngine, loadRules } from '../../receiver/rules/index.js';
import {
  ATTR_KATA_REDACTED_COUNT,
  ATTR_LOG_RECORD_ORIGINAL,
  EVENT_KATA_ALERT,
} from '../../receiver/semconv/generated.js';
import { silentLogger } from '../../receiver/telemetry/log.js';
import { Metrics } from '../../receiver/telemetry/metrics.js';

const FIX = new URL('../fixtures/redact/', import.meta.url).pathname;
const LINES = readFileSync(join(FIX, 'secret-lines.log'), 'utf8').trimEnd().split('\n');
const META = JSON.parse(readFileSync(join(FIX, 'secret-lines.json'), 'utf8')) as { names: string[]; secrets: string[] };

const parse = (line: string) => parseText(line, { observedTimeUnixNano: 1n, keepOriginal: true });
const everything = (r: KataLogRecord) => JSON.stringify([r.body, r.attributes]);
const line = (name: string) => LINES[META.names.indexOf(name)]!;

function keyFile(content: string, mode = 0o600): string {
  const p = join(mkdtempSync(join(tmpdir(), 'redact-key-')), 'key');
  writeFileSync(p, content);
  chmodSync(p, mode);
  return p;
}

describe('built-in redaction on real-format Kata lines', () => {
  it.each(META.names.map((n, i) => [n, i] as const))('%s: no secret survives anywhere in the record', (_n, i) => {
    const recs = parse(LINES[i]!);
    const before = recs.map(everything).join('\n');
    // The line really carries secrets, and the parser put them in the record (body, fields, original).
    expect(META.secrets.some((s) => before.includes(s))).toBe(true);
    const red = new Redactor();
    for (const r of recs) {
      expect(red.redactRecord(r)).toBe(true);
      const after = everything(r);
      for (const s of META.secrets) expect(after, s).not.toContain(s);
      expect(r.attributes[ATTR_KATA_REDACTED_COUNT]).toBeGreaterThan(0);
      expect(String(r.attributes[ATTR_LOG_RECORD_ORIGINAL])).toContain(MASK);
    }
  });

  it('keeps the non-secret Env entries, keys and the structure around each secret', () => {
    for (const name of ['agent-rust-debug', 'agent-json-oci', 'policy-jsonl', 'shim-go-struct', 'shim-go-proto']) {
      const [r] = parse(line(name));
      new Redactor().redactRecord(r!);
      const all = everything(r!);
      expect(all, name).toContain('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin');
      expect(all, name).toContain('HOSTNAME=web-0');
      for (const k of ['DB_PASSWORD', 'AWS_SECRET_ACCESS_KEY', 'GITHUB_TOKEN', 'SLACK_BOT_TOKEN', 'API_KEY'])
        expect(all, `${name} ${k}`).toContain(`${k}=${MASK}`);
    }
    const [url] = parse(line('shim-url-bearer'));
    new Redactor().redactRecord(url!);
    expect(everything(url!)).toContain(`https://robot:${MASK}@registry.example.com/v2/team/app/manifests/1.4`);
    const [pem] = parse(line('agent-pem'));
    new Redactor().redactRecord(pem!);
    expect(pem!.body).toBe(
      `writing file /etc/tls/tls.key content: "-----BEGIN RSA PRIVATE KEY-----${MASK}-----END RSA PRIVATE KEY-----"`,
    );
  });

  it('hides the value at every level of escaping (shim re-log of an agent line inside vmconsole=)', () => {
    const [r] = parse(line('shim-vmconsole-agent'));
    const before = String(r!.attributes[ATTR_LOG_RECORD_ORIGINAL]);
    expect(before).toContain('\\\\\\"DB_PASSWORD=hunter2-Pr0d!\\\\\\"');
    new Redactor().redactRecord(r!);
    expect(String(r!.attributes[ATTR_LOG_RECORD_ORIGINAL])).toContain(`\\\\\\"DB_PASSWORD=${MASK}\\\\\\"`);
  });

  it('leaves ordinary Kata lines alone', () => {
    const plain = [
      'time="2021-05-03T14:37:30.652028600-07:00" level=info msg="loaded configuration" file=/etc/kata-containers/configuration.toml format=TOML name=containerd-shim-v2 pid=1234 sandbox=foo source=katautils',
      '{"msg":"policy check: StatsContainerRequest","level":"DEBG","ts":"2025-11-20T16:25:33.010026353Z","version":"0.1.0","name":"kata-agent","subsystem":"rpc","source":"agent","pid":"1"}',
      'Basic information about the sandbox: sha1 0123456789abcdef0123456789abcdef01234567',
    ];
    for (const l of plain) {
      for (const r of parse(l)) {
        const before = everything(r);
        new Redactor().redactRecord(r);
        expect(everything(r)).toBe(before);
        expect(r.attributes[ATTR_KATA_REDACTED_COUNT]).toBeUndefined();
      }
    }
  });
});

describe('actions and user rules', () => {
  it('hash: a keyed HMAC, equal for equal secrets, different under another key', () => {
    const k1 = readFileSync(keyFile('0123456789abcdef0123456789abcdef'));
    const k2 = Buffer.from('another-key-another-key-another-key');
    const a = new Redactor({ action: 'hash', hmacKey: k1 });
    const one = a.redactString('"DB_PASSWORD=hunter2" and password: "hunter2" and token=other').text;
    const m = [...one.matchAll(/\[HMAC:([0-9a-f]{16})\]/g)].map((x) => x[1]);
    expect(m).toHaveLength(3);
    expect(m[0]).toBe(m[1]);
    expect(m[2]).not.toBe(m[0]);
    expect(one).not.toContain('hunter2');
    const other = new Redactor({ action: 'hash', hmacKey: k2 }).redactString('"DB_PASSWORD=hunter2"').text;
    expect(other).not.toContain(m[0]);
    expect(() => new Redactor({ action: 'hash' })).toThrow(/hmac_key_file/);
  });

  it('attribute, key and regex rules; drop removes the attribute, or the record when the body matched', () => {
    const red = new Redactor({
      rules: [
        { name: 'pod-secret', attribute: 'kata.field.note*', action: 'mask' },
        { name: 'ticket', key: '^X-Ticket$', action: 'mask' },
        { name: 'acct', regex: 'acct-([0-9]{6})', action: 'mask' },
        { name: 'internal', attribute: 'kata.field.internal', action: 'drop' },
        { name: 'forbidden', regex: 'TOP-SECRET-[A-Z]+', action: 'drop' },
      ],
    });
    const r: KataLogRecord = {
      timeUnixNano: 0n,
      observedTimeUnixNano: 0n,
      severityNumber: 9,
      severityText: 'info',
      body: 'charged acct-123456 with X-Ticket=T-99 ok',
      attributes: { 'kata.field.note1': 'anything', 'kata.field.internal': 'x', 'kata.field.list': ['acct-654321'] },
    };
    expect(red.redactRecord(r)).toBe(true);
    expect(r.body).toBe(`charged acct-${MASK} with X-Ticket=${MASK} ok`);
    expect(r.attributes['kata.field.note1']).toBe(MASK);
    expect(r.attributes['kata.field.internal']).toBeUndefined();
    expect(r.attributes['kata.field.list']).toEqual([`acct-${MASK}`]);
    expect(r.attributes[ATTR_KATA_REDACTED_COUNT]).toBe(5);
    const gone = { ...r, body: 'leak TOP-SECRET-PLANS here', attributes: {} };
    expect(red.redactRecord(gone)).toBe(false);
    expect(() => new Redactor({ rules: [{ regex: '(a)\\1', action: 'mask' }] })).toThrow(/not a valid RE2 pattern/);
  });

  it('the stage drops records, counts per rule in self-metrics, and reads the key file safely', async () => {
    const metrics = new Metrics();
    const key = keyFile('0123456789abcdef0123456789abcdef\n');
    const config = loadConfig(undefined, {
      pipeline: {
        redaction: { action: 'hash', hmac_key_file: key, rules: [{ name: 'nope', regex: 'DROPME', action: 'drop' }] },
      },
    });
    const stage = createRedactStage(config, metrics)!;
    const out = stage.process([...parse(line('shim-token-shapes')), ...parse('level=info msg="DROPME now"')]);
    expect(out).toHaveLength(1);
    expect(out[0]!.body).toMatch(/export AWS=\[HMAC:[0-9a-f]{16}\]/);
    const text = await metrics.text();
    expect(text).toMatch(/kata_otel_redactions_total\{rule="token-shape",action="hash"\} [1-9]/);
    expect(text).toMatch(/kata_otel_redactions_total\{rule="record",action="drop"\} 1/);

    const link = join(mkdtempSync(join(tmpdir(), 'redact-link-')), 'key');
    symlinkSync(key, link);
    const withKey = (f: string) =>
      loadConfig(undefined, { pipeline: { redaction: { action: 'hash', hmac_key_file: f } } });
    expect(() => createRedactStage(withKey(link))).toThrow(/symbolic link/);
    expect(() => createRedactStage(withKey(keyFile('0123456789abcdef0123', 0o644)))).toThrow(/chmod 600/);
    expect(() => createRedactStage(withKey(keyFile('short')))).toThrow(/at least 16/);
  });
});

describe('alert rules see that a secret was there, never the value', () => {
  it('a rule on kata.redacted.count fires, and the alert built from the record holds no secret', () => {
    const rules = loadRules([
      {
        file: 'test.yaml',
        text: [
          '- rule: secret-in-logs',
          '  name: A secret was logged',
          '  desc: Kata logged a credential (redacted by kata-otel)',
          '  condition: kata.redacted.count > 0',
          "  output: 'Secret logged in %{kata.sandbox.id}: %body (%{kata.field.req} %{log.record.original})'",
          '  priority: high',
        ].join('\n'),
      },
    ]);
    const metrics = new Metrics();
    const config = loadConfig(undefined, {});
    const pipeline = new Pipeline({
      stages: [createRedactStage(config, metrics)!, new RuleEngine({ rules })],
      sinks: [],
      metrics,
      logger: silentLogger,
      keepOriginal: true,
    });
    const out = pipeline.transform(
      pipeline.parse({
        source: 't',
        observedTimeUnixNano: 1n,
        entries: LINES.map((text) => ({ kind: 'text' as const, text })),
      }),
    );
    const alerts = out.filter((r) => r.eventName === EVENT_KATA_ALERT);
    expect(alerts.length).toBeGreaterThan(0);
    const all = out.map(everything).join('\n');
    for (const s of META.secrets) expect(all, s).not.toContain(s);
    expect(alerts.some((a) => a.body.includes(MASK))).toBe(true);
  });
});

describe('linear time on hostile input', () => {
  const shapes: Record<string, (n: number) => string> = {
    quotes: (n) => '"A'.repeat(n / 2),
    unterminated: (n) => '"DB_PASSWORD=' + 'x'.repeat(n),
    backslashes: (n) => '"password":' + '\\'.repeat(n),
    escapedQuotes: (n) => '\\"TOKEN=\\"'.repeat(n / 10),
    keys: (n) => 'password='.repeat(n / 9),
    jwt: (n) => 'eyJ'.repeat(n / 3),
    jwtDots: (n) => 'eyJaaaa.'.repeat(n / 8),
    pem: (n) => '-----BEGIN RSA PRIVATE KEY-----'.repeat(n / 31),
    url: (n) => 'https://u:'.repeat(n / 10),
    bearer: (n) => 'Bearer '.repeat(n / 7),
    base64: (n) => 'Ab1/'.repeat(n / 4),
    akia: (n) => 'AKIA'.repeat(n / 4),
    idents: (n) => 'a.b-c_d '.repeat(n / 8),
    // The trigger's keyword prefixes and 40-character runs at every step (trigger.ts compares each in full).
    triggerPrefixes: (n) => 'github_pa-----BEGIN0Q~ya29'.repeat(n / 26),
    base64Runs: (n) => ('aB1/'.repeat(10) + ' ').repeat(n / 41),
  };
  const time = (red: Redactor, s: string) => {
    let best = Infinity;
    for (let i = 0; i < 9; i++) {
      const t = process.hrtime.bigint();
      red.redactString(s);
      best = Math.min(best, Number(process.hrtime.bigint() - t));
    }
    return best;
  };
  it.each(Object.keys(shapes))('%s: each 16× longer input costs about 16× more (1, 16, 256 KiB), not 256×', (name) => {
    const red = new Redactor({
      rules: [
        { regex: '(a+)+b', action: 'mask' },
        { key: '(x+x+)+y', action: 'mask' },
      ],
    });
    const gen = shapes[name]!;
    time(red, gen(1024)); // warm up
    const [t1, t16, t256] = [1, 16, 256].map((k) => time(red, gen(k * 1024)));
    // Linear is 16×, quadratic 256×: the bound leaves room for timer noise, GC and a loaded machine (other test
    // files run in parallel on 2 cores).
    expect(t16! / Math.max(t1!, 20_000), `${name} 1→16 KiB`).toBeLessThan(80);
    expect(t256! / Math.max(t16!, 100_000), `${name} 16→256 KiB`).toBeLessThan(80);
  });
});
