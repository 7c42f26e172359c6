// Response readers: partial success, google.rpc.Status + RetryInfo, Retry-After. Encoded with the official
// generated code where it has the message (ExportLogsServiceResponse), by hand for google.rpc.* (not in it).
import { describe, expect, it } from 'vitest';
import {
  decodePartialSuccessJson,
  decodePartialSuccessProto,
  decodeRpcStatus,
  decodeRpcStatusJson,
  parseRetryAfter,
  successResult,
} from '../../receiver/exporters/otlp-response.js';
import { ExportLogsServiceResponse } from '../support/otlp-proto.js';

const pb = (obj: Record<string, unknown>) =>
  ExportLogsServiceResponse.encode(ExportLogsServiceResponse.fromObject(obj)).finish();

describe('partial success', () => {
  it('reads rejected_log_records and error_message from protobuf', () => {
    expect(
      decodePartialSuccessProto(pb({ partialSuccess: { rejectedLogRecords: '5', errorMessage: 'too old' } })),
    ).toEqual({
      rejected: 5,
      message: 'too old',
    });
    expect(decodePartialSuccessProto(pb({}))).toBeUndefined();
    expect(decodePartialSuccessProto(new Uint8Array([0x0a, 0x05, 0x08]))).toBeUndefined(); // truncated: no throw
  });

  it('reads the JSON form with int64 as string or number', () => {
    expect(decodePartialSuccessJson('{"partialSuccess":{"rejectedLogRecords":"3","errorMessage":"x"}}')).toEqual({
      rejected: 3,
      message: 'x',
    });
    expect(decodePartialSuccessJson('{"partialSuccess":{"rejectedLogRecords":2}}')).toEqual({
      rejected: 2,
      message: '',
    });
    expect(decodePartialSuccessJson('{}')).toBeUndefined();
    expect(decodePartialSuccessJson('<html>')).toBeUndefined();
  });

  it('a warning-only partial success is a plain success with its message', () => {
    expect(successResult({ rejected: 0, message: 'deprecated field' })).toEqual({
      code: 'success',
      message: 'deprecated field',
    });
    expect(successResult({ rejected: 0, message: '' })).toEqual({ code: 'success' });
  });
});

describe('google.rpc.Status with RetryInfo', () => {
  // Status{code=14, message="busy", details=[Any{type_url=".../google.rpc.RetryInfo", value=RetryInfo{retry_delay={seconds=2, nanos=500000000}}}]}
  const varint = (n: number) => {
    const out: number[] = [];
    for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80);
    out.push(n);
    return out;
  };
  const len = (tag: number, b: number[]) => [tag, ...varint(b.length), ...b];
  const duration = [0x08, ...varint(2), 0x10, ...varint(500_000_000)];
  const any = (type: string, value: number[]) => [...len(0x0a, [...Buffer.from(type)]), ...len(0x12, value)];
  const status = (details: number[][]) =>
    new Uint8Array([0x08, 14, ...len(0x12, [...Buffer.from('busy')]), ...details.flatMap((d) => len(0x1a, d))]);

  it('finds the RetryInfo among other details', () => {
    const s = status([
      any('type.googleapis.com/google.rpc.DebugInfo', [0x0a, 0x01, 0x41]),
      any('type.googleapis.com/google.rpc.RetryInfo', len(0x0a, duration)),
    ]);
    expect(decodeRpcStatus(s)).toEqual({ code: 14, message: 'busy', retryDelayMs: 2500 });
    expect(decodeRpcStatus(status([]))).toEqual({ code: 14, message: 'busy' });
    expect(decodeRpcStatus(new Uint8Array([0x12, 0x09, 0x41]))).toBeUndefined();
  });

  it('reads the JSON form', () => {
    expect(
      decodeRpcStatusJson(
        '{"code":8,"message":"slow down","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}',
      ),
    ).toEqual({
      code: 8,
      message: 'slow down',
      retryDelayMs: 1500,
    });
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('takes delay-seconds or an HTTP-date', () => {
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(['12'], now)).toBe(12_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
