import { afterEach, describe, expect, it } from 'vitest';
import { microsToNanos, monthIndex, parseTimestamp, syslogTime } from '../../receiver/parse/time.js';

describe('parseTimestamp', () => {
  it('keeps full precision and the zone of trimmed and fixed-width RFC3339Nano', () => {
    // the kata syslog copy and the containerd copy of one record
    expect(parseTimestamp('2021-05-17T19:43:30.6520286-07:00')).toBe(1_621_305_810_652_028_600n);
    expect(parseTimestamp('2021-05-17T19:43:30.652028600-07:00')).toBe(1_621_305_810_652_028_600n);
  });

  it('reads positive offsets, Z, +0000 and second precision', () => {
    expect(parseTimestamp('2020-09-15T14:56:23.095113803+08:00')).toBe(1_600_152_983_095_113_803n);
    expect(parseTimestamp('2025-11-20T16:25:33.010026353Z')).toBe(1_763_655_933_010_026_353n);
    expect(parseTimestamp('2025-11-20T16:25:33+0000')).toBe(1_763_655_933_000_000_000n);
    expect(parseTimestamp('2025-11-20T16:25:33+00')).toBe(1_763_655_933_000_000_000n);
    expect(parseTimestamp('2021-05-17T19:44:00-07:00')).toBe(1_621_305_840_000_000_000n);
    expect(parseTimestamp('2021-09-15T15:40:30.097333785+00:00')).toBe(1_631_720_430_097_333_785n);
  });

  it('cuts fractions beyond ns and accepts a space separator and a comma', () => {
    expect(parseTimestamp('2025-11-20T16:25:33.0100263539999Z')).toBe(1_763_655_933_010_026_353n);
    expect(parseTimestamp('2025-11-20 16:25:33,5Z')).toBe(1_763_655_933_500_000_000n);
  });

  it('reads a range of a larger string', () => {
    const s = 'x 2025-11-20T16:25:33Z y';
    expect(parseTimestamp(s, 2, 22)).toBe(1_763_655_933_000_000_000n);
  });

  it('rejects what is not a timestamp', () => {
    for (const bad of [
      '',
      'now',
      '2021-13-01T00:00:00Z',
      '2021-05-17T25:00:00Z',
      '2021-05-17T19:43:30.Z',
      '2021-05-17T19:43:30Zjunk',
      '2021/05/17 19:43:30',
    ])
      expect(parseTimestamp(bad), bad).toBeUndefined();
  });

  describe('without a zone (Firecracker): local time', () => {
    const tz = process.env.TZ;
    afterEach(() => {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    });
    it('is read in the receiver timezone', () => {
      process.env.TZ = 'America/Los_Angeles';
      // 2023-10-13 is PDT (-07:00)
      expect(parseTimestamp('2023-10-13T14:15:55.422429270')).toBe(1_697_231_755_422_429_270n);
      process.env.TZ = 'UTC';
      expect(parseTimestamp('2023-10-13T14:15:55.422429270')).toBe(1_697_206_555_422_429_270n);
    });
  });
});

describe('journald and syslog times', () => {
  it('turns journald µs into ns', () => {
    expect(microsToNanos('1582281087810805')).toBe(1_582_281_087_810_805_000n);
    expect(microsToNanos(1582281087810805)).toBe(1_582_281_087_810_805_000n);
    expect(microsToNanos('12a')).toBeUndefined();
    expect(microsToNanos(undefined)).toBeUndefined();
  });

  it('knows month abbreviations of several locales', () => {
    expect(monthIndex('May')).toBe(4);
    expect(monthIndex('Mai')).toBe(4);
    expect(monthIndex('déc.')).toBe(11);
    expect(monthIndex('dic')).toBe(11);
    expect(monthIndex('Okt')).toBe(9);
    expect(monthIndex('févr.')).toBe(1);
    expect(monthIndex('ene')).toBe(0);
    expect(monthIndex('Mär')).toBe(2);
    expect(monthIndex('Foo')).toBe(-1);
  });

  it('puts a yearless date in the observed year, or the year before when it would be in the future', () => {
    const tz = process.env.TZ;
    process.env.TZ = 'UTC';
    try {
      const jan2026 = BigInt(Date.UTC(2026, 0, 2)) * 1_000_000n;
      expect(syslogTime(11, 31, 23, 59, 59, 0, jan2026)).toBe(BigInt(Date.UTC(2025, 11, 31, 23, 59, 59)) * 1_000_000n);
      expect(syslogTime(0, 1, 0, 0, 1, 5, jan2026)).toBe(BigInt(Date.UTC(2026, 0, 1, 0, 0, 1)) * 1_000_000n + 5n);
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });
});
