// `npm run kata:profiles` writes the Kata drop-ins of every profile into exporter-config/kata/<profile>/;
// `--check` fails when a checked-in file differs (run by the tests).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeOrCheck } from '../../tooling/generated-file.js';
import { PROFILE_NAMES } from '../types.js';
import { renderDropIn } from './render.js';
import { VARIANTS } from './settings.js';

export const PROFILES_DIR = fileURLToPath(new URL('../../../exporter-config/kata/', import.meta.url));

export function generateProfiles(check: boolean): number {
  let failed = 0;
  for (const p of PROFILE_NAMES) {
    if (!check) mkdirSync(join(PROFILES_DIR, p), { recursive: true });
    for (const v of VARIANTS) {
      failed += writeOrCheck(join(PROFILES_DIR, p, v.file), renderDropIn(p, v), check, 'npm run kata:profiles');
    }
  }
  return failed;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = generateProfiles(process.argv.includes('--check'));
}
