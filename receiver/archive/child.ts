// Entry point of the archive child process the daemon starts (daemon.ts): the CLI's `archive` command, in its
// own process so DuckDB's native library and memory never enter the receiver.
import { main } from '../cli/main.js';

process.exitCode = await main(process.argv.slice(2));
