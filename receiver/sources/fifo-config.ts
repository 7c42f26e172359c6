// The Firecracker FIFO source's settings schema (its descriptor, in the `*-component.ts` beside it, loads this lazily): `sources.fifo` (defaults stated only here).
import { type GuestInstanceConfig } from './guest-config.js';
import { StringEnum, bool, section, strings } from '../config/schema-kit.js';

export const FifoSchema = section(
  {
    enabled: bool(false, 'Read Firecracker log and metrics FIFOs.'),
    roots: strings(['/run/vc/firecracker'], 'Directories scanned for per-sandbox Firecracker FIFOs.'),
    metrics: StringEnum(['log', 'drop'] as const, {
      default: 'drop',
      description:
        'The Firecracker metrics FIFO: `drop` (leave it to the Kata shim, which turns it into kata_firecracker_* Prometheus metrics) or `log` (also read it, as `kata.firecracker.metrics` events; with two readers each flush goes to only one of them).',
    }),
  },
  'Firecracker FIFOs.',
);

export type FifoInstanceConfig = GuestInstanceConfig<'fifo'>;
