// The Go shim's syslog copy and containerd's copy of each record, through parse + DedupeStage.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { parseText } from '../../receiver/parse/index.js';
import { DedupeStage, dedupeKey } from '../../receiver/pipeline/dedupe.js';
import { HostStage } from '../../receiver/pipeline/host.js';
import {
  ATTR_HOST_ID,
  ATTR_HOST_NAME,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_JOURNAL_IDENTIFIER,
  ATTR_KATA_SANDBOX_ID,
  ATTR_LOG_FILE_PATH,
  ATTR_LOG_RECORD_UID,
  ATTR_PROCESS_PID,
} from '../../receiver/semconv/generated.js';
import { CORPUS, ctx, one } from './helpers.js';

const parseFile = (file: string) =>
  readFileSync(new URL(file, CORPUS), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .flatMap((l) => parseText(l, ctx({ attributes: { [ATTR_LOG_FILE_PATH]: `/var/log/${file}` } })));

describe('DedupeStage on the corpus', () => {
  const kata = parseFile('runtime-logfmt.log');
  const containerd = parseFile('shim-via-containerd.log');

  it('24 kata lines + 29 containerd lines → 29 records: every kata line has a containerd twin', () => {
    expect(kata).toHaveLength(24);
    expect(containerd).toHaveLength(29);
    const stage = new DedupeStage();
    const out = [...stage.process(kata), ...stage.process(containerd)];
    expect(out).toHaveLength(29);
    expect(stage.suppressed).toBe(24);
    // first copy wins: all 24 kata copies kept; from containerd only its 4 own lines and the one
    // record missing from the kata file (`converting …/config.json`).
    expect(out.filter((r) => r.attributes[ATTR_KATA_JOURNAL_IDENTIFIER] === 'kata')).toHaveLength(24);
    const fromContainerd = out.filter((r) => r.attributes[ATTR_KATA_JOURNAL_IDENTIFIER] === 'containerd');
    expect(fromContainerd.map((r) => r.body)).toEqual([
      'starting signal loop',
      'converting /run/containerd/io.containerd.runtime.v2.task/default/foo/config.json',
      'shim disconnected',
      'cleaning up after shim disconnected',
      'failed to clean up after shim disconnected',
    ]);
    expect(fromContainerd.filter((r) => r.attributes[ATTR_KATA_COMPONENT] === 'containerd')).toHaveLength(4);
  });

  it('in one interleaved batch, containerd first', () => {
    const stage = new DedupeStage();
    const out = stage.process([...containerd, ...kata]);
    expect(out).toHaveLength(29);
    expect(out.every((r) => r.attributes[ATTR_KATA_JOURNAL_IDENTIFIER] === 'containerd')).toBe(true);
  });

  it('without the stage both copies stay', () => {
    expect([...kata, ...containerd]).toHaveLength(53);
  });

  it('the two copies of `shm-size detected` (trimmed vs fixed-width time, no pid) share a key', () => {
    const a = one(
      'May 17 19:43:30 raisin kata[1614807]: time="2021-05-17T19:43:30.6520286-07:00" level=info msg="shm-size detected: 67108864" source=virtcontainers subsystem=oci',
    );
    const b = one(
      'May 17 19:43:30 raisin containerd[1614424]: time="2021-05-17T19:43:30.652028600-07:00" level=info msg="shm-size detected: 67108864" source=virtcontainers subsystem=oci',
    );
    expect(a.attributes[ATTR_PROCESS_PID]).toBe(1614807);
    expect(dedupeKey(a)).toBe(dedupeKey(b));
  });
});

describe('DedupeStage after the host stage', () => {
  it("a plain file's copy (this node's name and id) and another node's prefixed copy are one record", () => {
    // An imported archive: shim.log has no prefix, containerd.log carries the journal short prefix of node-17.
    const plain = one(
      'time="2024-05-01T10:00:00.000211575-07:00" level=debug msg="Stats container" name=containerd-shim-v2 pid=730277 sandbox=8a9f source=virtcontainers subsystem=container',
    );
    const prefixed = one(
      'May 01 10:00:00 node-17 containerd[1024]: time="2024-05-01T10:00:00.000211575-07:00" level=debug msg="Stats container" name=containerd-shim-v2 pid=730277 sandbox=8a9f source=virtcontainers subsystem=container',
    );
    const withHost = new HostStage({ name: 'this-node', id: '0123456789abcdef0123456789abcdef' }).process([
      plain,
      prefixed,
    ]);
    expect(withHost.map((r) => [r.attributes[ATTR_HOST_NAME], r.attributes[ATTR_HOST_ID]])).toEqual([
      ['this-node', '0123456789abcdef0123456789abcdef'],
      ['node-17', undefined],
    ]);
    const stage = new DedupeStage();
    expect(stage.process(withHost)).toHaveLength(1);
    expect(stage.suppressed).toBe(1);
  });
});

describe('dedupeKey', () => {
  const base = one(
    'time="2021-05-17T19:43:30.667948238-07:00" level=info msg="Starting VM" name=containerd-shim-v2 pid=1614807 sandbox=foo source=virtcontainers subsystem=sandbox',
  );
  const withAttrs = (r: KataLogRecord, extra: Record<string, string | number>) => ({
    ...r,
    attributes: { ...r.attributes, ...extra },
  });

  it('ignores carrier attributes', () => {
    const k = dedupeKey(base);
    expect(
      dedupeKey(
        withAttrs(base, {
          [ATTR_LOG_FILE_PATH]: '/a',
          [ATTR_HOST_NAME]: 'h',
          [ATTR_KATA_JOURNAL_IDENTIFIER]: 'x',
          [ATTR_LOG_RECORD_UID]: 'u',
        }),
      ),
    ).toBe(k);
  });

  it('sees everything else', () => {
    const k = dedupeKey(base);
    expect(dedupeKey(withAttrs(base, { [ATTR_KATA_SANDBOX_ID]: 'bar' }))).not.toBe(k);
    expect(dedupeKey({ ...base, body: 'Starting VM!' })).not.toBe(k);
    expect(dedupeKey({ ...base, severityText: 'warning' })).not.toBe(k);
    expect(dedupeKey({ ...base, timeUnixNano: base.timeUnixNano + 1n })).not.toBe(k);
  });

  it('the stage keeps exactly the records dedupeKey tells apart', () => {
    const variants = [
      base,
      withAttrs(base, { [ATTR_LOG_FILE_PATH]: '/other', [ATTR_HOST_NAME]: 'h2', [ATTR_PROCESS_PID]: 1 }), // same identity
      withAttrs(base, { [ATTR_KATA_SANDBOX_ID]: 'bar' }),
      withAttrs(base, { x: '1', y: '2' }),
      withAttrs(base, { x: '2', y: '1' }), // values swapped between attributes
      withAttrs(base, { y: '2' }),
      { ...base, body: 'Starting VM!' },
      { ...base, severityText: 'warning' },
      { ...base, timeUnixNano: base.timeUnixNano + 1n },
    ];
    const distinct = new Set(variants.map((v) => dedupeKey(v))).size;
    expect(distinct).toBe(variants.length - 1);
    expect(new DedupeStage().process(variants)).toHaveLength(distinct);
  });

  it('is undefined for records without their own time: they are never deduplicated', () => {
    const k = one('[    0.437005] brd: module loaded');
    expect(k.timeUnixNano).toBe(0n);
    expect(dedupeKey(k)).toBeUndefined();
    const stage = new DedupeStage();
    expect(stage.process([k, k, k])).toHaveLength(3);
  });
});

describe('DedupeStage window', () => {
  const rec = (sec: number, body = 'm'): KataLogRecord => ({
    timeUnixNano: BigInt(sec) * 1_000_000_000n,
    observedTimeUnixNano: 0n,
    severityNumber: 9,
    severityText: 'info',
    body,
    attributes: {},
  });

  it('remembers at most maxKeys keys, oldest forgotten first', () => {
    const stage = new DedupeStage({ maxKeys: 2 });
    expect(stage.process([rec(1), rec(2), rec(3)])).toHaveLength(3);
    expect(stage.size).toBe(2);
    expect(stage.process([rec(1)])).toHaveLength(1); // forgotten
    expect(stage.process([rec(3)])).toHaveLength(0);
  });

  it('forgets keys older than the window behind the newest record time', () => {
    const stage = new DedupeStage({ windowMs: 10_000 });
    stage.process([rec(100), rec(105)]);
    expect(stage.process([rec(100)])).toHaveLength(0);
    stage.process([rec(111)]); // 100 is now more than 10 s behind
    expect(stage.process([rec(100)])).toHaveLength(1);
    expect(stage.process([rec(105)])).toHaveLength(0);
  });

  it('counts suppressed records and reports them per batch', () => {
    const calls: number[] = [];
    const stage = new DedupeStage({ onSuppressed: (n) => calls.push(n) });
    stage.process([rec(1), rec(1), rec(1, 'other')]);
    stage.process([rec(2)]);
    stage.process([rec(1), rec(2)]);
    expect(calls).toEqual([1, 2]);
    expect(stage.suppressed).toBe(3);
    expect(stage.name).toBe('dedupe');
  });
});
