// Node trees for the doctor tests: a temporary root with Kata's configuration laid out as distro packages or
// kata-deploy install it (main file, symlink, config.d), journald and unit drop-ins.
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
export const SHIPPED = {
  'go-qemu': 'shipped/go/configuration-qemu.toml',
  'go-clh': 'shipped/go/configuration-clh.toml',
  'go-fc': 'shipped/go/configuration-fc.toml',
  'rs-qemu': 'shipped/rs/configuration-qemu-runtime-rs.toml',
  'rs-clh': 'shipped/rs/configuration-clh-runtime-rs.toml',
  'rs-fc': 'shipped/rs/configuration-rs-fc.toml',
  'rs-dragonball': 'shipped/rs/configuration-dragonball.toml',
} as const;
export type Variant = keyof typeof SHIPPED;

export const GO_DIR = '/opt/kata/share/defaults/kata-containers';
export const RS_DIR = '/opt/kata/share/defaults/kata-containers/runtime-rs';

export const shipped = (v: Variant) => readFileSync(join(FIXTURES, SHIPPED[v]), 'utf8');

export class NodeTree {
  readonly root = mkdtempSync(join(tmpdir(), 'kata-otel-doctor-'));

  write(nodePath: string, text: string): string {
    const p = join(this.root, nodePath);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text, { mode: 0o644 });
    return nodePath;
  }

  mkdir(nodePath: string): void {
    mkdirSync(join(this.root, nodePath), { recursive: true });
  }

  symlink(target: string, nodePath: string): void {
    mkdirSync(dirname(join(this.root, nodePath)), { recursive: true });
    symlinkSync(target, join(this.root, nodePath));
  }

  /** Install a shipped file as the packages do: configuration-<hv>.toml plus the configuration.toml symlink. */
  installShipped(v: Variant): { dir: string; entry: string; main: string } {
    const dir = v.startsWith('rs-') ? RS_DIR : GO_DIR;
    const name = SHIPPED[v].split('/').pop() as string;
    const main = this.write(`${dir}/${name}`, shipped(v));
    this.symlink(main, `${dir}/configuration.toml`);
    return { dir, entry: `${dir}/configuration.toml`, main };
  }

  dropIn(dir: string, name: string, text: string): string {
    return this.write(`${dir}/config.d/${name}`, text);
  }
}
