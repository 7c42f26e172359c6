// logrus's terminal format (TextFormatter on a TTY, e.g. `kata-runtime check`): `ERRO[0000] message   key=val`
// or, with FullTimestamp, `INFO[2021-05-17T19:43:30-07:00] message key=val`. The message is padded to 44
// columns; the fields are the trailing run of `key=value` tokens. Colours are stripped by the detector.
import type { KataLogRecord } from '../model/record.js';
import { ATTR_KATA_LOG_FORMAT, KATA_LOG_FORMAT_VALUE_LOGRUS_TERMINAL } from '../semconv/generated.js';
import type { Frame, Shape } from './frame.js';
import { goRecord } from './goshim.js';
import { tokenizeLogfmt, trailingPairsStart } from './logfmt.js';
import { parseTimestamp } from './time.js';

// The four-letter level prefixes logrus prints, as the level words the severity table knows.
const LEVELS: Record<string, string> = {
  TRAC: 'trace',
  DEBU: 'debug',
  INFO: 'info',
  WARN: 'warning',
  ERRO: 'error',
  FATA: 'fatal',
  PANI: 'panic',
};

export function isTerminalLine(s: string, i = 0): boolean {
  return s.charCodeAt(i + 4) === 91 && LEVELS[s.slice(i, i + 4)] !== undefined && s.indexOf(']', i + 5) > 0;
}

export function terminalRecord(s: string, i: number, f: Frame): KataLogRecord {
  const prefix = s.slice(i, i + 4);
  const close = s.indexOf(']', i + 5);
  const inside = s.slice(i + 5, close);
  let p = close + 1;
  while (s.charCodeAt(p) === 32) p++;
  const fs = trailingPairsStart(s, p);
  const kv = ['msg', (fs < 0 ? s.slice(p) : s.slice(p, fs)).trimEnd(), 'level', LEVELS[prefix] as string];
  if (parseTimestamp(inside) !== undefined) kv.push('time', inside);
  else kv.push('elapsed', inside); // seconds since the process started
  if (fs >= 0) kv.push(...tokenizeLogfmt(s, fs).kv);
  const rec = goRecord(kv, s.slice(i), f, KATA_LOG_FORMAT_VALUE_LOGRUS_TERMINAL);
  if (rec.attributes[ATTR_KATA_LOG_FORMAT] === KATA_LOG_FORMAT_VALUE_LOGRUS_TERMINAL) rec.severityText = prefix;
  return rec;
}

export const TERMINAL: Shape = {
  weak: true,
  name: 'logrus-terminal',
  first: (c) => c >= 65 && c <= 90,
  parse: (s, i, f) => (isTerminalLine(s, i) ? terminalRecord(s, i, f) : undefined),
};
