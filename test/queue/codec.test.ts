// The disk queue's frame format: exact round trip of any record, and recovery from arbitrary damage.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KataLogRecord } from '../../receiver/model/record.js';
import {
  decodeFrame,
  encodeFrame,
  FRAME_HEADER_BYTES,
  payloadFrameParts,
  readFrame,
  scanFrames,
} from '../../receiver/queue/codec.js';
import {
  ATTR_KATA_COMPONENT,
  ATTR_KATA_HYPERVISOR_PID,
  ATTR_KATA_SANDBOX_ID,
  ATTR_LOG_FILE_PATH,
} from '../../receiver/semconv/generated.js';
import { makeRecords } from './helpers.js';

const finiteNumber = fc
  .oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }))
  .filter((x) => !Object.is(x, -0));

const recordArb: fc.Arbitrary<KataLogRecord> = fc.record(
  {
    timeUnixNano: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    observedTimeUnixNano: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    severityNumber: fc.integer({ min: 0, max: 24 }),
    severityText: fc.string(),
    // `binary` includes lone surrogates, which must survive too.
    body: fc.string({ unit: 'binary', maxLength: 200 }),
    attributes: fc.dictionary(
      fc.constantFrom(ATTR_KATA_SANDBOX_ID, ATTR_KATA_COMPONENT, ATTR_LOG_FILE_PATH, ATTR_KATA_HYPERVISOR_PID),
      fc.oneof(fc.string({ unit: 'binary' }), finiteNumber, fc.boolean(), fc.array(fc.string(), { maxLength: 3 })),
    ),
    eventName: fc.string({ minLength: 1 }),
    traceId: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 32 }),
    spanId: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 16, maxLength: 16 }),
  },
  { requiredKeys: ['timeUnixNano', 'observedTimeUnixNano', 'severityNumber', 'severityText', 'body', 'attributes'] },
);

