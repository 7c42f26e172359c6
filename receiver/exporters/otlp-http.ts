// OTLP/HTTP logs exporter (http/protobuf and http/json): one POST per batch.
//
// Built on node:http/https with a keep-alive Agent rather than the global fetch: Node 20's fetch (undici)
// takes a custom CA or client certificate only through undici's own Agent, which Node does not expose
// without adding undici as a dependency; https.Agent takes `ca`, `cert`, `key` directly.
//
// Never retries: the delivery queue owns retry. Outcomes per the OTLP spec (opentelemetry-proto
// docs/specification.md, "OTLP/HTTP Response"): 2xx success (partial_success read from the body); 429, 502,
// 503, 504 retryable, honouring Retry-After (seconds or HTTP-date); any other 4xx/5xx permanent; no
// response at all (connection refused/reset, timeout) retryable; a response over 4 MiB permanent.
import * as http from 'node:http';
import * as https from 'node:https';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { KataLogRecord } from '../model/record.js';
import { encodeLogsJson } from '../otlp/encode-json.js';
import { encodeLogsProto } from '../otlp/encode-proto.js';
import { SCOPE_VERSION } from '../otlp/resource.js';
import type { OtlpSettings } from './otlp-config.js';
import {
  decodePartialSuccessJson,
  decodePartialSuccessProto,
  decodeRpcStatus,
  decodeRpcStatusJson,
  describeTransportError,
  excerpt,
  parseRetryAfter,
  successResult,
  type RpcStatus,
} from './otlp-response.js';
import type { ExportResult, Exporter, PayloadCodec } from './types.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
/** Spec: the client MUST limit the response body, after decompression too; 4 MiB recommended. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

interface RawResponse {
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export class OtlpHttpExporter implements Exporter {
  readonly name: string;
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly json: boolean;
  private closed = false;

  constructor(
    readonly settings: OtlpSettings,
    opts: { name?: string } = {},
  ) {
    this.name = opts.name ?? (settings.protocol === 'http/json' ? 'otlp-http-json' : 'otlp-http');
    this.url = new URL(settings.endpoint);
    this.json = settings.protocol === 'http/json';
    this.payload = this.json
      ? undefined
      : {
          type: 'application/x-protobuf',
          encode: (records, extra) => encodeLogsProto(records, { resource: this.settings.resource, extra }),
          extraAttributes: true,
          export: (body, records, signal) => this.send(body, records, signal),
        };
    const { tls } = settings;
    this.agent = settings.secure
      ? new https.Agent({
          keepAlive: true,
          ca: tls.ca,
          cert: tls.cert,
          key: tls.key,
          rejectUnauthorized: !tls.insecureSkipVerify,
        })
      : new http.Agent({ keepAlive: true });
  }

  /** http/protobuf: the request body, encoded once by the delivery queue (exporters/types.ts). OTLP/JSON requests
   *  do not concatenate, so http/json has none. */
  readonly payload: PayloadCodec | undefined;

  async export(records: KataLogRecord[], signal?: AbortSignal): Promise<ExportResult> {
    const target = this.settings.endpoint;
    if (this.closed) return { code: 'retryable', error: `OTLP/HTTP exporter for ${target} is shut down` };
    if (records.length === 0) return { code: 'success' };
    let body: Uint8Array;
    try {
      const opts = { resource: this.settings.resource };
      body = this.json ? Buffer.from(encodeLogsJson(records, opts), 'utf8') : encodeLogsProto(records, opts);
    } catch (err) {
      return {
        code: 'permanent',
        error: `OTLP/HTTP export to ${target}: cannot encode the batch: ${(err as Error).message}`,
      };
    }
    return this.send(body, records.length, signal);
  }

  /** An empty ExportLogsServiceRequest (`{}` in OTLP/JSON): connects and authenticates without sending data.
   *  `records` is 1 only to get past send()'s nothing-to-send shortcut. */
  probe(signal?: AbortSignal): Promise<ExportResult> {
    return this.send(this.json ? Buffer.from('{}') : new Uint8Array(0), 1, signal);
  }

  /** Posts an encoded request (`records` items) as it is: protobuf, or JSON when the protocol is http/json. */
  async send(payload: Uint8Array, records: number, signal?: AbortSignal): Promise<ExportResult> {
    const target = this.settings.endpoint;
    if (this.closed) return { code: 'retryable', error: `OTLP/HTTP exporter for ${target} is shut down` };
    if (records === 0) return { code: 'success' };
    if (signal?.aborted) return { code: 'retryable', error: `OTLP/HTTP export to ${target} aborted before sending` };
    let body = payload;
    try {
      if (this.settings.compression === 'gzip') body = await gzipAsync(body);
    } catch (err) {
      return {
        code: 'permanent',
        error: `OTLP/HTTP export to ${target}: cannot compress the batch: ${(err as Error).message}`,
      };
    }
    let res: RawResponse;
    try {
      res = await this.post(body, signal);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.name === 'ResponseTooLarge')
        return { code: 'permanent', error: `OTLP/HTTP export to ${target}: ${e.message}` };
      const text = `OTLP/HTTP export to ${target} failed: ${e.code ? `${e.code} ` : ''}${e.message}`;
      return { code: 'retryable', error: describeTransportError(text) };
    }
    return this.classify(res);
  }

  private post(body: Uint8Array, signal?: AbortSignal): Promise<RawResponse> {
    const headers: http.OutgoingHttpHeaders = {
      'user-agent': `kata-otel/${SCOPE_VERSION}`,
      ...this.settings.headers,
      'content-type': this.json ? 'application/json' : 'application/x-protobuf',
      'content-length': body.byteLength,
      'accept-encoding': 'gzip',
    };
    if (this.settings.compression === 'gzip') headers['content-encoding'] = 'gzip';
    const mod = this.url.protocol === 'https:' ? https : http;
    const timeoutMs = this.settings.timeoutMs;
    return new Promise<RawResponse>((resolve, reject) => {
      let settled = false;
      const done = (err: Error | undefined, res?: RawResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(res!);
      };
      const req = mod.request(this.url, { method: 'POST', agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) {
            const e = new Error(`response body larger than ${MAX_RESPONSE_BYTES} bytes (HTTP ${res.statusCode})`);
            e.name = 'ResponseTooLarge';
            done(e);
            req.destroy();
            return;
          }
          chunks.push(c);
        });
        res.on('error', (e) => done(e));
        res.on('end', () => {
          let buf = Buffer.concat(chunks);
          const finish = () =>
            done(undefined, {
              status: res.statusCode ?? 0,
              statusText: res.statusMessage ?? '',
              headers: res.headers,
              body: buf,
            });
          if (res.headers['content-encoding'] === 'gzip' && buf.length > 0) {
            gunzipAsync(buf, { maxOutputLength: MAX_RESPONSE_BYTES }).then(
              (out) => ((buf = out), finish()),
              (e: Error) => {
                const tooLarge =
                  /maxOutputLength|buffer/i.test(e.message) ||
                  (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
                if (tooLarge) {
                  const big = new Error(
                    `gzip response body larger than ${MAX_RESPONSE_BYTES} bytes after decompression`,
                  );
                  big.name = 'ResponseTooLarge';
                  done(big);
                } else done(e);
              },
            );
          } else finish();
        });
      });
      const onAbort = () => {
        req.destroy(new Error('aborted by the caller'));
      };
      const timer =
        timeoutMs > 0
          ? setTimeout(() => req.destroy(new Error(`no response within the ${timeoutMs} ms timeout`)), timeoutMs)
          : undefined;
      req.on('error', (e) => done(e));
      signal?.addEventListener('abort', onAbort, { once: true });
      req.end(body);
    });
  }

  private classify(res: RawResponse): ExportResult {
    const target = this.settings.endpoint;
    const ctype = String(res.headers['content-type'] ?? '');
    const isJson = ctype.includes('json') || (!ctype.includes('protobuf') && this.json);
    if (res.status >= 200 && res.status < 300) {
      if (res.body.length === 0) return { code: 'success' };
      return successResult(
        isJson ? decodePartialSuccessJson(res.body.toString('utf8')) : decodePartialSuccessProto(res.body),
      );
    }
    // Error bodies are a google.rpc.Status (protobuf or JSON) per the spec; anything else is shown as text.
    let status: RpcStatus | undefined;
    if (res.body.length > 0 && ctype.includes('protobuf')) status = decodeRpcStatus(res.body);
    else if (res.body.length > 0 && ctype.includes('json')) status = decodeRpcStatusJson(res.body.toString('utf8'));
    const detail = status?.message ? status.message : res.body.length ? excerpt(res.body.toString('utf8')) : '';
    const text = `OTLP/HTTP export to ${target} failed: HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}${detail ? `: ${detail}` : ''}`;
    if (RETRYABLE_STATUS.has(res.status)) {
      const out: ExportResult = { code: 'retryable', error: text };
      const after = parseRetryAfter(res.headers['retry-after']) ?? status?.retryDelayMs;
      if (after !== undefined) out.retryAfterMs = after;
      return out;
    }
    return { code: 'permanent', error: text };
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.agent.destroy();
  }
}
