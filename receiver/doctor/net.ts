// Is anything listening at an endpoint? One TCP connect with a short timeout (the tracing-endpoint check).
import { connect } from 'node:net';

export function tcpReachable(host: string, port: number, timeoutMs: number): Promise<true | string> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (r: true | string) => {
      s.destroy();
      resolve(r);
    };
    s.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    s.once('connect', () => done(true));
    s.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

/** host and port of an http(s) URL (default ports by scheme), or undefined when it is not one. */
export function urlHostPort(url: string): { host: string; port: number } | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : u.protocol === 'http:' ? 80 : NaN;
  if (!Number.isFinite(port)) return undefined;
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port };
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
