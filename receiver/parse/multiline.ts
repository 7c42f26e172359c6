// Groups the physical lines of one input stream into logical entries: Go panics / goroutine dumps, Rust panics
// with backtraces, pretty-printed (or console-split) JSON objects, and logfmt lines whose quoted value was broken
// by a raw newline. Bounded: a group never holds more than maxLines lines / maxBytes bytes. Everything else is
// passed through line by line without copying. Lines are expected without a syslog prefix (a journal shows each
// physical line of a panic as its own entry, with its own prefix, and those are parsed one by one).
import { looksLikeLogfmt } from './logfmt.js';
import { panicStart } from './panic.js';

export interface LineAssemblerOptions {
  /** Most physical lines one entry may hold (default 1000). */
  maxLines?: number;
  /** Most bytes (UTF-8) one entry may hold (default 1 MiB). */
  maxBytes?: number;
}

// What the held group is.
const Mode = { Idle: 0, GoPanic: 1, RustPanic: 2, Json: 3, Quote: 4 } as const;
type Mode = (typeof Mode)[keyof typeof Mode];

const SYSLOG_DATE = /^\p{L}{3,5}\.? [ \d]\d \d\d:\d\d:\d\d/u;

/** Go panic / goroutine dump continuation lines. */
function goContinues(line: string): boolean {
  if (line.length === 0) return true;
  const c = line.charCodeAt(0);
  if (c === 32 || c === 9) return true;
  if (
    line.startsWith('goroutine ') ||
    line.startsWith('created by ') ||
    line.startsWith('[signal ') ||
    line.startsWith('exit status ') ||
    line.startsWith('panic: ') ||
    line.startsWith('fatal error: ') ||
    line.startsWith('runtime: ') ||
    line.startsWith('...') ||
    line.startsWith('[recovered]')
  )
    return true;
  // a stack frame's function line: `main.main()`, `github.com/x/y.(*T).M(0xc000010000, {0x1, 0x2})`
  const paren = line.indexOf('(');
  if (paren <= 0 || !line.endsWith(')')) return false;
  const sp = line.indexOf(' ');
  return sp < 0 || sp > paren;
}

/** A line of a pretty-printed object after the first: indented, or a closing bracket, key, or comma. */
function continuesJson(line: string): boolean {
  const c = line.charCodeAt(0);
  return c === 32 || c === 9 || c === 125 || c === 93 || c === 34 || c === 44 || line.length === 0;
}

function rustContinues(line: string): boolean {
  const c = line.charCodeAt(0);
  return (
    c === 32 ||
    c === 9 ||
    line.startsWith('stack backtrace:') ||
    line.startsWith('note: ') ||
    line.startsWith("thread '") ||
    line.startsWith('fatal runtime error')
  );
}

export class LineAssembler {
  private readonly maxLines: number;
  private readonly maxBytes: number;
  private lines: string[] = [];
  private bytes = 0;
  private mode: Mode = Mode.Idle;
  // JSON group state
  private depth = 0;
  private inString = false;
  private escaped = false;
  // Rust: the line after `thread '…' panicked at file:line:` is the panic message
  private expectMessage = false;

  constructor(opts: LineAssemblerOptions = {}) {
    this.maxLines = Math.max(1, opts.maxLines ?? 1000);
    this.maxBytes = Math.max(1, opts.maxBytes ?? 1024 * 1024);
  }

  /** Feed one physical line (without its newline); returns the entries it completed. */
  push(line: string): string[] {
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const out: string[] = [];
    switch (this.mode) {
      case Mode.Idle:
        this.start(line, out);
        break;
      case Mode.GoPanic:
        if (goContinues(line)) {
          this.add(line, out);
          if (line.startsWith('exit status ')) this.emit(out);
        } else {
          this.emit(out);
          this.start(line, out);
        }
        break;
      case Mode.RustPanic:
        if (this.expectMessage || rustContinues(line)) {
          this.expectMessage = false;
          this.add(line, out);
          if (line.startsWith('note: ') && line.includes('RUST_BACKTRACE')) this.emit(out);
        } else {
          this.emit(out);
          this.start(line, out);
        }
        break;
      case Mode.Json:
        // An unindented `{`, or (outside a string) a line that cannot continue JSON, starts afresh: the held
        // object was cut short (console split, truncation) and must not swallow the lines after it.
        if (line.charCodeAt(0) === 123 || (!this.inString && !continuesJson(line))) {
          this.emit(out);
          this.start(line, out);
        } else if (this.add(line, out)) {
          this.scanJson(line);
          if (this.depth <= 0 && !this.inString) this.emit(out);
        }
        break;
      case Mode.Quote:
        // A line that starts a record means the held line was simply malformed: emit it as it is.
        if (looksLikeLogfmt(line) || line.charCodeAt(0) === 123 || SYSLOG_DATE.test(line)) {
          this.emit(out);
          this.start(line, out);
        } else if (this.add(line, out)) {
          if (!quoteOpenAfter(line, true)) this.emit(out);
        }
        break;
    }
    return out;
  }

