// /metrics (Prometheus text), /healthz (the process is up) and /readyz (sources started, exporters not all
// failing) on a loopback address by default.
import { createServer, type Server } from 'node:http';
import type { Metrics } from './metrics.js';

export interface TelemetryServer {
  readonly address: string;
  close(): Promise<void>;
}

export async function startTelemetryServer(
  listen: string,
  metrics: Metrics,
  ready: () => boolean,
): Promise<TelemetryServer> {
  const m = /^(.*):(\d+)$/.exec(listen);
  if (!m) throw new Error(`telemetry.listen: "${listen}" is not host:port; use e.g. 127.0.0.1:8898`);
  const host = (m[1] as string).replace(/^\[|\]$/g, '');
  const port = Number(m[2]);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      metrics
        .text()
        .then((body) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(body);
        })
        .catch((err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        });
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
    } else if (path === '/readyz') {
      const ok = ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ready\n' : 'not ready\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: try /metrics, /healthz or /readyz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`telemetry.listen: cannot listen on ${listen}: ${err.message}`)));
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const address = typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : listen;
  return {
    address,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
