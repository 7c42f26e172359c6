// A plain protobuf writer for the OTLP messages that are not on the hot path (traces, metrics: a few per
// sandbox or per interval): nested Buffers, no scratch buffer (the logs encoder, encode-proto.ts, is the hot one).
import { otherToString, toU64, wellFormed } from './values.js';

export type Part = Buffer;

export function varint(n: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}
export const tag = (field: number, wire: number) => varint((field << 3) | wire);
export const len = (field: number, body: Buffer): Buffer => Buffer.concat([tag(field, 2), varint(body.length), body]);
export const text = (field: number, s: string): Buffer => len(field, Buffer.from(wellFormed(s), 'utf8'));
export function fixed64(field: number, v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(toU64(v));
  return Buffer.concat([tag(field, 1), b]);
}

export function anyValue(v: unknown): Buffer {
  switch (typeof v) {
    case 'string':
      return text(1, v);
    case 'boolean':
      return Buffer.concat([tag(2, 0), varint(v ? 1 : 0)]);
    case 'number':
      return Number.isSafeInteger(v) ? Buffer.concat([tag(3, 0), varint(v)]) : double(4, v);
    default:
      if (Array.isArray(v)) return len(5, Buffer.concat(v.map((e) => len(1, anyValue(e ?? '')))));
      return text(1, otherToString(v));
  }
}
export const keyValue = (k: string, v: unknown): Buffer => Buffer.concat([text(1, k), len(2, anyValue(v))]);

export function double(field: number, v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return Buffer.concat([tag(field, 1), b]);
}
