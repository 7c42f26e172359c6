// Secrets never reach kata-otel's own logs or error messages: the userinfo of a URL (`https://user:secret@host`)
// is cut out of any text logged or printed (a proxy or a collector URL may carry a password).

const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi;

/** `text` with the `user:password@` part of every URL in it removed. */
export function redactUrls(text: string): string {
  return text.includes('@') ? text.replace(USERINFO, '$1') : text;
}
