// The journald source's settings schema (its descriptor, in the `*-component.ts` beside it, loads this lazily): `sources.journald` (defaults stated only here).
import { Type } from '@sinclair/typebox';
import { Nullable, START_AT, StringEnum, bool, ms, section, strings } from '../config/schema-kit.js';

export const JOURNAL_PRIORITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;

export const JournaldSchema = section(
  {
    enabled: bool(false, 'Read the systemd journal through `journalctl --output=json --follow`.'),
    directory: Nullable(Type.String(), {
      default: null,
      description: 'Journal directory (`journalctl --directory`); null reads the system journal.',
    }),
    files: strings([], 'Journal files to read (`journalctl --file`) instead of the system journal.'),
    identifiers: strings(['kata'], 'SYSLOG_IDENTIFIER values to read (the Go runtime logs as `kata`).'),
    units: strings(
      ['containerd.service', 'crio.service'],
      "Systemd units to read: containerd's (and CRI-O's) copy of the shim records, logged with identifier `containerd`.",
    ),
    priority: StringEnum(JOURNAL_PRIORITIES, {
      default: 'debug',
      description: 'Most verbose PRIORITY read (`journalctl --priority=emerg..<priority>`).',
    }),
    start_at: StringEnum(START_AT, {
      default: 'end',
      description: 'Where to start without a saved cursor: `beginning` or `end` of the journal.',
    }),
    journalctl: Type.String({ minLength: 1, default: 'journalctl', description: 'The journalctl binary to run.' }),
    linger_ms: ms(
      500,
      'How long entries read wait for more before one hand-off (stages, queue append, cursor write); 500 entries go at once.',
    ),
    // Who may write trusted entries (docs/security.md): anyone can log with identifier `kata` (`logger -t kata`).
    trust: section(
      {
        uids: Type.Array(Type.Integer({ minimum: 0 }), {
          default: [0],
          description: 'Writer `_UID`s that can be trusted (Kata, containerd and CRI-O run as root).',
        }),
        commands: strings(
          ['containerd-shim', 'containerd', 'crio', 'kata-runtime', 'kata-monitor', 'virtiofsd'],
          'Writer `_COMM` names (15 characters at most, as the kernel keeps them): `containerd-shim` is containerd-shim-kata-v2.',
        ),
        executables: strings(
          ['containerd-shim-kata-v2', 'containerd', 'crio', 'kata-runtime', 'kata-monitor', 'virtiofsd'],
          'Writer `_EXE` file names (any directory); the Go runtime and runtime-rs both install containerd-shim-kata-v2.',
        ),
        units: strings(['containerd.service', 'crio.service'], 'Writer `_SYSTEMD_UNIT`s whose processes are trusted.'),
      },
      'An entry is trusted (`kata.log.trusted: true`) when its `_UID` is listed and its `_COMM`, `_EXE` or `_SYSTEMD_UNIT` is; other entries are kept with `kata.log.trusted: false` and raise no security alert.',
    ),
  },
  'The systemd journal, where the Go runtime (containerd-shim-kata-v2) logs by default.',
);
