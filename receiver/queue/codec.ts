// The disk queue's on-disk format. A segment file is a sequence of frames:
//
//   [magic u32 BE][length u32 BE][crc32 u32 BE][payload: length bytes]
//   payload = [record count u32 BE, high bit: sealed][body]
//   body    = UTF-8 JSON, one array per record (starts with '['), or
//             the exporter's OTLP protobuf ExportLogsServiceRequest (starts with 0x0a, its first resource_logs tag), or
//             a signal payload: 0x01, a kind byte (`t` spans, `m` metric points), JSON (receiver/signals/payload.ts);
//             JSON escapes control characters, so 0x01 also separates concatenated signal payloads
//
// An exporter with a payload codec (exporters/types.ts: OTLP/gRPC, OTLP/HTTP protobuf) gets protobuf bodies: the
// records are encoded once, when queued, and those bytes are what is sent, so nothing is serialized twice (the
// JSON body and then the request cost as much as the rest of the pipeline: bench/README.md). Other exporters get
// JSON bodies. Either kind can be read back for either kind of exporter (a configuration change between runs).
//
// JSON record arrays are [time, observedTime, severityNumber, severityText, body, attributes, eventName?, traceId?,
// spanId?] with the bigint times as decimal strings. Positional arrays rather than objects: no key names repeated
// per record (a fifth smaller for a typical Kata record: 388 vs 478 bytes). The count prefix lets recovery size the
// queue without parsing payloads.
//
// Sealed (the count's high bit): the records were stamped with their integrity chain numbers when the frame was
// written (exporters/types.ts Sealer); a queue sends them as they are. Unsealed frames of an exporter that seals
// (written before it did) are sealed again at start (disk.ts).
//
// The magic 0xFF4B4FFE contains the bytes 0xFF and 0xFE, which never occur in UTF-8, so it cannot appear inside a
// JSON body; a protobuf body can contain it (inside a fixed64 time, say), but after a damaged frame the scanner
// takes a magic for the next frame only when the length is sane and the CRC over that length checks (a false match
// has odds of about 2^-32).
import { crc32 } from 'node:zlib';
import type { Attributes, KataLogRecord } from '../model/record.js';
import { decodeLogsProto } from '../otlp/decode.js';

export const FRAME_MAGIC = 0xff4b4ffe;
export const FRAME_HEADER_BYTES = 12;
const COUNT_BYTES = 4;
const SEALED = 0x8000_0000;
const COUNT_MASK = 0x7fff_ffff;
/** A length field above this is damage, not a frame (frames are at most maxBatchRecords records). */
const MAX_FRAME_PAYLOAD = 1 << 30;
const MAGIC_BYTES = Buffer.from([0xff, 0x4b, 0x4f, 0xfe]);

type RecordTuple = [
  string,
  string,
  number,
  string,
  string,
  Attributes,
  (string | null)?,
  (string | null)?,
  (string | null)?,
];

function ns(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' && Number.isFinite(v)) return BigInt(Math.trunc(v)).toString();
  return '0';
}

// The last observed time and its text: a batch's records share it (one read), and BigInt#toString is not cheap.
let lastObserved: unknown = -1n;
let lastObservedText = '0';
function observedNs(v: unknown): string {
  if (v !== lastObserved) {
    lastObservedText = ns(v);
    lastObserved = v;
  }
  return lastObservedText;
}

function toTuple(r: KataLogRecord): RecordTuple {
  const t: RecordTuple = [
    ns(r.timeUnixNano),
    observedNs(r.observedTimeUnixNano),
    r.severityNumber,
    r.severityText,
    r.body,
    r.attributes,
  ];
  if (r.eventName !== undefined || r.traceId !== undefined || r.spanId !== undefined)
    t.push(r.eventName ?? null, r.traceId ?? null, r.spanId ?? null);
  return t;
}

const bigintAsString = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

export interface EncodedFrame {
  frame: Buffer;
  /** Records in the frame. */
  count: number;
  /** Records left out because they could not be serialized (a cycle in attributes): caller counts them. */
  skipped: number;
}

/** Serializes records into one frame. Never throws: a record that cannot be serialized is left out and counted. */
export function encodeFrame(records: KataLogRecord[], sealed = false): EncodedFrame {
  let json: string;
  let count = records.length;
  try {
    json = JSON.stringify(records.map(toTuple));
  } catch {
    // Slow path, only for malformed records (bigint or cyclic attribute values): keep every record that can be kept.
    const parts: string[] = [];
    for (const r of records) {
      try {
        parts.push(JSON.stringify(toTuple(r), bigintAsString));
      } catch {
        /* counted through `skipped` */
      }
    }
    json = `[${parts.join(',')}]`;
    count = parts.length;
  }
  const jsonBytes = Buffer.byteLength(json);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + COUNT_BYTES + jsonBytes);
  frame.writeUInt32BE(FRAME_MAGIC, 0);
  frame.writeUInt32BE(COUNT_BYTES + jsonBytes, 4);
  frame.writeUInt32BE(sealed ? (count | SEALED) >>> 0 : count, FRAME_HEADER_BYTES);
  frame.write(json, FRAME_HEADER_BYTES + COUNT_BYTES, 'utf8');
  frame.writeUInt32BE(crc32(frame.subarray(FRAME_HEADER_BYTES)), 8);
  return { frame, count, skipped: records.length - count };
}

/**
 * A frame around an exporter payload (an OTLP protobuf request holding `count` records), as the parts to write in
 * order: the header (with the count) and the payload itself, not a copy of it (the disk queue writes both with one
 * writev and keeps the payload as its cache: one copy of the bytes in memory, issue 20).
 */
