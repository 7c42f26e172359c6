// `kata-otel doctor` and the receiver's start-up checks: find the node's Kata configurations (or take the given
// ones), journald's configuration and kata-otel's own, check them against a profile, report findings.
import type { ReceiverConfig } from '../config/index.js';
import { checkJournald } from './checks-journald.js';
import { checkKata } from './checks-kata.js';
import { checkReceiver } from './checks-receiver.js';
import {
  discoverKataConfigs,
  GO_CONFIG_PATHS,
  loadKataConfig,
  RS_CONFIG_PATHS,
  type KataRuntime,
} from './kata-config.js';
import { loadProfile } from './profiles/policy.js';
import { loadJournaldConf } from './systemd-conf.js';
import { DoctorInputError, SEVERITY_RANK, type Finding, type ProfileName } from './types.js';

export interface DoctorOptions {
  profile: ProfileName;
  /** Prefix of every node path (default `/`). */
  root?: string;
  /** Kata configuration files (node paths) instead of the default search. */
  kataConfigs?: string[];
  /** kata-otel's configuration on this node, when known. */
  receiver?: ReceiverConfig;
  connectTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface CheckedKata {
  entry: string;
  main: string;
  runtime: KataRuntime;
  hypervisor?: string;
  dropIns: string[];
}

export interface DoctorReport {
  profile: ProfileName;
  kata: CheckedKata[];
  journald: string[];
  receiver: string | null;
  findings: Finding[];
  /** Some input could not be read or parsed (exit code 2). */
  unreadable: boolean;
}

const inputFinding = (err: DoctorInputError): Finding => ({
  id: 'input-unreadable',
  severity: 'error',
  file: err.file,
  line: err.line,
  message: err.message.slice(err.message.indexOf(': ') + 2),
  fix: 'fix the file (Kata, or journald, reads it the same way and fails or ignores it), then run the doctor again',
});

export async function runDoctor(o: DoctorOptions): Promise<DoctorReport> {
  const root = o.root ?? '/';
  const policy = loadProfile(o.profile);
  const findings: Finding[] = [];
  const kata: CheckedKata[] = [];
  let unreadable = false;
  const targets = o.kataConfigs?.length
    ? o.kataConfigs.map((entry) => ({ entry, runtime: undefined as KataRuntime | undefined }))
    : discoverKataConfigs(root);
  if (!targets.length)
    findings.push({
      id: 'kata-config-missing',
      severity: 'warning',
      message: `no Kata configuration found (looked for ${[...GO_CONFIG_PATHS, ...RS_CONFIG_PATHS].join(', ')} and kata-deploy's runtimes/*/)`,
      fix: 'run on a Kata node (in a container: mount the host at a directory and pass --root), or name the file with --kata-config',
    });
  for (const t of targets) {
    try {
      const c = loadKataConfig(root, t.entry, t.runtime);
      kata.push({ entry: t.entry, main: c.main, runtime: c.runtime, hypervisor: c.hypervisor, dropIns: c.dropIns });
      findings.push(
        ...(await checkKata(c, { policy, receiver: o.receiver, connectTimeoutMs: o.connectTimeoutMs ?? 1000 })),
      );
    } catch (err) {
      if (!(err instanceof DoctorInputError)) throw err;
      unreadable = true;
      findings.push(inputFinding(err));
    }
  }
  findings.push(...checkJournald(root, policy));
  if (o.receiver) findings.push(...checkReceiver(o.receiver, policy, o.env));
  findings.sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]);
  return {
    profile: o.profile,
    kata,
    journald: loadJournaldConf(root).files,
    receiver: o.receiver?.source ?? null,
    findings,
    unreadable,
  };
}

/** 0: nothing or only info; 1: worst is a warning; 3: worst is an error; 2: some input unreadable. */
export function exitCode(r: DoctorReport): number {
  if (r.unreadable) return 2;
  const worst = Math.max(-1, ...r.findings.map((f) => SEVERITY_RANK[f.severity]));
  return worst === SEVERITY_RANK.error ? 3 : worst === SEVERITY_RANK.warning ? 1 : 0;
}
