#!/usr/bin/env node
// A Node service that already runs the OpenTelemetry JS SDK feeds Kata's logs into its own LoggerProvider with the
// Kata log bridge, and ships them with the durable exporter (disk queue: nothing lost on a crash or an outage).
//
//   node examples/bridge/bridge.mjs [log files…]          # default: examples/logs/*.log; prints what it emitted
//   KATA_OTEL_ENDPOINT=http://collector:4317 node examples/bridge/bridge.mjs /var/log/kata/*.log
//
// Without KATA_OTEL_ENDPOINT the records go to the SDK's console exporter (stdout), one line each.
// Inside this repository 'kata-otel' is the package itself (after `npm install`, which builds dist/).
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { AlertRules, DurableLogRecordExporter, KataLogBridge, runBridgeSources } from 'kata-otel';

const here = fileURLToPath(new URL('.', import.meta.url));
const files = process.argv.slice(2);
const inputs = files.length
  ? files
  : readdirSync(join(here, '../logs'))
      .filter((f) => f.endsWith('.log'))
      .map((f) => join(here, '../logs', f));
const dataDir = process.env.KATA_OTEL_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'kata-otel-bridge-example-'));

// 1. The app's own SDK setup: its Resource, a batch processor, an exporter.
const endpoint = process.env.KATA_OTEL_ENDPOINT;
const exporter = endpoint
  ? new DurableLogRecordExporter({ directory: dataDir, otlp: { endpoint, protocol: 'grpc' } })
  : consoleExporter();
const loggerProvider = new LoggerProvider({
  resource: resourceFromAttributes({ 'service.name': 'kata-node-agent' }),
  processors: [new BatchLogRecordProcessor({ exporter })],
});

// 2. The bridge, with the built-in security rules (alerts are emitted as `kata.alert` events).
const rules = new AlertRules();
const bridge = new KataLogBridge({ loggerProvider, stages: [rules.engine] });

// The minimal form, for one line:
await bridge.emitLine(
  'time="2025-11-20T16:20:02.481026977Z" level=info msg="VM started" name=containerd-shim-v2 pid=41001 sandbox=c0ffee source=virtcontainers subsystem=sandbox',
);

// 3. Files (or the journal: `journald: true`) through the daemon's sources, with its checkpoints: run it again
//    with the same KATA_OTEL_DATA_DIR and only new lines are emitted.
await runBridgeSources({
  bridge,
  checkpointDir: join(dataDir, 'checkpoints'),
  files: { name: 'example', include: inputs, startAt: 'beginning' },
  once: true,
});
await bridge.shutdown();
await loggerProvider.shutdown();
process.stderr.write(`bridge example: done (checkpoints in ${join(dataDir, 'checkpoints')})\n`);

/** A LogRecordExporter that prints one JSON line per record (the SDK's ConsoleLogRecordExporter prints objects). */
function consoleExporter() {
  return {
    export(logs, done) {
      for (const l of logs) {
        const { hrTime, severityNumber, severityText, body, attributes, eventName } = l;
        process.stdout.write(
          JSON.stringify({ time: hrTime, severityNumber, severityText, body, eventName, attributes }) + '\n',
        );
      }
      done({ code: 0 });
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
}
