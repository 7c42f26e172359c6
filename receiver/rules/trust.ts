// What a rule may believe (docs/security.md, docs/rules.md `trust:`). A record is only as trustworthy as whoever
// wrote it: the guest writes the agent stream, FIFOs and console text (kata.log.guest_controlled), and any local
// user can write a journal entry that looks like the shim's (kata.log.trusted: false). A rule states the least
// trustworthy writer its alert can come from; records below that take no part in it at all (no match, no
// threshold count, no absence start or stop, no sequence step), so they can neither raise nor hide an alert.
import type { KataLogRecord } from '../model/record.js';
import {
  ATTR_KATA_COMPONENT,
  ATTR_KATA_LOG_GUEST_CONTROLLED,
  ATTR_KATA_LOG_TRUSTED,
  KATA_COMPONENT_VALUE_AGENT,
  KATA_COMPONENT_VALUE_GUEST_KERNEL,
} from '../semconv/generated.js';
import type { Cond } from './condition.js';

/**
 * `host`: written on the host by Kata, containerd or CRI-O (or read from a file or stdin the operator chose).
 * `guest` (default): also guest-controlled records that speak as the guest (agent, guest kernel): the guest may
 * report on itself, and its sandbox is its carrier's. `channel`: also guest-controlled records claiming to be
 * anything else (rules about the channel rather than what the text says). `any`: also journal entries whose writer
 * is not a Kata or CRI runtime process.
 */
export const TRUST_LEVELS = ['host', 'guest', 'channel', 'any'] as const;
export type Trust = (typeof TRUST_LEVELS)[number];
export const DEFAULT_TRUST: Trust = 'guest';

/** A trust level as a rank: a rule accepts a record whose rank is at most its own. */
export const trustRank = (t: Trust): number => TRUST_LEVELS.indexOf(t);

const GUEST_COMPONENTS: readonly string[] = [KATA_COMPONENT_VALUE_AGENT, KATA_COMPONENT_VALUE_GUEST_KERNEL];

/** The rank of the least trusting rule that may see this record. */
export function recordTrustRank(r: KataLogRecord): number {
  const a = r.attributes;
  if (a[ATTR_KATA_LOG_TRUSTED] === false) return 3;
  if (a[ATTR_KATA_LOG_GUEST_CONTROLLED] !== true) return 0;
  const c = a[ATTR_KATA_COMPONENT];
  return typeof c === 'string' && GUEST_COMPONENTS.includes(c) ? 1 : 2;
}

/** The same requirement as a condition (for the Sigma and Loki exports, which see only conditions). */
export function trustCondition(t: Trust): Cond | undefined {
  const isTrue = (field: string, v: string): Cond => ({ kind: 'cmp', field, op: 'eq', values: [v] });
  const writer: Cond = { kind: 'not', item: isTrue(ATTR_KATA_LOG_TRUSTED, 'false') };
  const notGuest: Cond = { kind: 'not', item: isTrue(ATTR_KATA_LOG_GUEST_CONTROLLED, 'true') };
  switch (t) {
    case 'host':
      return { kind: 'and', items: [writer, notGuest] };
    case 'guest':
      return {
        kind: 'and',
        items: [
          writer,
          {
            kind: 'or',
            items: [notGuest, { kind: 'cmp', field: ATTR_KATA_COMPONENT, op: 'eq', values: [...GUEST_COMPONENTS] }],
          },
        ],
      };
    case 'channel':
      return writer;
    case 'any':
      return undefined;
  }
}

/** `cond` restricted to the records the trust level accepts. */
export function withTrust(cond: Cond, t: Trust): Cond {
  const req = trustCondition(t);
  return req ? { kind: 'and', items: [cond, req] } : cond;
}
