// `kata-otel doctor` as a real child process: exit codes (0 clean/info, 1 warnings, 3 errors, 2 usage or unreadable
// input), the human report naming file:line and fix, --json, --kata-config.
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { GO_DIR, NodeTree, RS_DIR } from './helpers.js';

describe('kata-otel doctor', () => {
  it('exit 3 on an error finding, with file:line, key and fix in the report', async () => {
    const t = new NodeTree();
    t.installShipped('go-clh');
    t.dropIn(GO_DIR, '20-debug.toml', '[agent.kata]\ndebug_console_enabled = true\n');
    const r = await runCli(['doctor', '--root', t.root, '--profile', 'secure']);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(
      `ERROR   kata-debug-console  ${GO_DIR}/config.d/20-debug.toml:2  [agent.kata.debug_console_enabled]`,
    );
    expect(r.stdout).toMatch(/fix: set debug_console_enabled = false/);
    expect(r.stdout).toMatch(/\(exit code 3\)\n$/);
  });

  it('exit 1 when the worst finding is a warning; --json carries the findings and the exit code', async () => {
    const t = new NodeTree();
    t.installShipped('rs-dragonball');
    t.dropIn(RS_DIR, '60.toml', '[runtime]\ndisable_guest_seccomp = false\n\n[agent.kata]\nlog_level = "warn"\n');
    t.write('/etc/systemd/journald.conf.d/60.conf', '[Journal]\nStorage=persistent\nRateLimitBurst=0\n');
    const r = await runCli(['doctor', '--root', t.root, '--profile', 'prod', '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as {
      exitCode: number;
      profile: string;
      findings: { id: string; severity: string; line?: number }[];
      kata: { runtime: string; hypervisor: string }[];
    };
    expect(j.exitCode).toBe(1);
    expect(j.kata).toMatchObject([{ runtime: 'rs', hypervisor: 'dragonball' }]);
    expect(j.findings.find((f) => f.id === 'kata-log-level-hides-events')).toMatchObject({
      severity: 'warning',
      line: 5,
    });
    expect(j.findings.find((f) => f.id === 'journald-rate-limit-off')).toMatchObject({ severity: 'info', line: 3 });
  });

  it('exit 0 with only info findings (--kata-config names the file)', async () => {
    const t = new NodeTree();
    t.write(
      '/srv/kata.toml',
      '[hypervisor.dragonball]\nkernel_params = "agent.log_vport=1025"\n[agent.kata]\n[runtime]\nhypervisor_name = "dragonball"\n',
    );
    t.mkdir('/var/log/journal');
    t.write('/etc/systemd/journald.conf', '[Journal]\nRateLimitBurst=0\n');
    const r = await runCli(['doctor', '--root', t.root, '--kata-config', '/srv/kata.toml', '--profile', 'prod']);
    expect(r.stdout).toContain('Kata (runtime-rs, dragonball): /srv/kata.toml');
    expect(r.code).toBe(0);
  });

  it('exit 2 for a malformed file (named with its line), an unknown profile, or a bad kata-otel configuration', async () => {
    const t = new NodeTree();
    t.installShipped('go-fc');
    t.dropIn(GO_DIR, '50-user.toml', '[agent.kata]\ndebug_console_enabled = true.\n');
    const bad = await runCli(['doctor', '--root', t.root]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toContain(`ERROR   input-unreadable  ${GO_DIR}/config.d/50-user.toml:2`);
    expect(bad.stdout).toMatch(/TOML syntax error/);
    const usage = await runCli(['doctor', '--profile', 'staging']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/staging/);
    t.write('/etc/kata-otel.yaml', 'queue: { kind: tape }\n');
    const cfg = await runCli(['doctor', '--root', t.root, '--config', `${t.root}/etc/kata-otel.yaml`]);
    expect(cfg.code).toBe(2);
    expect(cfg.stderr).toMatch(/kata-otel\.yaml:1: queue\.kind/);
  });
});
