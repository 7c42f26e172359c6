// journald checks: rate limits that drop Kata records, storage and retention, and stored levels, for the global
// settings (journald.conf) and the per-unit overrides of the units whose bucket Kata's records land in.
import { existsSync } from 'node:fs';
import { onHost } from './kata-config.js';
import type { ProfilePolicy } from './profiles/policy.js';
import {
  loadJournaldConf,
  loadUnit,
  parseSize,
  parseTimespan,
  type IniSetting,
  type LoadedIni,
} from './systemd-conf.js';
import type { Finding } from './types.js';

/** systemd's compiled-in defaults (journald-manager.c / journald.conf(5)). */
export const JOURNALD_DEFAULTS = { intervalSec: 30, burst: 10_000 };
/** Units whose bucket the Go shim's records (and containerd's copy) are charged to (kata-config.md §4.3). */
export const KATA_UNITS = ['containerd.service', 'crio.service'];
const PRIORITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];

/** A count setting; systemd ignores (keeps the default for) a value it cannot parse. */
const count = (v: string | undefined, fallback: number) =>
  v !== undefined && /^\d+$/.test(v.trim()) ? Number(v) : fallback;
const fmtRate = (burst: number, sec: number) => `${burst} per ${sec} s`;

export function checkJournald(root: string, policy: ProfilePolicy): Finding[] {
  const out: Finding[] = [];
  const conf = loadJournaldConf(root);
  const mainFile = conf.main ?? '/etc/systemd/journald.conf';
  const dropIn = `/etc/systemd/journald.conf.d/60-kata-otel.conf from exporter-config/kata/${policy.name}/journald.conf.d/`;
  const unitDropIn = (unit: string) =>
    `/etc/systemd/system/${unit}.d/60-kata-otel-log-ratelimit.conf from exporter-config/kata/${policy.name}/containerd.service.d/`;
  const where = (s: IniSetting | undefined, fallback: string) =>
    s ? { file: s.file, line: s.line } : { file: fallback };

  const gInterval = conf.settings.get('Journal.RateLimitIntervalSec') ?? conf.settings.get('Journal.RateLimitInterval');
  const gBurst = conf.settings.get('Journal.RateLimitBurst');
  const globalInterval = gInterval
    ? (parseTimespan(gInterval.value) ?? JOURNALD_DEFAULTS.intervalSec)
    : JOURNALD_DEFAULTS.intervalSec;
  const globalBurst = count(gBurst?.value, JOURNALD_DEFAULTS.burst);
  const globalOff = globalInterval === 0 || globalBurst === 0;
  if (globalOff && !policy.debug)
    out.push({
      id: 'journald-rate-limit-off',
      severity: 'info',
      ...where(globalBurst === 0 ? gBurst : gInterval, mainFile),
      key: globalBurst === 0 ? 'Journal.RateLimitBurst' : 'Journal.RateLimitIntervalSec',
      message:
        "journald rate limiting is off for every unit (Kata's debugging advice left in place): one runaway service can fill the journal and rotate Kata's records out",
      fix: `remove it and raise the limit for containerd.service only (${unitDropIn('containerd.service')})`,
    });

  // Sandboxes that log from their own scope (runtime-rs; Go with sandbox_cgroup_only = true) get the global limit.
  const wantGlobal = policy.journald.globalRateLimit;
  const globalShort =
    (wantGlobal === null && !globalOff) ||
    (wantGlobal !== null && !globalOff && globalBurst / globalInterval < wantGlobal.burst / wantGlobal.intervalSec);
  if (globalShort)
    out.push({
      id: 'journald-rate-limit-drops',
      severity: 'warning',
      ...where(gBurst ?? gInterval, mainFile),
      key: gBurst ? 'Journal.RateLimitBurst' : 'Journal.RateLimitIntervalSec',
      message: `journald's global limit, ${fmtRate(globalBurst, globalInterval)} per unit and priority, applies to sandboxes logging from their own scope (runtime-rs; Go with sandbox_cgroup_only = true) and drops the rest silently; the ${policy.name} profile ${wantGlobal ? `needs ${fmtRate(wantGlobal.burst, wantGlobal.intervalSec)}` : 'turns it off (debug volume)'}`,
      fix: `install ${dropIn}, then systemctl restart systemd-journald`,
    });

  const units = KATA_UNITS.map((u) => ({ unit: u, ini: loadUnit(root, u) })).filter((u) => u.ini.main);
  for (const { unit, ini } of units.length
    ? units
    : [{ unit: 'containerd.service', ini: undefined as LoadedIni | undefined }]) {
    const uInterval = ini?.settings.get('Service.LogRateLimitIntervalSec');
    const uBurst = ini?.settings.get('Service.LogRateLimitBurst');
    const interval = uInterval ? (parseTimespan(uInterval.value) ?? globalInterval) : globalInterval;
    const burst = count(uBurst?.value, globalBurst);
    const off = interval === 0 || burst === 0;
    const want = policy.journald.rateLimit;
    if (!uInterval && !uBurst && globalShort) continue; // the global finding above names the same setting
    // Without a unit override the global setting (or journald's default) applies.
    const src = uBurst ?? uInterval ?? gBurst ?? gInterval;
    const file = uBurst || uInterval ? (ini?.main ?? mainFile) : mainFile;
    if (want === null && !off) {
      out.push({
        id: 'journald-rate-limit-drops',
        severity: 'warning',
        ...where(src, file),
        key: uInterval || uBurst ? `${unit}: LogRateLimitIntervalSec` : 'Journal.RateLimitIntervalSec',
        message: `journald lets ${unit} write ${fmtRate(burst, interval)} per priority and drops the rest silently: at debug (this profile) the Kata shim's records exceed that at every sandbox start`,
        fix: `install ${unitDropIn(unit)} (LogRateLimitIntervalSec=0 for this unit), then systemctl daemon-reload && systemctl restart ${unit.replace('.service', '')}`,
      });
    } else if (want && !off && burst / interval < want.burst / want.intervalSec) {
      out.push({
        id: 'journald-rate-limit-drops',
        severity: 'warning',
        ...where(src, file),
        key: uInterval || uBurst ? `${unit}: LogRateLimitBurst` : 'Journal.RateLimitBurst',
        message: `journald lets ${unit} (where the Go shim's records and containerd's copies land) write ${fmtRate(burst, interval)} per priority and silently drops the rest; the ${policy.name} profile needs ${fmtRate(want.burst, want.intervalSec)} for pod churn`,
        fix: `install ${unitDropIn(unit)}, then systemctl daemon-reload && systemctl restart ${unit.replace('.service', '')}`,
      });
    }
  }

  const storage = conf.settings.get('Journal.Storage');
  const storageValue = storage?.value ?? 'auto';
  if (!policy.debug || storageValue === 'none') {
    const lost =
      storageValue === 'none'
        ? 'journald stores nothing (Storage=none): Kata records exist only while forwarded'
        : storageValue === 'volatile'
          ? 'Storage=volatile: the journal lives in /run and Kata records are lost at reboot'
          : storageValue === 'auto' && !existsSync(onHost(root, '/var/log/journal'))
            ? 'Storage=auto and /var/log/journal does not exist: the journal is volatile and Kata records are lost at reboot'
            : undefined;
    if (lost)
      out.push({
        id: 'journald-storage',
        severity: storageValue === 'none' ? 'error' : 'warning',
        ...where(storage, mainFile),
        key: 'Journal.Storage',
        message: lost,
        fix: `set Storage=persistent (${dropIn})`,
      });
  }
  const ret = conf.settings.get('Journal.MaxRetentionSec');
  const retSec = ret ? parseTimespan(ret.value) : 0;
  if (policy.journald.maxRetentionSec && retSec && retSec < policy.journald.maxRetentionSec)
    out.push({
      id: 'journald-retention',
      severity: 'warning',
      ...where(ret, mainFile),
      key: 'Journal.MaxRetentionSec',
      message: `journald deletes records after ${ret?.value}, less than the ${policy.name} profile's ${policy.journald.maxRetentionSec / 86_400} days`,
      fix: `raise MaxRetentionSec (${dropIn})`,
    });
  const use = conf.settings.get('Journal.SystemMaxUse');
  const useBytes = use ? parseSize(use.value) : undefined;
  if (policy.journald.systemMaxUse && useBytes !== undefined && useBytes < policy.journald.systemMaxUse)
    out.push({
      id: 'journald-retention',
      severity: 'warning',
      ...where(use, mainFile),
      key: 'Journal.SystemMaxUse',
      message: `the journal may use only ${use?.value}, less than the ${policy.name} profile's ${Math.round(policy.journald.systemMaxUse / 2 ** 30)}G: Kata records rotate out early`,
      fix: `raise SystemMaxUse (${dropIn})`,
    });
  const maxLevel = conf.settings.get('Journal.MaxLevelStore');
  if (maxLevel) {
    const idx = /^\d$/.test(maxLevel.value) ? Number(maxLevel.value) : PRIORITIES.indexOf(maxLevel.value);
    if (idx >= 0 && idx < 6)
      out.push({
        id: 'journald-level-hides-events',
        severity: 'warning',
        file: maxLevel.file,
        line: maxLevel.line,
        key: 'Journal.MaxLevelStore',
        message: `MaxLevelStore=${maxLevel.value}: journald drops the Go shim's info records (priority 6) before anyone reads them, and built-in rules match info records`,
        fix: 'remove MaxLevelStore (default: debug) or set it to info',
      });
  }
  return out;
}
