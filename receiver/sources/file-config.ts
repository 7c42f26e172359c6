// The file source's settings schema (its descriptor, in the `*-component.ts` beside it, loads this lazily): its settings (`sources.files[]`, defaults stated only here).
import { Type } from '@sinclair/typebox';
import type { FileSourceConfig } from '../config/types.js';
import { AttrValueSchema, START_AT, StringEnum, bool, bytes, ms, strings } from '../config/schema-kit.js';

export const FileSourceSchema = Type.Object(
  {
    include: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description: 'Glob patterns of files to tail (required), e.g. `/var/log/kata/*.log`.',
      'x-hint': 'list at least one glob, e.g. include: [/var/log/kata/*.log]',
    }),
    exclude: strings([], 'Glob patterns removed from the `include` matches.'),
    start_at: StringEnum(START_AT, {
      default: 'end',
      description: 'Where to start in a file seen for the first time (no checkpoint): `beginning` or `end`.',
    }),
    poll_interval_ms: ms(200, 'How often the globs are re-expanded and files checked for growth.', 1),
    watch: bool(
      true,
      "Following on Linux: poll when inotify reports a change in a pattern's directory (at most every `poll_interval_ms`, and every 2 s anyway) instead of every `poll_interval_ms`. Patterns with `**` or a glob in a directory part, and `follow_symlinks`, always poll.",
    ),
    linger_ms: ms(
      500,
      'Following: how long read entries wait for more before one hand-off (stages, queue append, checkpoint); a full batch goes at once.',
    ),
    fingerprint_bytes: bytes(1024, 'Bytes at the start of a file that identify it across renames (rotation).', 16),
    max_line_bytes: bytes(1_048_576, 'Longer lines are cut and marked `kata.log.truncated`.', 64),
    flush_timeout_ms: ms(500, 'A last line without a newline is emitted after this long without growth.'),
    max_open_files: Type.Integer({ minimum: 1, default: 256, description: 'Most files held open at once.' }),
    multiline: bool(true, 'Join continuation lines (Go/Rust panics, stack traces) to the record they belong to.'),
    attributes: Type.Record(Type.String(), AttrValueSchema, {
      default: {},
      description: 'Static attributes added to every record read from these files.',
    }),
    follow_symlinks: strings(
      [],
      'Directories that symbolic links in the watched directories may point into; other links are not followed (kata-otel reads as root). Literal `include` paths are always followed.',
    ),
  },
  { additionalProperties: false },
);

/**
 * One file tailer: a `sources.files[]` entry, or the files given on the command line (read from their
 * beginning, every path required to exist: `requireInputs`; the settings not given are the source's own).
 */
export type FileInstanceConfig = Pick<FileSourceConfig, 'include'> &
  Partial<Omit<FileSourceConfig, 'include'>> & { requireInputs?: boolean };
