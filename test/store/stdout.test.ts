import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createStdoutExporter, formatText } from '../../receiver/exporters/stdout.js';
import type { KataLogRecord } from '../../receiver/model/record.js';
import { decodeLogsJson } from '../../receiver/otlp/index.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_KATA_ALERT_RULE_ID,
  ATTR_KATA_COMPONENT,
  ATTR_KATA_SANDBOX_ID,
  ATTR_KATA_SUBSYSTEM,
  ATTR_SERVICE_NAME,
  EVENT_KATA_ALERT,
} from '../../receiver/semconv/generated.js';

const SANDBOX = '54632572e15297178d78997f88f8e7e4b66d1568c16a89e038e096aca0298c4a';

// From qemu.log in the corpus: QEMU stderr re-logged by the Go shim.
const qemuError: KataLogRecord = {
  timeUnixNano: 1_753_273_445_013_714_495n,
  observedTimeUnixNano: 1_753_273_446_000_000_000n,
  severityNumber: 17,
  severityText: 'error',
  body: 'qemu-system-x86_64-tdx-experimental: vm-type TDX not supported by KVM',
  attributes: {
    [ATTR_SERVICE_NAME]: 'kata-runtime',
    [ATTR_KATA_COMPONENT]: 'runtime',
    [ATTR_KATA_SANDBOX_ID]: SANDBOX,
    [ATTR_KATA_SUBSYSTEM]: 'qemu',
  },
};

/** A Writable that holds every write until the test releases it: a reader that does not keep up. */
class SlowReader extends Writable {
  chunks: string[] = [];
  private pending: (() => void)[] = [];
  constructor() {
    super({ highWaterMark: 16, decodeStrings: false });
  }
  override _write(chunk: string, _enc: BufferEncoding, cb: (err?: Error | null) => void) {
    this.pending.push(() => {
      this.chunks.push(chunk);
      cb();
    });
  }
  release() {
    const p = this.pending;
    this.pending = [];
    for (const f of p) f();
  }
}

describe('stdout exporter', () => {
  it('text: one line per record with time, severity, component, sandbox short id, body and key attributes', () => {
    expect(formatText(qemuError)).toBe(
      '2025-07-23T12:24:05.013714495Z ERROR runtime      54632572e152 qemu-system-x86_64-tdx-experimental: vm-type TDX not supported by KVM subsystem=qemu',
    );
    const alert: KataLogRecord = {
      timeUnixNano: 0n,
      observedTimeUnixNano: 1_700_000_000_123_456_789n,
      severityNumber: 0,
      severityText: '',
      body: 'line one\nline two',
      eventName: EVENT_KATA_ALERT,
      attributes: {
        [ATTR_KATA_ALERT_RULE_ID]: 'kata-agent-policy-denied',
        [ATTR_CONTAINER_ID]: '0123456789abcdef0123',
      },
    };
    expect(formatText(alert)).toBe(
      '2023-11-14T22:13:20.123456789Z -     -            -            [kata.alert] line one\\nline two container=0123456789ab rule=kata-agent-policy-denied',
    );
  });

  it('text and otlp-json write to the stream; otlp-json is one request per line that decodes back', async () => {
    const out = new SlowReader();
    const text = createStdoutExporter({ format: 'text' }, out);
    const json = createStdoutExporter({ format: 'otlp-json', name: 'raw' }, out);
    const p1 = text.export([qemuError, qemuError]);
    const p2 = json.export([qemuError]);
    out.release();
    await new Promise((r) => setImmediate(r));
    out.release();
    expect(await p1).toEqual({ code: 'success' });
    expect(await p2).toEqual({ code: 'success' });
    expect(json.name).toBe('raw');
    const all = out.chunks.join('');
    const lines = all.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe(formatText(qemuError));
    expect(decodeLogsJson(lines[2]!)).toEqual([qemuError]);
  });

  it('waits for a slow reader: export resolves only after the stream drained', async () => {
    const out = new SlowReader();
    const exp = createStdoutExporter({ format: 'text' }, out);
    let done = false;
    const p = exp.export([qemuError]).then((r) => ((done = true), r));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false); // the reader has not taken the data yet
    out.release();
    expect(await p).toEqual({ code: 'success' });
    expect(out.chunks.join('')).toContain('vm-type TDX');
  });

  it('an aborted export stops waiting and is retryable', async () => {
    const out = new SlowReader();
    const exp = createStdoutExporter({ format: 'text' }, out);
    const ac = new AbortController();
    const p = exp.export([qemuError], ac.signal);
    ac.abort();
    expect(await p).toEqual({ code: 'retryable', error: 'stdout: export aborted' });
    out.release();
  });

  it('a reader that went away (EPIPE on a real pipe) is a permanent failure, not a crash', async () => {
    const child = spawn(process.execPath, ['-e', 'process.exit(0)'], { stdio: ['pipe', 'ignore', 'ignore'] });
    await once(child, 'exit');
    const exp = createStdoutExporter({ format: 'text' }, child.stdin);
    let r = await exp.export([qemuError]);
    for (let i = 0; i < 20 && r.code === 'success'; i++) r = await exp.export([qemuError]);
    expect(r.code).toBe('permanent');
  });
});
