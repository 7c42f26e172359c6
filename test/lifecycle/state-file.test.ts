// The state file's JSON: bigints as decimal strings, written without a replacer and with ended lifetimes
// serialized once; what it writes reads back into the same lifetimes, and a late record that moves an ended
// lifetime's last-record time is in the next snapshot.
import { describe, expect, it } from 'vitest';
import { parseLifetimes, serializeLifetimes } from '../../receiver/lifecycle/state-file.js';
import { asString } from '../../receiver/signals/payload.js';
import { parseFixture, replay } from './helpers.js';

const plainJson = (lts: unknown[]) => JSON.stringify({ version: 1, lifetimes: lts }, asString);

describe('lifecycle state file', () => {
  it('writes what JSON.stringify with bigints as strings writes, and reads it back', () => {
    for (const f of ['qemu-success.log', 'vm-died.log', 'qemu-debug.log']) {
      const recs = parseFixture(f);
      // Half a lifecycle (open spans), then the whole one (ended).
      for (const part of [recs.slice(0, recs.length >> 1), recs]) {
        const lts = [...replay(part, { execs: true }).stage.machine.lifetimes.values()];
        const text = serializeLifetimes(lts);
        expect(text).toBe(plainJson(lts));
        expect(parseLifetimes(text)).toEqual(lts);
      }
    }
  });

  it('a late record of an ended lifetime is in the next snapshot', () => {
    const recs = parseFixture('qemu-success.log');
    const { stage } = replay(recs);
    const lt = [...stage.machine.lifetimes.values()][0]!;
    expect(lt.ended).toBe(true);
    expect(serializeLifetimes([lt])).toBe(plainJson([lt]));
    const late = { ...recs[3]!, attributes: { ...recs[3]!.attributes }, timeUnixNano: lt.lastNs + 5n };
    stage.process([late]);
    expect(lt.lastNs).toBe(late.timeUnixNano);
    expect(serializeLifetimes([lt])).toBe(plainJson([lt]));
  });
});
