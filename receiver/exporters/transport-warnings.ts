// Warnings for an OTLP exporter whose transport exposes what it sends: TLS certificate verification switched off
// (`tls.insecure_skip_verify`), or credentials (an API key, a token, basic auth) sent without TLS to a host that is
// not this node. Logged at start and then periodically (a warning logged once at start scrolls away), never fatal:
// a lab setup may mean it.
import { isIP } from 'node:net';
import type { Logger } from '../telemetry/log.js';
import type { OtlpSettings } from './otlp-config.js';

/** Header names that carry credentials (exact names of the vendor presets, and anything that says so). */
const CREDENTIAL_HEADER = /auth|key|token|secret|passw|cookie|signature|x-honeycomb-team/i;

/** How often the warnings are repeated while the receiver runs. */
export const TRANSPORT_WARNING_INTERVAL_MS = 60 * 60 * 1000;

function hostOf(s: OtlpSettings): string | undefined {
  if (/^(unix|unix-abstract):/i.test(s.endpoint)) return undefined; // a socket on this node
  const target = s.protocol === 'grpc' ? s.grpcTarget.replace(/^(dns|ipv4|ipv6):(\/\/[^/]*\/)?/i, '') : s.endpoint;
  try {
    return new URL(/^[a-z]+:\/\//i.test(target) ? target : `http://${target}`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return target;
  }
}

/** localhost, 127.0.0.0/8, ::1 (and ::ffff:127.x): traffic that never leaves the node. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h) || /^0*:(0*:){6}0*1$/.test(h);
  return false;
}

/** What is unsafe about this exporter's transport, as log messages (empty when nothing is). */
export function transportRisks(s: OtlpSettings): string[] {
  const out: string[] = [];
  if (s.secure && s.tls.insecureSkipVerify)
    out.push(
      `TLS certificate verification is off (tls.insecure_skip_verify) for ${s.endpoint}: anyone on the network path can read and alter the exported logs; give the collector's CA in tls.ca_file instead`,
    );
  const host = hostOf(s);
  const creds = Object.keys(s.headers).filter((h) => CREDENTIAL_HEADER.test(h));
  if (!s.secure && host !== undefined && !isLoopback(host) && creds.length > 0)
    out.push(
      `credentials (header${creds.length > 1 ? 's' : ''} ${creds.join(', ')}) are sent in plaintext to ${s.endpoint}, which is not on this node: use https:// (or a collector on the node)`,
    );
  return out;
}

/** Log the risks of these exporters now and every `intervalMs`; returns a function that stops the repeats. */
export function startTransportWarnings(
  exporters: { name: string; settings: OtlpSettings }[],
  logger: Logger,
  intervalMs = TRANSPORT_WARNING_INTERVAL_MS,
): () => void {
  const risks = exporters.flatMap((e) => transportRisks(e.settings).map((msg) => ({ exporter: e.name, msg })));
  if (risks.length === 0) return () => {};
  const warn = () => risks.forEach((r) => logger.warn(r.msg, { exporter: r.exporter }));
  warn();
  const timer = setInterval(warn, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
