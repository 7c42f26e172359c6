// Loading Kata's configuration the way Kata does: default search paths, symlinked main files, config.d drop-ins in
// byte-wise filename order (later wins, tables merge, arrays replace), every directory entry applied, bad entries
// and malformed TOML reported with file and line.
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { discoverKataConfigs, loadKataConfig, lookup } from '../../receiver/doctor/kata-config.js';
import { runDoctor } from '../../receiver/doctor/doctor.js';
import { DoctorInputError } from '../../receiver/doctor/types.js';
import { GO_DIR, NodeTree, RS_DIR, SHIPPED, type Variant } from './helpers.js';

const EXPECT: Record<Variant, { runtime: 'go' | 'rs'; hypervisor: string }> = {
  'go-qemu': { runtime: 'go', hypervisor: 'qemu' },
  'go-clh': { runtime: 'go', hypervisor: 'clh' },
  'go-fc': { runtime: 'go', hypervisor: 'firecracker' },
  'rs-qemu': { runtime: 'rs', hypervisor: 'qemu' },
  'rs-clh': { runtime: 'rs', hypervisor: 'clh' },
  'rs-fc': { runtime: 'rs', hypervisor: 'firecracker' },
  'rs-dragonball': { runtime: 'rs', hypervisor: 'dragonball' },
};

describe('Kata configuration as shipped', () => {
  for (const v of Object.keys(SHIPPED) as Variant[]) {
    it(`${v}: found through the default search path and its configuration.toml symlink`, () => {
      const t = new NodeTree();
      const { entry, main } = t.installShipped(v);
      const found = discoverKataConfigs(t.root);
      expect(found).toEqual([{ entry, runtime: EXPECT[v].runtime }]);
      const c = loadKataConfig(t.root, entry, EXPECT[v].runtime);
      expect(c.main).toBe(main);
      expect(c.hypervisor).toBe(EXPECT[v].hypervisor);
      expect(c.agent).toBe('kata');
      // Every shipped file sets the risky default, and its line is the file's own.
      const { value, origin } = lookup(c, ['runtime', 'disable_guest_seccomp']);
      expect(value).toBe(true);
      expect(origin?.file).toBe(main);
      expect(origin?.line).toBeGreaterThan(3);
    });
  }

  it('/etc/kata-containers/configuration.toml shadows the shipped default (Go search order)', () => {
    const t = new NodeTree();
    t.installShipped('go-qemu');
    t.write('/etc/kata-containers/configuration.toml', '[hypervisor.clh]\nenable_debug = true\n');
    expect(discoverKataConfigs(t.root)[0]).toEqual({ entry: '/etc/kata-containers/configuration.toml', runtime: 'go' });
  });

  it("kata-deploy's per-shim copies (runtimes/<shim>/) are checked too, with their own config.d", () => {
    const t = new NodeTree();
    t.write(`${GO_DIR}/runtimes/qemu/configuration-qemu.toml`, '[hypervisor.qemu]\n[agent.kata]\n[runtime]\n');
    // kata-deploy replaces the original with a relative symlink to the copy.
    t.symlink('runtimes/qemu/configuration-qemu.toml', `${GO_DIR}/configuration-qemu.toml`);
    t.dropIn(`${GO_DIR}/runtimes/qemu`, '20-debug.toml', '[agent.kata]\ndebug_console_enabled = true\n');
    t.write(
      `${RS_DIR}/runtimes/dragonball/configuration-dragonball.toml`,
      '[hypervisor.dragonball]\n[agent.kata]\n[runtime]\nhypervisor_name = "dragonball"\n',
    );
    const found = discoverKataConfigs(t.root);
    expect(found.map((f) => [f.entry, f.runtime])).toEqual([
      [`${GO_DIR}/runtimes/qemu/configuration-qemu.toml`, 'go'],
      [`${RS_DIR}/runtimes/dragonball/configuration-dragonball.toml`, 'rs'],
    ]);
    // Through the symlink, config.d is the one next to the resolved copy.
    const c = loadKataConfig(t.root, `${GO_DIR}/configuration-qemu.toml`, 'go');
    expect(c.main).toBe(`${GO_DIR}/runtimes/qemu/configuration-qemu.toml`);
    expect(lookup(c, ['agent', 'kata', 'debug_console_enabled'])).toEqual({
      value: true,
      origin: { file: `${GO_DIR}/runtimes/qemu/config.d/20-debug.toml`, line: 2 },
    });
  });
});

