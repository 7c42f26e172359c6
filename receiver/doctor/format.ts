// The doctor's human-readable report.
import type { DoctorReport } from './doctor.js';
import { exitCode } from './doctor.js';

const label = { error: 'ERROR  ', warning: 'WARNING', info: 'info   ' } as const;

export function formatReport(r: DoctorReport): string {
  const out: string[] = [`kata-otel doctor: checked against the "${r.profile}" profile`];
  for (const k of r.kata)
    out.push(
      `  Kata (${k.runtime === 'go' ? 'Go runtime' : 'runtime-rs'}, ${k.hypervisor ?? 'hypervisor unknown'}): ${k.entry}${k.main !== k.entry ? ` -> ${k.main}` : ''}` +
        (k.dropIns.length ? `\n    + ${k.dropIns.join('\n    + ')}` : ''),
    );
  out.push(
    `  journald: ${r.journald.length ? r.journald.join(', ') : 'no configuration files (compiled-in defaults)'}`,
  );
  out.push(`  kata-otel: ${r.receiver ?? 'not checked (give its configuration with --config)'}`, '');
  for (const f of r.findings) {
    const where = f.file ? `${f.file}${f.line !== undefined ? `:${f.line}` : ''}` : '';
    out.push(`${label[f.severity]} ${f.id}${where ? `  ${where}` : ''}${f.key ? `  [${f.key}]` : ''}`);
    out.push(`        ${f.message}`, `        fix: ${f.fix}`, '');
  }
  const n = (s: string) => r.findings.filter((f) => f.severity === s).length;
  out.push(
    `${n('error')} error(s), ${n('warning')} warning(s), ${n('info')} info${r.unreadable ? '; some input could not be read' : ''} (exit code ${exitCode(r)})`,
  );
  return out.join('\n') + '\n';
}