describe('queue frame codec', () => {
  it('round-trips any record exactly', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 20 }), (records) => {
        const { frame, count, skipped } = encodeFrame(records);
        expect([count, skipped]).toEqual([records.length, 0]);
        expect(decodeFrame(frame)).toEqual(records);
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it('writes the bytes JSON.stringify gives for the record tuples (frames of older builds read the same)', () => {
    // The frame body is written directly (no tuple arrays, no JSON text in between): it must stay byte for byte what
    // the tuple form's JSON.stringify writes, for hostile strings, odd numbers, and values only the general path takes.
    const unit = fc.oneof(
      fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
      fc.constantFrom('"', '\\', '\n', '\u0000', '\u007f', '\u2028', '\ud800', 'é', '😀', 'a'),
    );
    const text = fc.string({ unit, maxLength: 30 });
    const value = fc.oneof(
      text,
      fc.boolean(),
      fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
      fc.double(), // NaN and ±Infinity are `null` in JSON
      fc.constantFrom(-0, null, undefined, [], ['a', 'é'], [1, 'a'], { toJSON: () => 'x' }),
      fc.array(text, { maxLength: 3 }),
    );
    const time = fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      fc.constantFrom(0n, 2n ** 53n - 1n, 2n ** 53n, 1714557600000166229n, 2n ** 64n - 1n),
    );
    const rec = fc.record(
      {
        timeUnixNano: time,
        observedTimeUnixNano: time,
        severityNumber: fc.oneof(fc.integer({ min: -3, max: 24 }), fc.constantFrom(1.5, NaN)),
        severityText: text,
        body: text,
        attributes: fc.dictionary(text, value, { maxKeys: 6 }),
        eventName: fc.oneof(text, fc.constant(null)),
        traceId: text,
        spanId: text,
      },
      {
        requiredKeys: ['timeUnixNano', 'observedTimeUnixNano', 'severityNumber', 'severityText', 'body', 'attributes'],
      },
    ) as fc.Arbitrary<KataLogRecord>;
    // The documented tuple (the header of receiver/queue/codec.ts): times as decimal strings, the optional tail
    // present when any of it is.
    const tuple = ({
      timeUnixNano,
      observedTimeUnixNano,
      severityNumber,
      severityText,
      body,
      attributes,
      ...tail
    }: KataLogRecord): unknown[] =>
      (
        [
          String(timeUnixNano),
          String(observedTimeUnixNano),
          severityNumber,
          severityText,
          body,
          attributes,
        ] as unknown[]
      ).concat(
        Object.values(tail).some((v) => v !== undefined)
          ? [tail.eventName ?? null, tail.traceId ?? null, tail.spanId ?? null]
          : [],
      );
    fc.assert(
      fc.property(fc.array(rec, { maxLength: 8 }), (records) => {
        const { frame, count, skipped } = encodeFrame(records);
        expect([count, skipped]).toEqual([records.length, 0]);
        expect(frame.toString('utf8', FRAME_HEADER_BYTES + 4)).toBe(JSON.stringify(records.map(tuple)));
        expect(scanFrames(frame)).toEqual({
          frames: [{ offset: 0, length: frame.length, count, sealed: false }],
          damaged: [],
        });
      }),
      { numRuns: 400, seed: 11 },
    );
  });

  it('leaves out only a record that cannot be serialized', () => {
    const records = makeRecords(3);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    (records[1] as unknown as { attributes: unknown }).attributes = cyclic;
    const { frame, count, skipped } = encodeFrame(records);
    expect([count, skipped]).toEqual([2, 1]);
    expect(decodeFrame(frame)?.map((r) => r.body)).toEqual(['r0', 'r2']);
  });

  it('finds every undamaged frame whatever bytes are flipped or cut, and never throws', () => {
    const frames = Array.from({ length: 12 }, (_, i) => encodeFrame(makeRecords(1 + (i % 5), i * 10)).frame);
    const whole = Buffer.concat(frames);
    const offsets: number[] = [];
    frames.reduce((off, f) => (offsets.push(off), off + f.length), 0);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat({ max: whole.length - 1 }), { maxLength: 6 }),
        fc.integer({ min: 1, max: 255 }),
        fc.option(fc.nat({ max: whole.length })),
        (flips, xor, cut) => {
          const buf = Buffer.from(whole);
          for (const p of flips) buf[p]! ^= xor;
          const damaged = cut === null ? buf : buf.subarray(0, cut);
          const { frames: found, damaged: regions } = scanFrames(damaged);
          const intact = frames
            .map((f, i) => ({ offset: offsets[i]!, end: offsets[i]! + f.length }))
            .filter((f) => f.end <= damaged.length && !flips.some((p) => p >= f.offset && p < f.end));
          expect(found.map((f) => f.offset)).toEqual(intact.map((f) => f.offset));
          // Every byte is either in a frame or in a damaged region.
          const covered = found.reduce((n, f) => n + f.length, 0) + regions.reduce((n, r) => n + r.length, 0);
          expect(covered).toBe(damaged.length);
        },
      ),
      { numRuns: 500, seed: 7 },
    );
  });

  it('reports a cut inside the last frame as a torn tail', () => {
    const a = encodeFrame(makeRecords(3)).frame;
    const b = encodeFrame(makeRecords(3, 3)).frame;
    const buf = Buffer.concat([a, b]).subarray(0, a.length + FRAME_HEADER_BYTES + 2);
    expect(scanFrames(buf)).toEqual({
      frames: [{ offset: 0, length: a.length, count: 3, sealed: false }],
      damaged: [{ offset: a.length, length: FRAME_HEADER_BYTES + 2, tail: true }],
    });
  });
});

describe('payload frames', () => {
  it('header + payload (written by one writev, the payload not copied) make a frame the scan and reader accept', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(1_000_000), (bytes, count) => {
        const payload = Uint8Array.from([0x0a, ...bytes]); // an OTLP request starts with field 1 (0x0a)
        const [head, body] = payloadFrameParts(payload, count);
        expect(body.buffer).toBe(payload.buffer); // the same memory, not a copy
        const frame = Buffer.concat([head, body]);
        const { frames, damaged } = scanFrames(frame);
        expect(damaged).toEqual([]);
        expect(frames).toHaveLength(1);
        expect(frame.readUInt32BE(FRAME_HEADER_BYTES)).toBe(count);
        expect(Buffer.from(readFrame(frame) as Uint8Array)).toEqual(Buffer.from(payload));
        // One flipped payload bit is caught by the CRC.
        frame.writeUInt8(frame.readUInt8(frame.length - 1) ^ 1, frame.length - 1);
        expect(scanFrames(frame).frames).toHaveLength(0);
      }),
    );
  });
});
