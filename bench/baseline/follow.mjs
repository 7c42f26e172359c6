// Ours, not part of the copied baseline (see PROVENANCE.md): the naive shipper of sdk_export.mjs in *follow* mode,
// what a Node developer would run on a node instead of `kata-otel run`, for the steady-state bench's floor
// (bench/steady-profile.ts --follower). It follows the same inputs as the bench's kata-otel configuration —
// `journalctl --follow --output=json` with the same matches, and every `*.log` in a directory polled every 200 ms
// (kata-otel's default poll) — parses each line the same naive way as sdk_export.mjs (JSON.parse of the agent's
// lines; the shim's MESSAGE split as logfmt) and hands each record to the same OTel SDK set-up. No Kata semantics,
// no dedupe, no rules, no redaction, no integrity chain, no durability: nothing it read survives a crash.
//
//   node bench/baseline/follow.mjs --journal=DIR --files=DIR --url=http://127.0.0.1:4317 [--pollMs=200] [--emit=none]
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { arg, parseLogfmt, parseTimeHr, SEV, RESOURCE_ATTRS, require } from './lib.mjs';

const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-grpc');
const { resourceFromAttributes } = require('@opentelemetry/resources');

const journalDir = arg('journal', '');
const filesDir = arg('files', '');
const pollMs = Number(arg('pollMs', '200'));
// --emit=none: read and parse only, hand nothing to the SDK (what reading alone costs).
const emitNone = arg('emit', 'sdk') === 'none';

const exporter = new OTLPLogExporter({ url: arg('url', 'http://127.0.0.1:4317'), timeoutMillis: 60000 });
const provider = new LoggerProvider({
  resource: resourceFromAttributes(RESOURCE_ATTRS),
  processors: [
    new BatchLogRecordProcessor({
      exporter,
      maxQueueSize: 100000,
      maxExportBatchSize: 8192,
      scheduledDelayMillis: 200,
      exportTimeoutMillis: 60000,
    }),
  ],
});
const logger = provider.getLogger('kata-log-bridge', '0.1.0');

// As sdk_export.mjs's toRecord: every field but time, level and message becomes an attribute.
function emit(o, timeKey) {
  if (emitNone) return;
  const attributes = {};
  for (const k in o) if (k !== timeKey && k !== 'level' && k !== 'msg') attributes[k] = o[k];
  const level = o.level;
  logger.emit({
    timestamp: parseTimeHr(o[timeKey]) ?? undefined,
    severityNumber: SEV[level] ?? 0,
    severityText: level,
    body: o.msg,
    attributes,
  });
}

// The journal: the shim's logfmt lines, as the bench writes them (MESSAGE), beside journald's own fields.
if (journalDir) {
  const child = spawn(
    'journalctl',
    ['--output=json', '--all', '--no-pager', `--directory=${journalDir}`, '--follow', '--merge', '--no-tail']
      .concat(['SYSLOG_IDENTIFIER=kata', '+', '_SYSTEMD_UNIT=containerd.service', '+', '_SYSTEMD_UNIT=crio.service']),
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      const j = JSON.parse(line);
      if (typeof j.MESSAGE === 'string') emit(parseLogfmt(j.MESSAGE), 'time');
    } catch {
      // a naive shipper skips what it cannot parse
    }
  });
  process.on('exit', () => child.kill());
}

// The files: every *.log, from its start, polled every pollMs (an open descriptor and an offset per file).
const open = new Map();
function poll() {
  let names = [];
  try {
    names = fs.readdirSync(filesDir).filter((n) => n.endsWith('.log'));
  } catch {
    return;
  }
  for (const name of names) {
    const p = path.join(filesDir, name);
    let f = open.get(p);
    if (!f) open.set(p, (f = { fd: fs.openSync(p, 'r'), offset: 0, carry: '' }));
    const size = fs.fstatSync(f.fd).size;
    if (size <= f.offset) continue;
    const buf = Buffer.allocUnsafe(size - f.offset);
    const n = fs.readSync(f.fd, buf, 0, buf.length, f.offset);
    f.offset += n;
    const text = f.carry + buf.toString('utf8', 0, n);
    const last = text.lastIndexOf('\n');
    f.carry = text.slice(last + 1);
    let start = 0;
    let nl;
    while ((nl = text.indexOf('\n', start)) !== -1 && nl <= last) {
      if (nl > start) {
        try {
          emit(JSON.parse(text.slice(start, nl)), 'ts');
        } catch {
          // skipped, as above
        }
      }
      start = nl + 1;
    }
  }
}
if (filesDir) setInterval(poll, pollMs);

process.on('SIGTERM', async () => {
  await provider.shutdown();
  process.exit(0);
});
