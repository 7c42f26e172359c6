// The stdin source's settings schema (its descriptor, in the `*-component.ts` beside it, loads this lazily): `sources.stdin` (or `-` among the command line's files).
import { bool } from '../config/schema-kit.js';

export const StdinSchema = bool(false, 'Read log text from standard input.');
