// host.name and host.id on every record (semconv registry, entity kata.log_source): a record that did not bring
// its node's name (the journal and syslog prefixes do; plain log files do not) gets the receiver's own. The name
// is host.name from OTEL_RESOURCE_ATTRIBUTES when set (a DaemonSet pod's own hostname is the pod's, not the
// node's: deploy/kubernetes sets it from spec.nodeName), else the system host name; host.id is /etc/machine-id.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseKeyValues } from '../exporters/otlp-config.js';
import type { KataLogRecord } from '../model/record.js';
import { ATTR_HOST_ID, ATTR_HOST_NAME } from '../semconv/generated.js';
import type { Stage } from './types.js';

export interface HostIdentity {
  name: string;
  id?: string;
}

/** The node this receiver runs on; `machineIdFile` unreadable or empty leaves `id` out. */
export function hostIdentity(
  env: Record<string, string | undefined> = process.env,
  machineIdFile = '/etc/machine-id',
): HostIdentity {
  let name = hostname();
  const ra = env.OTEL_RESOURCE_ATTRIBUTES;
  if (ra) {
    try {
      name = parseKeyValues(ra, 'OTEL_RESOURCE_ATTRIBUTES', 'resource attributes')[ATTR_HOST_NAME] || name;
    } catch {
      // The OTLP exporter reports a malformed OTEL_RESOURCE_ATTRIBUTES at start-up; the system name stands.
    }
  }
  let id: string | undefined;
  try {
    id = readFileSync(machineIdFile, 'utf8').trim() || undefined;
  } catch {
    id = undefined; // not Linux/systemd, or not mounted into the container
  }
  return id ? { name, id } : { name };
}

export class HostStage implements Stage {
  readonly name = 'host';
  constructor(private readonly host: HostIdentity) {}

  process(records: KataLogRecord[]): KataLogRecord[] {
    const { name, id } = this.host;
    for (const r of records) {
      const a = r.attributes;
      if (a[ATTR_HOST_NAME] === undefined || a[ATTR_HOST_NAME] === '') a[ATTR_HOST_NAME] = name;
      // Only this node's id: a journal imported from another node names that node, whose id is unknown here.
      if (id !== undefined && a[ATTR_HOST_ID] === undefined && a[ATTR_HOST_NAME] === name) a[ATTR_HOST_ID] = id;
    }
    return records;
  }
}

/** The registry's factory (host-config.ts): this node's identity. */
export function createHostStage(): { stage: HostStage } {
  return { stage: new HostStage(hostIdentity()) };
}
