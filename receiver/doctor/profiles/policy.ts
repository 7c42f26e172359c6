// What `kata-otel doctor --profile <p>` expects. The numbers (journald retention and rate limit, kata-otel
// retention and queue size) are read from the profile's own files in exporter-config/kata/<p>/, so the profile
// shipped and the profile checked cannot drift apart; the judgements (what is an error where) are here.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../config/load.js';
import type { ReceiverConfig } from '../../config/types.js';
import { applyIni, parseSize, parseTimespan, type IniSettings } from '../systemd-conf.js';
import type { ProfileName, Severity } from '../types.js';

export interface ProfilePolicy {
  name: ProfileName;
  /** Debug logging, the debug console and debug kernel parameters are expected (dev) rather than findings. */
  debug: boolean;
  /** Severity of the debug console being on (null: expected). */
  debugConsole: Severity | null;
  /** Severity of enable_debug / debug levels being on (null: expected). */
  enableDebug: Severity | null;
  /** Severity of `disable_guest_seccomp = true`. */
  guestSeccompOff: Severity;
  /** Severity of the VMM's seccomp being off (`disable_seccomp`, empty QEMU `-sandbox`). */
  vmmSeccompOff: Severity;
  /** Severity of pods being allowed to set their guest's kernel parameters (`enable_annotations`). */
  kernelParamsAnnotation: Severity;
  /** Severity of kata-otel's own settings falling short (memory queue, plaintext to a remote endpoint, …). */
  receiver: Severity;
  journald: {
    /** Per-unit (containerd.service) rate limit: null = the profile turns it off. */
    rateLimit: { intervalSec: number; burst: number } | null;
    /** Global rate limit (journald.conf): null = the profile turns it off. */
    globalRateLimit: { intervalSec: number; burst: number } | null;
    maxRetentionSec?: number;
    systemMaxUse?: number;
  };
  /** The profile's own kata-otel configuration. */
  receiverConfig: ReceiverConfig;
  dir: string;
}

const JUDGEMENTS: Record<ProfileName, Omit<ProfilePolicy, 'name' | 'journald' | 'receiverConfig' | 'dir'>> = {
  dev: {
    debug: true,
    debugConsole: null,
    enableDebug: null,
    guestSeccompOff: 'info',
    vmmSeccompOff: 'info',
    kernelParamsAnnotation: 'info',
    receiver: 'info',
  },
  prod: {
    debug: false,
    debugConsole: 'error',
    enableDebug: 'warning',
    guestSeccompOff: 'warning',
    vmmSeccompOff: 'warning',
    kernelParamsAnnotation: 'info',
    receiver: 'warning',
  },
  secure: {
    debug: false,
    debugConsole: 'error',
    enableDebug: 'error',
    guestSeccompOff: 'error',
    vmmSeccompOff: 'error',
    kernelParamsAnnotation: 'warning',
    receiver: 'error',
  },
};

/** exporter-config/kata, from the source tree (tsx) or from dist/ after `npm run build`. */
export function profilesDir(): string {
  for (const rel of ['../../../exporter-config/kata/', '../../../../exporter-config/kata/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'prod'))) return dir;
  }
  throw new Error('kata-otel: exporter-config/kata not found next to the installed package; reinstall kata-otel');
}

function readIniDir(dir: string): IniSettings {
  const settings: IniSettings = new Map();
  for (const f of readdirSync(dir).sort()) applyIni(readFileSync(join(dir, f), 'utf8'), join(dir, f), settings);
  return settings;
}

const cache = new Map<ProfileName, ProfilePolicy>();

export function loadProfile(name: ProfileName): ProfilePolicy {
  const hit = cache.get(name);
  if (hit) return hit;
  const dir = join(profilesDir(), name);
  const j = readIniDir(join(dir, 'journald.conf.d'));
  const unit = readIniDir(join(dir, 'containerd.service.d'));
  const interval = parseTimespan(unit.get('Service.LogRateLimitIntervalSec')?.value ?? '30s') ?? 30;
  const burst = Number(unit.get('Service.LogRateLimitBurst')?.value ?? 10_000);
  const gInterval = parseTimespan(j.get('Journal.RateLimitIntervalSec')?.value ?? '30s') ?? 30;
  const gBurst = Number(j.get('Journal.RateLimitBurst')?.value ?? 10_000);
  const retention = j.get('Journal.MaxRetentionSec')?.value;
  const maxUse = j.get('Journal.SystemMaxUse')?.value;
  const policy: ProfilePolicy = {
    name,
    ...JUDGEMENTS[name],
    journald: {
      rateLimit: interval === 0 || burst === 0 ? null : { intervalSec: interval, burst },
      globalRateLimit: gInterval === 0 || gBurst === 0 ? null : { intervalSec: gInterval, burst: gBurst },
      maxRetentionSec: retention ? parseTimespan(retention) : undefined,
      systemMaxUse: maxUse ? parseSize(maxUse) : undefined,
    },
    // The profile's file as shipped; env left empty so that no variable of this process changes it.
    receiverConfig: loadConfig(join(dir, 'kata-otel.yaml'), undefined, { env: {}, cwd: dir }),
    dir,
  };
  cache.set(name, policy);
  return policy;
}
