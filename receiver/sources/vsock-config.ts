// The vsock source's settings schema (its descriptor, in the `*-component.ts` beside it, loads this lazily): `sources.vsock` (defaults stated only here).
import { Type } from '@sinclair/typebox';
import { type GuestInstanceConfig } from './guest-config.js';
import { bool, ms, section, strings } from '../config/schema-kit.js';

export const VsockSchema = section(
  {
    enabled: bool(false, "Read each sandbox's agent log stream over its vsock (the hybrid-vsock `CONNECT` port)."),
    roots: strings(
      ['/run/vc/vm', '/run/vc/firecracker', '/run/kata', '/run/kata/firecracker'],
      'Directories scanned for per-sandbox hybrid-vsock sockets.',
    ),
    port: Type.Integer({
      minimum: 1,
      maximum: 4_294_967_295,
      default: 1025,
      description: "The agent's log vsock port (kata-agent `log_vport`).",
    }),
    reconnect_initial_ms: ms(500, 'First delay before reconnecting to a sandbox socket.', 1),
    reconnect_max_ms: ms(10_000, 'Longest delay between reconnect attempts.', 1),
    handshake_timeout_ms: ms(5000, 'How long to wait for the hybrid-vsock `OK <port>` reply.', 1),
    plain_vsock: bool(false, 'Also connect over AF_VSOCK (QEMU vhost-vsock) rather than hybrid-vsock only.'),
  },
  'Agent logs straight from the guest over vsock.',
);

export type VsockInstanceConfig = GuestInstanceConfig<'vsock'>;
