// The dev, prod and secure profiles: generated files in sync, the kata-otel profiles valid, the runtime-rs drop-ins
// free of keys runtime-rs rejects, and each profile installed on a node passes `doctor --profile` of its own kind
// (and fails a stricter one).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../receiver/config/index.js';
import { exitCode, runDoctor } from '../../receiver/doctor/doctor.js';
import { generateProfiles, PROFILES_DIR } from '../../receiver/doctor/profiles/gen.js';
import { dropInName } from '../../receiver/doctor/profiles/render.js';
import { VARIANTS } from '../../receiver/doctor/profiles/settings.js';
import { readTomlFile } from '../../receiver/doctor/toml.js';
import { PROFILE_NAMES, type ProfileName } from '../../receiver/doctor/types.js';
import { FIXTURES, NodeTree, SHIPPED, type Variant } from './helpers.js';

const variantOf = (file: string) => file.replace(/\.toml$/, '') as Variant;

/** A node with one shipped configuration and every file of profile `p` installed where its header says. */
function install(p: ProfileName, v: Variant): NodeTree {
  const t = new NodeTree();
  const { dir } = t.installShipped(v);
  const src = join(PROFILES_DIR, p);
  t.dropIn(dir, dropInName(p), readFileSync(join(src, `${v}.toml`), 'utf8'));
  for (const f of readdirSync(join(src, 'journald.conf.d')))
    t.write(`/etc/systemd/journald.conf.d/${f}`, readFileSync(join(src, 'journald.conf.d', f), 'utf8'));
  t.write('/usr/lib/systemd/system/containerd.service', '[Service]\nExecStart=/usr/bin/containerd\n');
  for (const f of readdirSync(join(src, 'containerd.service.d')))
    t.write(
      `/etc/systemd/system/containerd.service.d/${f}`,
      readFileSync(join(src, 'containerd.service.d', f), 'utf8'),
    );
  t.mkdir('/var/log/journal');
  return t;
}

const receiverOf = (p: ProfileName) => loadConfig(join(PROFILES_DIR, p, 'kata-otel.yaml'), undefined, { env: {} });

describe('logging profiles', () => {
  it('the Kata drop-ins are in sync with receiver/doctor/profiles/settings.ts (npm run kata:profiles)', () => {
    expect(generateProfiles(true)).toBe(0);
  });

  it("every profile's kata-otel.yaml passes kata-otel's own validation and turns the start-up checks on", () => {
    for (const p of PROFILE_NAMES) {
      const c = receiverOf(p);
      expect(c.doctor).toMatchObject({ enabled: true, profile: p });
      expect(c.queue.kind).toBe('disk');
    }
  });

  it('runtime-rs drop-ins use only [agent.kata] keys runtime-rs knows (it rejects unknown agent keys)', () => {
    const known = new Set([
      ...Object.keys((readTomlFile(join(FIXTURES, SHIPPED['rs-dragonball'])).value.agent as { kata: object }).kata),
      'log_level',
      'policy',
    ]);
    for (const p of PROFILE_NAMES)
      for (const v of VARIANTS.filter((x) => x.runtime === 'rs')) {
        const agent = (readTomlFile(join(PROFILES_DIR, p, v.file)).value.agent as { kata: object }).kata;
        for (const k of Object.keys(agent)) expect(known.has(k), `${p}/${v.file}: ${k}`).toBe(true);
      }
  });

  for (const p of PROFILE_NAMES) {
    for (const v of VARIANTS) {
      it(`${p}/${v.file} on the shipped ${v.base} passes doctor --profile ${p}`, async () => {
        const t = install(p, variantOf(v.file));
        const r = await runDoctor({ profile: p, root: t.root, receiver: receiverOf(p) });
        const bad = r.findings.filter((f) => f.severity !== 'info');
        expect(bad, JSON.stringify(bad, null, 1)).toEqual([]);
        expect(exitCode(r)).toBe(0);
        expect(r.kata[0]?.dropIns).toEqual([`${r.kata[0]?.main.replace(/[^/]+$/, '')}config.d/${dropInName(p)}`]);
      });
    }
  }

  it('the dev profile fails prod (debug console: error), and prod fails secure', async () => {
    const dev = await runDoctor({ profile: 'prod', root: install('dev', 'go-qemu').root, receiver: receiverOf('dev') });
    expect(exitCode(dev)).toBe(3);
    expect(dev.findings.filter((f) => f.severity === 'error').map((f) => f.id)).toContain('kata-debug-console');
    const prod = await runDoctor({
      profile: 'secure',
      root: install('prod', 'rs-qemu').root,
      receiver: receiverOf('prod'),
    });
    expect(exitCode(prod)).toBe(3);
    expect(prod.findings.map((f) => f.id)).toEqual(
      expect.arrayContaining(['kata-annotations-kernel-params', 'receiver-retention']),
    );
  });
});
