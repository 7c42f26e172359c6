import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HostStage, hostIdentity } from '../../receiver/pipeline/host.js';
import { ATTR_HOST_ID, ATTR_HOST_NAME } from '../../receiver/semconv/generated.js';
import { makeRecords } from '../queue/helpers.js';

describe('host.name and host.id on every record', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kata-otel-host-'));
  const machineId = join(dir, 'machine-id');
  writeFileSync(machineId, '0123456789abcdef0123456789abcdef\n');

  it('takes the name from OTEL_RESOURCE_ATTRIBUTES, else the system, and the id from the machine-id file', () => {
    expect(hostIdentity({ OTEL_RESOURCE_ATTRIBUTES: 'k8s.node.name=n1,host.name=node-1' }, machineId)).toEqual({
      name: 'node-1',
      id: '0123456789abcdef0123456789abcdef',
    });
    expect(hostIdentity({}, join(dir, 'absent'))).toEqual({ name: hostname() });
    expect(hostIdentity({ OTEL_RESOURCE_ATTRIBUTES: '=broken' }, join(dir, 'absent')).name).toBe(hostname());
  });

  it('fills records that lack a host, keeps a journal-provided one, and gives host.id only to its own node', () => {
    const [plain, ownNode, otherNode] = makeRecords(3);
    ownNode!.attributes[ATTR_HOST_NAME] = 'node-1';
    otherNode!.attributes[ATTR_HOST_NAME] = 'node-7';
    new HostStage({ name: 'node-1', id: 'abc' }).process([plain!, ownNode!, otherNode!]);
    expect(
      [plain, ownNode, otherNode].map((r) => [r!.attributes[ATTR_HOST_NAME], r!.attributes[ATTR_HOST_ID]]),
    ).toEqual([
      ['node-1', 'abc'],
      ['node-1', 'abc'],
      ['node-7', undefined],
    ]);
  });
});
