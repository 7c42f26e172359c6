// The configuration schema states each default once (`*-config.ts`). A few classes also run without a configuration
// (library use, tests) and fall back to constants of their own; these must say what the schema says, or a library
// user and a daemon would behave differently with "the defaults".
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../receiver/config/index.js';
import { K8S_DEFAULTS } from '../../receiver/pipeline/k8s.js';
import { CRI_DEFAULTS } from '../../receiver/pipeline/k8s/cri.js';

const defaults = () => loadConfig(undefined, { data_dir: '/nonexistent/kata-otel' }, { env: {} });

describe('library fallbacks equal the schema defaults', () => {
  it('pipeline.k8s', () => {
    const k = defaults().pipeline.k8s;
    expect({
      bundleRoots: [...K8S_DEFAULTS.bundleRoots],
      crioRoots: [...K8S_DEFAULTS.crioRoots],
      cacheEntries: K8S_DEFAULTS.cacheEntries,
      ttlMs: K8S_DEFAULTS.ttlMs,
    }).toEqual({ bundleRoots: k.bundleRoots, crioRoots: k.crioRoots, cacheEntries: k.cacheEntries, ttlMs: k.ttlMs });
  });

  it('pipeline.k8s.cri', () => {
    const c = defaults().pipeline.k8s.cri;
    expect({
      endpoints: [...CRI_DEFAULTS.endpoints],
      timeoutMs: CRI_DEFAULTS.timeoutMs,
      refreshMs: CRI_DEFAULTS.refreshMs,
    }).toEqual({ endpoints: c.endpoints, timeoutMs: c.timeoutMs, refreshMs: c.refreshIntervalMs });
  });
});
