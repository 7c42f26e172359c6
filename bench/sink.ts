// The bench's counting OTLP/gRPC receiver, run as its own process so its CPU is not the measured process's.
// grpc-js serves LogsService/Export; every request is decoded fully (wire.ts) before the reply, so a record is
// counted only once it was received and understood. Gzip requests are inflated by grpc-js.
//
// Protocol: prints one JSON line `{"port":…,"pid":…,"window":…}` when ready; then reads commands on stdin, one per
// line: `reset` (zero the counters), `stats` (print the counters and this process's CPU as one JSON line). Exits
// when stdin closes.
//   `latency N` (steady-state bench): of the tagged records (a `kb#<seq>@<write µs>` string attribute, from the
//   `bench_tag` field bench/gen.ts steadyLines adds) with seq < N, how many arrived, how many twice, and the write → arrival latency percentiles.
import * as grpc from '@grpc/grpc-js';
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import { createInterface } from 'node:readline';
import { decodeLogsRequest, type WireValue } from './wire.js';
import { latencyStats, type LatencyStats } from './latency.js';

const EXPORT_METHOD = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
/** A Collector's (grpc-go) flow-control windows grow towards this with BDP estimation; Node's default is 64 KiB,
 *  which makes every sender wait for WINDOW_UPDATEs (perf-baseline.md measured 15–30% on the fastest path). */
const WINDOW_BYTES = 8 * 1024 * 1024;

export interface SinkStats {
  requests: number;
  records: number;
  resources: number;
  attributes: number;
  chars: number;
  /** Request bytes after gzip inflation. */
  bytes: number;
  errors: number;
  lastError: string;
  cpuUserS: number;
  cpuSystemS: number;
}

const zero = () => ({
  requests: 0,
  records: 0,
  resources: 0,
  attributes: 0,
  chars: 0,
  bytes: 0,
  errors: 0,
  lastError: '',
});
let counts = zero();
/** Arrival latency in ms per tag seq (NaN: not arrived), and how many tags came more than once. */
let arrivals = new Float64Array(0).fill(NaN);
let repeats = 0;
const TAG = /^kb#(\d+)@(\d+)$/;
/** Wall clock in µs, as the writer stamps it (both processes read the same system clock). */
const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;

function arrived(attributes: [string, WireValue][], atUs: number): void {
  let m: RegExpExecArray | null = null;
  for (const [, v] of attributes) if (typeof v === 'string' && v.startsWith('kb#') && (m = TAG.exec(v))) break;
  if (!m) return;
  const seq = Number(m[1]);
  if (seq >= arrivals.length) {
    const grown = new Float64Array(Math.max(seq + 1, arrivals.length * 2, 1024)).fill(NaN);
    grown.set(arrivals);
    arrivals = grown;
  }
  if (!Number.isNaN(arrivals[seq]!)) repeats++;
  else arrivals[seq] = (atUs - Number(m[2])) / 1000;
}
let cpuBase = process.cpuUsage();

const EMPTY = Buffer.alloc(0); // ExportLogsServiceResponse{} (no partial_success)

const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
server.register<Buffer, Buffer>(
  EXPORT_METHOD,
  (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
    const req = call.request;
    try {
      const at = nowUs();
      const c = decodeLogsRequest(req, undefined, (_b, attrs) => arrived(attrs, at));
      counts.requests++;
      counts.records += c.records;
      counts.resources += c.resources;
      counts.attributes += c.attributes;
      counts.chars += c.chars;
      counts.bytes += req.length;
      callback(null, EMPTY);
    } catch (err) {
      counts.errors++;
      counts.lastError = (err as Error).message;
      callback({ code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message });
    }
  },
  (b: Buffer) => b,
  (b: Buffer) => b,
  'unary',
);

/** Raise the HTTP/2 windows (see WINDOW_BYTES). grpc-js has no server option for it, so this reaches into its
 *  private map of http2 servers; if a grpc-js upgrade renames it, the sink runs with Node's defaults and says so. */
function widenWindows(): string {
  const servers = (server as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) return 'default (64 KiB)';
  for (const h of servers.keys()) {
    h.updateSettings({ initialWindowSize: WINDOW_BYTES });
    h.on('session', (s: ServerHttp2Session) => {
      try {
        s.setLocalWindowSize(WINDOW_BYTES);
      } catch {
        /* the session closed already */
      }
    });
  }
  return `${WINDOW_BYTES / 1024 / 1024} MiB`;
}

server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`bench sink: cannot listen on 127.0.0.1: ${err.message}\n`);
    process.exit(1);
  }
  const window = widenWindows();
  process.stdout.write(JSON.stringify({ port, pid: process.pid, window }) + '\n');
});

createInterface({ input: process.stdin })
  .on('line', (line) => {
    const cmd = line.trim();
    if (cmd === 'reset') {
      counts = zero();
      arrivals = new Float64Array(0);
      repeats = 0;
      cpuBase = process.cpuUsage();
      process.stdout.write('{"ok":true}\n');
    } else if (cmd === 'stats') {
      const cpu = process.cpuUsage(cpuBase);
      const stats: SinkStats = { ...counts, cpuUserS: cpu.user / 1e6, cpuSystemS: cpu.system / 1e6 };
      process.stdout.write(JSON.stringify(stats) + '\n');
    } else if (cmd.startsWith('latency ')) {
      const n = Number(cmd.slice(8));
      const stats: LatencyStats = latencyStats(arrivals.subarray(0, Math.min(n, arrivals.length)), n, repeats);
      process.stdout.write(JSON.stringify(stats) + '\n');
    }
  })
  .on('close', () => {
    server.forceShutdown();
    process.exit(0);
  });
