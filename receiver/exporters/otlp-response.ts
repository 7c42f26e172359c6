// Reading OTLP responses: ExportLogsServiceResponse.partial_success (protobuf and JSON), google.rpc.Status
// with RetryInfo (gRPC `grpc-status-details-bin` trailer, OTLP/HTTP error bodies) and HTTP Retry-After.
// Hand-decoded with the small reader in receiver/otlp: these are a handful of fields.
import { ProtoReader } from '../otlp/proto-reader.js';
import type { ExportResult } from './types.js';

export interface PartialSuccess {
  rejected: number;
  message: string;
}

/** ExportLogsServiceResponse { partial_success = 1 { rejected_log_records = 1 int64; error_message = 2 } }.
 * Undefined when absent or unreadable (the data was accepted either way). */
export function decodePartialSuccessProto(bytes: Uint8Array): PartialSuccess | undefined {
  try {
    const r = new ProtoReader(bytes);
    let out: PartialSuccess | undefined;
    while (!r.done) {
      const [f, w] = r.tag();
      if (f !== 1 || w !== 2) {
        r.skip(w);
        continue;
      }
      const ps = r.sub();
      out = { rejected: 0, message: '' };
      while (!ps.done) {
        const [pf, pw] = ps.tag();
        if (pf === 1 && pw === 0) out.rejected = Number(ps.int64());
        else if (pf === 2 && pw === 2) out.message = ps.string();
        else ps.skip(pw);
      }
    }
    return out;
  } catch {
    return undefined;
  }
}

/** `{"partialSuccess":{"rejectedLogRecords":"3","errorMessage":"…"}}` (int64 as string or number). */
export function decodePartialSuccessJson(text: string): PartialSuccess | undefined {
  try {
    const doc = JSON.parse(text) as {
      partialSuccess?: {
        rejectedLogRecords?: unknown;
        rejectedSpans?: unknown;
        rejectedDataPoints?: unknown;
        errorMessage?: unknown;
      };
    } | null;
    const ps = doc?.partialSuccess;
    if (!ps || typeof ps !== 'object') return undefined;
    const n = Number(ps.rejectedLogRecords ?? ps.rejectedSpans ?? ps.rejectedDataPoints ?? 0);
    return {
      rejected: Number.isFinite(n) && n > 0 ? Math.trunc(n) : 0,
      message: typeof ps.errorMessage === 'string' ? ps.errorMessage : '',
    };
  } catch {
    return undefined;
  }
}

/** The success result, with the partial-success counts when the server reported any. */
export function successResult(ps: PartialSuccess | undefined): ExportResult {
  if (!ps || (ps.rejected === 0 && ps.message === '')) return { code: 'success' };
  const out: ExportResult = { code: 'success' };
  if (ps.rejected > 0) out.rejected = ps.rejected;
  if (ps.message) out.message = ps.message;
  return out;
}

export interface RpcStatus {
  code: number;
  message: string;
  /** From a google.rpc.RetryInfo detail. */
  retryDelayMs?: number;
}

const RETRY_INFO = 'google.rpc.RetryInfo';

/** google.rpc.Status { code = 1 int32; message = 2; details = 3 repeated google.protobuf.Any { type_url = 1;
 * value = 2 } }, with RetryInfo { retry_delay = 1 google.protobuf.Duration { seconds = 1; nanos = 2 } }. */
export function decodeRpcStatus(bytes: Uint8Array): RpcStatus | undefined {
  try {
    const r = new ProtoReader(bytes);
    const out: RpcStatus = { code: 0, message: '' };
    while (!r.done) {
      const [f, w] = r.tag();
      if (f === 1 && w === 0) out.code = Number(BigInt.asIntN(32, r.bigVarint()));
      else if (f === 2 && w === 2) out.message = r.string();
      else if (f === 3 && w === 2) {
        const any = r.sub();
        let typeUrl = '';
        let value: ProtoReader | undefined;
        while (!any.done) {
          const [af, aw] = any.tag();
          if (af === 1 && aw === 2) typeUrl = any.string();
          else if (af === 2 && aw === 2) value = any.sub();
          else any.skip(aw);
        }
        if (value && typeUrl.endsWith('/' + RETRY_INFO)) {
          const ms = retryInfoMs(value);
          if (ms !== undefined) out.retryDelayMs = ms;
        }
      } else r.skip(w);
    }
    return out;
  } catch {
    return undefined;
  }
}

function retryInfoMs(r: ProtoReader): number | undefined {
  let ms: number | undefined;
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === 2) {
      const d = r.sub();
      let seconds = 0;
      let nanos = 0;
      while (!d.done) {
        const [df, dw] = d.tag();
        if (df === 1 && dw === 0) seconds = Number(d.int64());
        else if (df === 2 && dw === 0) nanos = Number(BigInt.asIntN(32, d.bigVarint()));
        else d.skip(dw);
      }
      const total = seconds * 1000 + Math.ceil(nanos / 1e6);
      ms = Number.isFinite(total) && total > 0 ? total : 0;
    } else r.skip(w);
  }
  return ms;
}

/** JSON google.rpc.Status (`{"code":14,"message":"…","details":[{"@type":"…RetryInfo","retryDelay":"1.5s"}]}`). */
export function decodeRpcStatusJson(text: string): RpcStatus | undefined {
  try {
    const doc = JSON.parse(text) as { code?: unknown; message?: unknown; details?: unknown } | null;
    if (!doc || typeof doc !== 'object') return undefined;
    const out: RpcStatus = { code: Number(doc.code) || 0, message: typeof doc.message === 'string' ? doc.message : '' };
    if (Array.isArray(doc.details))
      for (const d of doc.details as { '@type'?: unknown; retryDelay?: unknown }[]) {
        if (
          typeof d?.['@type'] === 'string' &&
          d['@type'].endsWith('/' + RETRY_INFO) &&
          typeof d.retryDelay === 'string'
        ) {
          const m = /^(\d+(?:\.\d+)?)s$/.exec(d.retryDelay);
          if (m) out.retryDelayMs = Math.ceil(Number(m[1]) * 1000);
        }
      }
    return out;
  } catch {
    return undefined;
  }
}

/** Retry-After: delay-seconds or an HTTP-date (RFC 9110 §10.2.3). Undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs = Date.now()): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Printable excerpt of an error body for messages. */
export function excerpt(text: string, max = 300): string {
  const clean = text
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return clean.length > max ? clean.slice(0, max) + '…' : clean;
}

/** One-line error text, with a pointer to the TLS settings when the failure looks like a TLS one. */
export function describeTransportError(text: string): string {
  const line = text
    .replace(/\s+/g, ' ')
    .replace(/ Resolution note: ?$/, '')
    .trim();
  return /certificate|CERT_|SSL|TLS|self[- ]signed/i.test(line)
    ? `${line}; check the TLS settings (tls.caFile / OTEL_EXPORTER_OTLP_CERTIFICATE, tls.certFile and tls.keyFile for mTLS)`
    : line;
}
