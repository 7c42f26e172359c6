// `prepare` (npm install in a clone, npm pack): build dist/ when the toolchain is installed. Without it
// (`npm ci --omit=dev`, a production image) there is nothing to build with; a packed tarball ships dist/ already.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const tsc = new URL('../node_modules/typescript/bin/tsc', import.meta.url);
if (!existsSync(tsc)) {
  const built = existsSync(new URL('../dist/cli/main.js', import.meta.url));
  process.stderr.write(
    `kata-otel: TypeScript is not installed (dev dependencies omitted); ${built ? 'using the dist/ already built' : 'dist/ is not built: run `npm install` with dev dependencies, then `npm run build`'}\n`,
  );
  process.exit(0);
}
// npm sets npm_execpath to its own CLI while it runs a script: the same npm builds.
const npm = process.env.npm_execpath;
const r = npm
  ? spawnSync(process.execPath, [npm, 'run', 'build'], { stdio: 'inherit' })
  : spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