  /** Emit whatever is held (at EOF, or after an idle timeout). */
  flush(): string[] {
    const out: string[] = [];
    this.emit(out);
    return out;
  }

  /** Physical lines held in an unfinished entry (a file source keeps its checkpoint before them). */
  pendingLines(): number {
    return this.lines.length;
  }

  private start(line: string, out: string[]): void {
    const c = line.charCodeAt(0);
    if (line.length === 0 || ((c === 32 || c === 9) && line.trim().length === 0)) return; // blank line: no entry
    const pk = panicStart(line);
    if (pk !== undefined) {
      this.mode = pk === 'go' ? Mode.GoPanic : Mode.RustPanic;
      this.expectMessage = pk === 'rust' && line.trimEnd().endsWith(':');
      this.hold(line);
      return;
    }
    if (c === 123) {
      const t = line.trimEnd();
      if (t.charCodeAt(t.length - 1) === 125) {
        out.push(line);
        return;
      }
      this.depth = 0;
      this.inString = false;
      this.escaped = false;
      this.scanJson(line);
      if (this.depth <= 0 && !this.inString) {
        out.push(line);
        return;
      }
      this.mode = Mode.Json;
      this.hold(line);
      return;
    }
    if (line.includes('="') && (line.includes('msg=') || line.includes('level=')) && quoteOpenAfter(line, false)) {
      this.mode = Mode.Quote;
      this.hold(line);
      return;
    }
    out.push(line);
  }

  private hold(line: string): void {
    this.lines.push(line);
    this.bytes = Buffer.byteLength(line) + 1;
  }

  /** Add a line to the held group; when it would pass a bound, emit the group first. Returns false when the
   * line was handled another way (started afresh). */
  private add(line: string, out: string[]): boolean {
    const size = Buffer.byteLength(line) + 1;
    if (this.lines.length >= this.maxLines || this.bytes + size > this.maxBytes) {
      const mode = this.mode;
      this.emit(out);
      if (mode === Mode.GoPanic || mode === Mode.RustPanic) {
        // keep grouping the rest of a long dump in bounded pieces
        this.mode = mode;
        this.hold(line);
      } else {
        this.start(line, out);
      }
      return false;
    }
    this.lines.push(line);
    this.bytes += size;
    return true;
  }

  private emit(out: string[]): void {
    if (this.lines.length > 0) {
      const text = this.lines.length === 1 ? (this.lines[0] as string) : this.lines.join('\n');
      out.push(this.mode === Mode.GoPanic ? text.trimEnd() : text);
    }
    this.lines = [];
    this.bytes = 0;
    this.mode = Mode.Idle;
    this.expectMessage = false;
  }

  private scanJson(line: string): void {
    let depth = this.depth;
    let inString = this.inString;
    let escaped = this.escaped;
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 92) escaped = true;
        else if (c === 34) inString = false;
      } else if (c === 34) inString = true;
      else if (c === 123 || c === 91) depth++;
      else if (c === 125 || c === 93) depth--;
    }
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
  }
}

/** Is a `"` still open at the end of a logfmt line (`startOpen`: the line starts inside a quoted value)? Inside a
 * quoted value a backslash escapes the next character. Runs on every logfmt line, so it jumps between quotes and
 * backslashes with indexOf instead of looking at every character. */
export function quoteOpenAfter(line: string, startOpen: boolean): boolean {
  let open = startOpen;
  let i = 0;
  let bs = -2; // next backslash at or after i (-1: none left; -2: not looked up yet)
  for (;;) {
    const q = line.indexOf('"', i);
    if (!open) {
      if (q < 0) return false;
      open = true;
      i = q + 1;
      continue;
    }
    if (bs !== -1 && bs < i) bs = line.indexOf('\\', i);
    if (bs >= 0 && (q < 0 || bs < q)) {
      i = bs + 2; // the escaped character cannot close the value
      continue;
    }
    if (q < 0) return true;
    open = false;
    i = q + 1;
  }
}
