// `kata-otel verify [--data-dir DIR] [--key-file FILE] [PATH…]`: check the integrity chains of the store and of
// Collector file-exporter output (receiver/integrity/verify.ts). Exit 0: clean; 1: tampering found; 2: usage
// error or input that cannot be read.
import type { Command } from 'commander';
import type { Finding } from '../integrity/verify.js';

export interface VerifyCommandOptions {
  dataDir?: string;
  keyFile?: string;
  paths: string[];
  json?: boolean;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const line = (f: Finding) =>
  `${f.tampering ? 'TAMPERED' : 'note'} ${f.kind} ${f.where}${f.stream ? ` stream=${f.stream}` : ''}${f.seq !== undefined ? ` seq=${f.seq}` : ''}: ${f.message}\n`;

export async function verifyCommand(o: VerifyCommandOptions): Promise<number> {
  // Loaded here: `verify` is a separate tool run and should not pay for the receiver at start.
  const { verifyPaths, VerifyInputError } = await import('../integrity/verify.js');
  const { readKeyFile, KeyFileError } = await import('../integrity/key-file.js');
  try {
    const key = o.keyFile ? readKeyFile(o.keyFile, '--key-file') : undefined;
    const dataDir = o.dataDir ?? (o.paths.length ? undefined : './kata-otel-data');
    const res = await verifyPaths({ dataDir, paths: o.paths }, key);
    if (res.files === 0) {
      o.stderr.write(`kata-otel verify: nothing to verify${dataDir ? ` (no store files in ${dataDir}/store)` : ''}\n`);
      return 2;
    }
    if (o.json) o.stdout.write(JSON.stringify(res) + '\n');
    else for (const f of res.findings) o.stdout.write(line(f));
    const bad = res.findings.filter((f) => f.tampering).length;
    o.stderr.write(
      `kata-otel verify: ${res.files} files, ${res.records} records in ${res.streams.length} stream${res.streams.length === 1 ? '' : 's'}` +
        `${res.duplicates ? `, ${res.duplicates} identical re-sends` : ''}: ` +
        (bad ? `${bad} finding${bad === 1 ? '' : 's'} of tampering\n` : 'no tampering found\n'),
    );
    return res.tampered ? 1 : 0;
  } catch (err) {
    if (err instanceof VerifyInputError || err instanceof KeyFileError) {
      o.stderr.write(`kata-otel verify: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

export function verifyCommands(program: Command, setCode: (code: number) => void): void {
  program
    .command('verify')
    .description(
      'check the integrity chains of the store (--data-dir, default ./kata-otel-data) and of Collector file-exporter output (PATH: files or directories); exit 0 clean, 1 tampering found, 2 unreadable input',
    )
    .argument('[paths...]', 'OTLP/JSON files or directories (Collector file exporter output, store files)')
    .option('--data-dir <dir>', "verify <dir>/store (kata-otel's data directory)")
    .option('--key-file <file>', 'the integrity HMAC key (integrity.hmac_key_file), when the chain is keyed')
    .option('--json', 'print the result as one JSON object')
    .exitOverride((err) => {
      // Usage errors are exit 2 here: 1 means tampering.
      throw Object.assign(err, { exitCode: err.exitCode === 0 ? 0 : 2 });
    })
    .action(async (paths: string[], o: { dataDir?: string; keyFile?: string; json?: boolean }) => {
      setCode(await verifyCommand({ ...o, paths, stdout: process.stdout, stderr: process.stderr }));
    });
}
