// Provenance: what a record says about itself is text, and text written by the guest is the adversary's (Kata's
// guest is untrusted by design). Right after parsing, the pipeline re-applies what the source knows about where it
// physically read an entry (kata.log.origin, the journal writer's trusted fields, the sandbox whose socket or FIFO
// carried it), marks guest-written text (kata.log.guest_controlled), and, for guest carriers, takes the sandbox id
// from the carrier: a differing id claimed by the text is kept as kata.field.sandbox and flagged
// (kata.log.identity_mismatch → the kata-guest-identity-spoof alert). The parser gives the carrier's sandbox
// priority too; this step holds whatever the parser does. docs/security.md describes the trust model.
import type { Attributes, KataLogRecord } from '../model/record.js';
import {
  ATTR_KATA_COMPONENT,
  ATTR_KATA_FIELD,
  ATTR_KATA_JOURNAL_PID,
  ATTR_KATA_LOG_CARRIER,
  ATTR_KATA_LOG_DROPPED_COUNT,
  ATTR_KATA_LOG_GUEST_CONTROLLED,
  ATTR_KATA_LOG_IDENTITY_MISMATCH,
  ATTR_KATA_LOG_ORIGIN,
  ATTR_KATA_LOG_ORIGIN_ADDRESS,
  ATTR_KATA_LOG_TRUSTED,
  ATTR_KATA_SANDBOX_ID,
  ATTR_LOG_FILE_PATH,
  ATTR_PROCESS_COMMAND,
  ATTR_PROCESS_EXECUTABLE_PATH,
  ATTR_PROCESS_USER_ID,
  KATA_COMPONENT_VALUE_AGENT,
  KATA_COMPONENT_VALUE_GUEST_KERNEL,
  KATA_LOG_ORIGIN_VALUE_FIFO,
  KATA_LOG_ORIGIN_VALUE_FILE,
  KATA_LOG_ORIGIN_VALUE_VSOCK,
} from '../semconv/generated.js';

/** Attributes only a source sets: re-applied over whatever the parser produced. */
const ORIGIN_ATTRIBUTES = [
  ATTR_KATA_LOG_ORIGIN,
  ATTR_KATA_LOG_ORIGIN_ADDRESS,
  ATTR_KATA_LOG_TRUSTED,
  ATTR_KATA_LOG_DROPPED_COUNT,
  ATTR_KATA_JOURNAL_PID,
  ATTR_PROCESS_USER_ID,
  ATTR_PROCESS_COMMAND,
  ATTR_PROCESS_EXECUTABLE_PATH,
];

/** Origins whose every byte the guest writes: the agent's vsock stream, a hypervisor FIFO shared with the jail. */
const GUEST_ORIGINS = new Set<string>([KATA_LOG_ORIGIN_VALUE_VSOCK, KATA_LOG_ORIGIN_VALUE_FIFO]);
/** Carriers (kata.log.carrier values, registry note) whose payload is guest console text. */
const GUEST_CARRIERS = new Set(['vmconsole', 'kata-proxy', 'firecracker-fifo']);
/** Components that live in the guest: a record claiming one of them is guest text whatever carried it. */
const GUEST_COMPONENTS = new Set<string>([KATA_COMPONENT_VALUE_AGENT, KATA_COMPONENT_VALUE_GUEST_KERNEL]);

export const SANDBOX_CLAIM = ATTR_KATA_FIELD('sandbox');

/** True when the record's text was written by the guest (see kata.log.guest_controlled in the registry). */
export function isGuestControlled(a: Attributes): boolean {
  // a parser that knew the payload is console text marked it (runtime-rs `vm console:`, Dragonball dmesg)
  if (a[ATTR_KATA_LOG_GUEST_CONTROLLED] === true) return true;
  const origin = a[ATTR_KATA_LOG_ORIGIN];
  if (typeof origin === 'string' && GUEST_ORIGINS.has(origin)) return true;
  const carrier = a[ATTR_KATA_LOG_CARRIER];
  if (typeof carrier === 'string' && GUEST_CARRIERS.has(carrier)) return true;
  const component = a[ATTR_KATA_COMPONENT];
  return typeof component === 'string' && GUEST_COMPONENTS.has(component);
}

/**
 * Apply an entry's provenance to the records parsed from it. `carrier`: the attributes the source attached to the
 * entry (batch and entry attributes merged), i.e. the ParseContext's.
 */
export function applyProvenance(records: KataLogRecord[], carrier: Attributes | undefined): void {
  const origin =
    carrier?.[ATTR_KATA_LOG_ORIGIN] ?? (carrier?.[ATTR_LOG_FILE_PATH] ? KATA_LOG_ORIGIN_VALUE_FILE : undefined);
  const guestOrigin = typeof origin === 'string' && GUEST_ORIGINS.has(origin);
  const sandbox = guestOrigin ? carrier?.[ATTR_KATA_SANDBOX_ID] : undefined;
  for (const r of records) {
    const a = r.attributes;
    if (carrier) {
      for (const k of ORIGIN_ATTRIBUTES) {
        const v = carrier[k];
        // `delete` is a runtime call even for a key that is not there (most records, most keys): look first.
        if (v !== undefined) a[k] = v;
        else if (k in a) delete a[k];
      }
    }
    if (origin !== undefined) a[ATTR_KATA_LOG_ORIGIN] = origin;
    if (typeof sandbox === 'string') settleSandbox(a, sandbox);
    // The dropped count belongs to the first record of the entry only (one entry can yield several records).
    if (r !== records[0] && ATTR_KATA_LOG_DROPPED_COUNT in a) delete a[ATTR_KATA_LOG_DROPPED_COUNT];
    if (!isGuestControlled(a)) continue;
    a[ATTR_KATA_LOG_GUEST_CONTROLLED] = true;
    const claim = a[SANDBOX_CLAIM];
    if (typeof claim === 'string' && !sameSandbox(String(a[ATTR_KATA_SANDBOX_ID]), claim))
      a[ATTR_KATA_LOG_IDENTITY_MISMATCH] = true;
  }
}

/**
 * Kata's Go runtime names a Firecracker sandbox's run directory after the first 32 characters of its id, while the
 * agent names the full id: a claim that extends the carrier's id is the same sandbox (two sandboxes sharing a
 * 128-bit prefix of a random id do not happen).
 */
function sameSandbox(carrier: string, claim: string): boolean {
  return claim === carrier || (carrier.length === 32 && claim.length > 32 && claim.startsWith(carrier));
}

/** A guest carrier's record: the sandbox is the carrier's; a differing claim is kept in kata.field.sandbox. */
function settleSandbox(a: Attributes, carrier: string): void {
  const parsed = a[ATTR_KATA_SANDBOX_ID];
  const claim = a[SANDBOX_CLAIM] ?? (parsed !== carrier ? parsed : undefined);
  if (typeof claim === 'string' && sameSandbox(carrier, claim)) {
    a[ATTR_KATA_SANDBOX_ID] = claim; // the full id
    delete a[SANDBOX_CLAIM];
    return;
  }
  if (claim !== undefined) a[SANDBOX_CLAIM] = claim;
  a[ATTR_KATA_SANDBOX_ID] = carrier;
}
