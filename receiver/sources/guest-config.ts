// Shared by the guest-stream sources' descriptors (vsock, fifo): their settings plus the per-sandbox limit of
// guest streams (pipeline.fair_share) they apply, so a change of either restarts them on reload.
import type { Instance } from '../components/types.js';
import type { ReceiverConfig } from '../config/types.js';

export type GuestInstanceConfig<K extends 'vsock' | 'fifo'> = ReceiverConfig['sources'][K] & {
  fairShare: ReceiverConfig['pipeline']['fairShare'];
};

export const guestInstances =
  <K extends 'vsock' | 'fifo'>(key: K) =>
  (config: ReceiverConfig): Instance<GuestInstanceConfig<K>>[] =>
    config.sources[key].enabled
      ? [{ id: key, config: { ...config.sources[key], fairShare: config.pipeline.fairShare } }]
      : [];