describe('config.d drop-ins', () => {
  it('apply in byte-wise filename order: the later file wins, key by key, and tables merge', () => {
    const t = new NodeTree();
    const { entry, main } = t.installShipped('rs-qemu');
    t.dropIn(RS_DIR, '50-b.toml', '[hypervisor.qemu]\nenable_debug = false\n\n[agent.kata]\nlog_level = "warn"\n');
    t.dropIn(RS_DIR, '20-a.toml', '[hypervisor.qemu]\nenable_debug = true\nlog_level = "debug"\n');
    // "9-…" sorts after "50-…" byte-wise, as Go's os.ReadDir and Rust's sort_by_key(file_name) order them.
    t.dropIn(RS_DIR, '9-late.toml', '[agent.kata]\nlog_level = "error"\n');
    const c = loadKataConfig(t.root, entry, 'rs');
    expect(c.dropIns.map((d) => d.split('/').pop())).toEqual(['20-a.toml', '50-b.toml', '9-late.toml']);
    expect(lookup(c, ['hypervisor', 'qemu', 'enable_debug'])).toEqual({
      value: false,
      origin: { file: `${RS_DIR}/config.d/50-b.toml`, line: 2 },
    });
    expect(lookup(c, ['hypervisor', 'qemu', 'log_level']).origin?.file).toBe(`${RS_DIR}/config.d/20-a.toml`);
    expect(lookup(c, ['agent', 'kata', 'log_level'])).toEqual({
      value: 'error',
      origin: { file: `${RS_DIR}/config.d/9-late.toml`, line: 2 },
    });
    // Keys no drop-in touched keep the main file's value and line.
    expect(lookup(c, ['hypervisor', 'qemu', 'kernel_params']).origin?.file).toBe(main);
    expect(lookup(c, ['hypervisor', 'qemu', 'kernel_params']).value).toBe(
      'cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1',
    );
  });

  it('arrays and strings are replaced, not merged', () => {
    const t = new NodeTree();
    const { entry } = t.installShipped('go-qemu');
    t.dropIn(
      GO_DIR,
      '30-kernel-params.toml',
      '[hypervisor.qemu]\nkernel_params = "agent.log=debug"\nenable_annotations = []\n',
    );
    const c = loadKataConfig(t.root, entry, 'go');
    expect(lookup(c, ['hypervisor', 'qemu', 'kernel_params']).value).toBe('agent.log=debug');
    expect(lookup(c, ['hypervisor', 'qemu', 'enable_annotations']).value).toEqual([]);
  });

  it('every entry is applied whatever its name (a left-over .bak too), with a warning', async () => {
    const t = new NodeTree();
    const { entry } = t.installShipped('go-clh');
    t.dropIn(GO_DIR, '50-debug.toml.bak', '[agent.kata]\ndebug_console_enabled = true\n');
    const c = loadKataConfig(t.root, entry, 'go');
    expect(lookup(c, ['agent', 'kata', 'debug_console_enabled']).value).toBe(true);
    expect(c.loadFindings.map((f) => [f.id, f.file])).toEqual([
      ['kata-dropin-name', `${GO_DIR}/config.d/50-debug.toml.bak`],
    ]);
    const r = await runDoctor({ profile: 'prod', root: t.root });
    expect(r.findings.find((f) => f.id === 'kata-debug-console')?.file).toBe(`${GO_DIR}/config.d/50-debug.toml.bak`);
  });

  it('a directory in config.d is an error (Kata fails to load); a symlink is refused by runtime-rs only', () => {
    const t = new NodeTree();
    const go = t.installShipped('go-qemu');
    t.mkdir(`${GO_DIR}/config.d/60-dir.toml`);
    t.write('/srv/10-x.toml', '[runtime]\nenable_debug = true\n');
    t.symlink('/srv/10-x.toml', `${GO_DIR}/config.d/10-x.toml`);
    const c = loadKataConfig(t.root, go.entry, 'go');
    expect(c.loadFindings.map((f) => [f.id, f.severity])).toEqual([['kata-dropin-not-loadable', 'error']]);
    expect(lookup(c, ['runtime', 'enable_debug'])).toEqual({
      value: true,
      origin: { file: `${GO_DIR}/config.d/10-x.toml`, line: 2 },
    });
    const rs = t.installShipped('rs-qemu');
    t.symlink('/srv/10-x.toml', `${RS_DIR}/config.d/10-x.toml`);
    const r = loadKataConfig(t.root, rs.entry, 'rs');
    expect(r.loadFindings.map((f) => [f.id, f.file])).toEqual([
      ['kata-dropin-not-loadable', `${RS_DIR}/config.d/10-x.toml`],
    ]);
    expect(lookup(r, ['runtime', 'enable_debug']).value).toBe(false);
  });

  it('a drop-in writable by others is reported', () => {
    const t = new NodeTree();
    const { entry } = t.installShipped('go-fc');
    const f = t.dropIn(GO_DIR, '50-x.toml', '[runtime]\n');
    chmodSync(join(t.root, f), 0o666);
    const c = loadKataConfig(t.root, entry, 'go');
    expect(c.loadFindings.map((x) => [x.id, x.severity])).toEqual([['kata-dropin-writable', 'error']]);
  });

  it('a malformed drop-in is named with its line and column; the doctor exits 2', async () => {
    const t = new NodeTree();
    const { entry } = t.installShipped('go-qemu');
    // The knet plugin's sed leaves exactly this: `debug_console_enabled = true.`
    t.dropIn(GO_DIR, '50-user.toml', '[agent.kata]\n# set by a tool\ndebug_console_enabled = true.\n');
    let err: unknown;
    try {
      loadKataConfig(t.root, entry, 'go');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DoctorInputError);
    const e = err as DoctorInputError;
    expect([e.file, e.line, e.column]).toEqual([`${GO_DIR}/config.d/50-user.toml`, 3, 29]);
    expect(e.message).toMatch(
      /^\/opt\/kata\/share\/defaults\/kata-containers\/config\.d\/50-user\.toml:3:29: TOML syntax error/,
    );
    const r = await runDoctor({ profile: 'prod', root: t.root });
    expect(r.unreadable).toBe(true);
    expect(r.findings.find((f) => f.id === 'input-unreadable')).toMatchObject({
      file: `${GO_DIR}/config.d/50-user.toml`,
      line: 3,
    });
  });

  it('a missing --kata-config file is unreadable input', async () => {
    const t = new NodeTree();
    const r = await runDoctor({ profile: 'prod', root: t.root, kataConfigs: ['/nowhere/configuration.toml'] });
    expect(r.unreadable).toBe(true);
  });
});