export function payloadFrameParts(payload: Uint8Array, count: number, sealed = false): [Buffer, Buffer] {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES + COUNT_BYTES);
  head.writeUInt32BE(FRAME_MAGIC, 0);
  head.writeUInt32BE(COUNT_BYTES + body.length, 4);
  head.writeUInt32BE(sealed ? (count | SEALED) >>> 0 : count, FRAME_HEADER_BYTES);
  head.writeUInt32BE(crc32(body, crc32(head.subarray(FRAME_HEADER_BYTES))), 8);
  return [head, body];
}

const OTLP_BODY = 0x0a;
/** First byte of a signal payload (spans, metric points), see the header. */
export const SIGNAL_BODY = 0x01;

/**
 * What a valid frame holds: its records (JSON body) or its OTLP protobuf request (a view into `frame`); null when
 * the payload is not what the encoders write.
 */
export function readFrame(frame: Buffer): KataLogRecord[] | Uint8Array | null {
  const body = FRAME_HEADER_BYTES + COUNT_BYTES;
  if (frame.length > body && (frame[body] === OTLP_BODY || frame[body] === SIGNAL_BODY)) return frame.subarray(body);
  return decodeFrame(frame);
}

/** The whole frame's length if a valid frame (magic, sane length, matching CRC) starts at `pos`, else -1. */
export function frameLengthAt(buf: Buffer, pos: number): number {
  if (pos + FRAME_HEADER_BYTES + COUNT_BYTES > buf.length) return -1;
  if (buf.readUInt32BE(pos) !== FRAME_MAGIC) return -1;
  const len = buf.readUInt32BE(pos + 4);
  if (len < COUNT_BYTES || len > MAX_FRAME_PAYLOAD) return -1;
  const end = pos + FRAME_HEADER_BYTES + len;
  if (end > buf.length) return -1;
  if (crc32(buf.subarray(pos + FRAME_HEADER_BYTES, end)) !== buf.readUInt32BE(pos + 8)) return -1;
  return FRAME_HEADER_BYTES + len;
}

/** Record count of the valid frame at `pos` (check with frameLengthAt first). */
export function frameCountAt(buf: Buffer, pos: number): number {
  return (buf.readUInt32BE(pos + FRAME_HEADER_BYTES) & COUNT_MASK) >>> 0;
}

/** Whether the valid frame at `pos` holds sealed records (see the header). */
export function frameSealedAt(buf: Buffer, pos: number): boolean {
  return (buf.readUInt32BE(pos + FRAME_HEADER_BYTES) & SEALED) !== 0;
}

/** Decodes a valid frame's records (either body kind); null when the payload is not what the encoders write. */
export function decodeFrame(frame: Buffer): KataLogRecord[] | null {
  const body = FRAME_HEADER_BYTES + COUNT_BYTES;
  if (frame.length > body && frame[body] === OTLP_BODY) {
    let broken = false;
    const records = decodeLogsProto(frame.subarray(body), () => (broken = true));
    return broken || records.length !== frameCountAt(frame, 0) ? null : records;
  }
  try {
    const count = frameCountAt(frame, 0);
    const arr: unknown = JSON.parse(frame.toString('utf8', FRAME_HEADER_BYTES + COUNT_BYTES));
    if (!Array.isArray(arr) || arr.length !== count) return null;
    const out: KataLogRecord[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const t = arr[i] as unknown[];
      if (!Array.isArray(t) || t.length < 6) return null;
      const attrs = t[5];
      const rec: KataLogRecord = {
        timeUnixNano: BigInt(t[0] as string),
        observedTimeUnixNano: BigInt(t[1] as string),
        severityNumber: typeof t[2] === 'number' ? t[2] : 0,
        severityText: typeof t[3] === 'string' ? t[3] : '',
        body: typeof t[4] === 'string' ? t[4] : String(t[4] ?? ''),
        attributes: typeof attrs === 'object' && attrs !== null && !Array.isArray(attrs) ? (attrs as Attributes) : {},
      };
      if (typeof t[6] === 'string') rec.eventName = t[6];
      if (typeof t[7] === 'string') rec.traceId = t[7];
      if (typeof t[8] === 'string') rec.spanId = t[8];
      out[i] = rec;
    }
    return out;
  } catch {
    return null;
  }
}

export interface ScannedFrame {
  offset: number;
  /** Whole frame, header included. */
  length: number;
  count: number;
  sealed: boolean;
}

export interface DamagedRegion {
  offset: number;
  length: number;
  /** The damage runs to the end of the buffer (a torn write): nothing valid follows it. */
  tail: boolean;
}

/**
 * Splits a segment's bytes into valid frames and damaged regions. A damaged region (bad magic, impossible length,
 * CRC mismatch, short read) ends where the next valid frame starts, found by scanning for the magic; never throws.
 */
export function scanFrames(buf: Buffer): { frames: ScannedFrame[]; damaged: DamagedRegion[] } {
  const frames: ScannedFrame[] = [];
  const damaged: DamagedRegion[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const len = frameLengthAt(buf, pos);
    if (len > 0) {
      frames.push({ offset: pos, length: len, count: frameCountAt(buf, pos), sealed: frameSealedAt(buf, pos) });
      pos += len;
      continue;
    }
    let next = pos + 1;
    for (;;) {
      next = buf.indexOf(MAGIC_BYTES, next);
      if (next < 0 || frameLengthAt(buf, next) > 0) break;
      next++;
    }
    const end = next < 0 ? buf.length : next;
    damaged.push({ offset: pos, length: end - pos, tail: next < 0 });
    pos = end;
  }
  return { frames, damaged };
}
