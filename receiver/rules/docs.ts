// Generates docs/rules.md (the rule format and the built-in library) from receiver/rules/builtin/*.yaml.
// `--check` regenerates in memory and fails when the checked-in file differs (the test suite runs the same
// comparison), like semconv/generate.ts.
import { fileURLToPath } from 'node:url';
import { formatMarkdown, writeOrCheck } from '../tooling/generated-file.js';
import { loadBuiltinRules } from './load.js';
import { sigmaTags } from './sigma.js';
import { SEVERITY_NUMBER, formatDuration, type Rule, type RuleSet } from './types.js';

export const RULES_DOC = fileURLToPath(new URL('../../docs/rules.md', import.meta.url));

const cell = (s: string) => s.replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();
const code = (s: string) => '`' + s.replace(/\s+/g, ' ').trim().replace(/`/g, 'ˋ') + '`';

const FORMAT = `## Rule files

A rules file is a YAML list, as in Falco. \`kata-otel\` loads the built-in library and then the files and
directories given to it, in order; a later file may replace a rule with the same id or switch one off with
\`- rule: <id>\` + \`enabled: false\` (nothing else in the item).

\`\`\`yaml
- ruleset: my-site            # optional: ruleset name (security_rule.ruleset.name), author, date (YYYY-MM-DD), desc
- list: shells
  items: [/bin/sh, /bin/bash]
- macro: agent_record
  condition: kata.component = agent
- rule: my-agent-shell
  name: Shell started by the agent          # optional human title (security_rule.name); defaults to the id
  desc: Why this matters and what to do.    # security_rule.description
  condition: >-
    agent_record and body contains (shells)
  output: 'Shell in sandbox %{kata.sandbox.id}: %body'
  priority: high                # info | low | medium | high | critical (Falco priorities are accepted too)
  tags: [T1059.004, mitre_execution]
  category: execution           # security_rule.category
  references: [https://example.com/runbook]   # the first one becomes security_rule.reference
  group_by: [kata.sandbox.id]   # state and deduplication key (default kata.sandbox.id; threshold: host.name)
  dedup_window: 5m              # one alert per rule and key per window; 0 alerts on every match
  enabled: true
  falsepositives: [Operators debugging on purpose]
  trust: guest                  # host | guest | channel | any: the least trustworthy writer it believes (see Trust)
\`\`\`

A value that contains \`: \` (most conditions with quoted strings do) must be quoted or written as a block
scalar (\`condition: >-\` with the text on the next lines), or YAML reads it as a mapping.

### Conditions

Falco-like expressions over one record, parsed by a recursive-descent parser that reports the column of a
mistake:

| Form | Meaning |
|---|---|
| \`field = v\`, \`field != v\` | equal / not equal (a number compares numerically too) |
| \`field < n\`, \`<=\`, \`>\`, \`>=\` | numeric comparison (\`severity_number >= 17\`) |
| \`field in (a, b, listname)\` / \`field in listname\` | equal to any item; list names expand |
| \`field contains v\` / \`icontains\` | substring (\`icontains\` ignores case) |
| \`field startswith v\` / \`istartswith\`, \`endswith\` / \`iendswith\` | prefix / suffix |
| \`field regex "re"\` / \`iregex\` | regular expression in [RE2 syntax](https://github.com/google/re2/wiki/Syntax), unanchored, run by RE2 (linear time; no lookaround or backreferences), on the first 64 KiB of the value |
| \`field exists\` | the field is present and not empty |
| \`a and b\`, \`a or b\`, \`not a\`, \`( … )\` | boolean logic (\`not\` binds tighter than \`and\`, \`and\` tighter than \`or\`) |
| \`macroname\` | the macro's condition |

Any string operator also takes a list, \`body contains (a, b)\`, meaning "any of". Values are strings in double
or single quotes (a backslash escapes the next character), numbers, or bare words (\`agent\`, \`GUEST_PANICKED\`).
Fields: \`body\`, \`severity_number\`, \`severity_text\`, \`event_name\`, and any attribute name (it contains a dot):
\`kata.component\`, \`kata.sandbox.id\`, \`container.id\`, \`error.message\`, \`kata.field.<key>\` … (docs/semconv.md).
A comparison on a missing field is false (\`!=\` included); write \`not field = v\` to match records without it.

Every operator runs in time linear in the value, whatever the rule: \`regex\` runs on RE2 (re2js), not on a
backtracking engine, so a pattern such as \`^(a+)+$\` cannot be made slow by the text a guest writes; it looks at
the first 64 KiB (65,536 characters) of a value only. A pattern RE2 cannot run is refused when the rules load.

### Output

\`output\` becomes the alert's body: \`%body\`, \`%severity_text\`, \`%{attribute.name}\` (or Falco-style
\`%attribute.name\`), \`%{count}\` (matches that triggered a threshold), \`%{window}\`, \`%{rule}\`; \`%%\` is a
literal \`%\`. Missing values print as \`<NA>\`.

### Kinds

| \`kind\` | Keys | Fires |
|---|---|---|
| \`match\` (default) | \`condition\` | on every matching record (subject to deduplication) |
| \`threshold\` | \`condition\`, \`count\`, \`window\` | when \`count\` matches fall within a sliding \`window\` for one key |
| \`absence\` | \`start\`, \`condition\`, \`stop\`, \`timeout\` | when a key armed by \`start\` sees no \`condition\` record for \`timeout\` (disarmed by \`stop\`) |
| \`sequence\` | \`sequence\` (list of conditions), \`window\` | when the conditions match in order, for one key, within \`window\` of the first |

Time is the records' own timestamp (observed time when a record has none), so replaying old logs alerts as it
would have live. Absence deadlines and the ends of deduplication windows are checked by \`flush(now)\`, which
the receiver runs on a timer. Within a deduplication window further matches only increase a count, which is
reported as \`kata.alert.suppressed_count\` on the next alert, or in an alert of its own when the window ends.

Absence rules never alert on context they did not see. A key counts its silence only after the watched activity
(\`condition\`) was seen for it, so a pasted start line or a sandbox whose agent log is off raises nothing. A jump
in record time longer than the timeout (files from different days, lines from several reports) is no evidence
of silence: armed deadlines move forward by the gap. A record older than the newest one seen counts from its
arrival. Live, the receiver's timer flushes at wall-clock time within the timeout, so a silent sandbox still
alerts on time.

To tune a rule from a missed or a false alert, replay the lines with \`kata-otel rules test --explain FILE\`: for
every record it prints on stderr each rule whose condition matched, the parts that matched (for a list, the items)
and the values the record had, and notes a rule whose \`trust:\` kept the record out; \`--why-not RULE\` also prints
why that rule did not match each record (the failing part of each \`or\` branch).

### Alerts

An alert is an OTel event: a log record with EventName \`kata.alert\`, SeverityNumber from the severity
(${Object.entries(SEVERITY_NUMBER)
  .map(([k, v]) => `${k} ${v}`)
  .join(', ')}), body = the rendered output, and attributes \`kata.alert.rule.id\`, \`kata.alert.severity\`,
\`security_rule.name\` / \`description\` / \`category\` / \`reference\` / \`ruleset.name\`,
\`kata.alert.trigger.uids\` (the triggering records' \`log.record.uid\`) and \`kata.alert.suppressed_count\`. The
triggering record's resource attributes (\`service.name\`, \`kata.sandbox.id\`, \`kata.component\`, …) and
\`container.id\` are copied, so the alert lands in the sandbox's resource.

### Trust

A record is only as trustworthy as its writer (docs/security.md): the guest writes the agent's vsock stream,
Firecracker FIFOs and the console text the shim re-logs (\`kata.log.guest_controlled\`), and any local user can
write a journal entry with identifier \`kata\` (\`kata.log.trusted: false\`). \`trust:\` names the least
trustworthy writer whose records take part in the rule; other records are not evaluated at all, so they can
neither raise an alert nor count towards, arm, disarm or advance one.

| \`trust\`           | Records the rule sees                                                                                   |
| ----------------- | ------------------------------------------------------------------------------------------------------- |
| \`host\`            | written on the host by Kata, containerd or CRI-O (and files or stdin the operator chose)                |
| \`guest\` (default) | also guest-controlled records speaking as the guest (\`kata.component\` agent or guest-kernel)           |
| \`channel\`         | also guest-controlled records claiming to be anything else (rules about the channel, not the claim)     |
| \`any\`             | also journal entries whose writer is not a Kata or CRI runtime process (\`kata.log.trusted: false\`)     |

A rule about the runtime, the VMM or the VM's life (a VM died, seccomp off, agent unreachable) uses \`host\`: a
guest can write \`QEMU exited with an error\` on its console, and a local user can \`logger -t kata\` it. The
Sigma and Loki exports add the same requirement to every condition.

### Exports

\`kata-otel rules export --format sigma\` writes one Sigma v2 rule per rule (\`exporter-config/rules/sigma/\`):
threshold rules become \`event_count\` correlations and sequences \`temporal_ordered\` correlations; absence
rules have no Sigma form. Ids are UUIDs derived from the rule id (SHA-256, v4-shaped), so they stay stable.
Sigma matches case-insensitively. \`--format loki\` writes a Loki ruler group (\`exporter-config/rules/loki/\`)
over the labels Loki gives OTLP logs (\`service_namespace\`, \`service_name\`); sandbox ids and other attributes
are structured metadata, filtered after the stream selector. Sequences lose their order there, and absence is
approximated.
`;

function kindDetails(r: Rule): string[] {
  switch (r.kind) {
    case 'match':
      return [`- Condition: ${code(r.condition.text)}`];
    case 'threshold':
      return [
        `- Condition: ${code(r.condition.text)}`,
        `- Fires at ${r.count} matches within ${formatDuration(r.windowNs)}`,
      ];
    case 'absence':
      return [
        `- Armed by: ${code(r.start.text)}`,
        `- Expected: ${code(r.condition.text)}`,
        `- Disarmed by: ${code(r.stop.text)}`,
        `- Timeout: ${formatDuration(r.timeoutNs)}`,
      ];
    case 'sequence':
      return [...r.steps.map((s, i) => `- Step ${i + 1}: ${code(s.text)}`), `- Within: ${formatDuration(r.windowNs)}`];
  }
}

export function renderRulesDoc(rs: RuleSet): string {
  const out: string[] = [
    '<!-- Generated by receiver/rules/docs.ts from receiver/rules/builtin/*.yaml. Do not edit: run `npx tsx receiver/rules/docs.ts`. -->',
    '# kata-otel alert rules',
    '',
    'Host security tools cannot see system calls inside a Kata guest; the runtime, agent and hypervisor logs are',
    'one of the few signals a Kata sandbox gives. kata-otel evaluates alert rules on every record it reads and',
    'emits alerts as OTel events next to the logs.',
    '',
    FORMAT,
    `## Built-in library (${rs.meta.name})`,
    '',
    `${rs.rules.length} rules in \`receiver/rules/builtin/\`, each with positive and negative fixture lines in`,
    '`test/rules/fixtures/<rule>.yaml` (real Kata line formats, provenance per line).',
    '',
    '| Rule | Severity | Kind | Trust | Tags | Enabled | What it detects |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rs.rules) {
    out.push(
      `| [\`${r.id}\`](#${r.id}) | ${r.severity} | ${r.kind} | ${r.trust} | ${cell(r.tags.join(', '))} | ${r.enabled ? 'yes' : 'no'} | ${cell(r.name)} |`,
    );
  }
  for (const r of rs.rules) {
    out.push(
      '',
      `### ${r.id}`,
      '',
      `**${r.name}** — ${r.severity}${r.category ? `, ${r.category}` : ''}${r.enabled ? '' : ' (disabled by default)'}`,
      '',
      r.desc.trim(),
      '',
    );
    out.push(...kindDetails(r));
    out.push(`- Output: ${code(r.output.source)}`);
    out.push(`- Trust: \`${r.trust}\``);
    out.push(
      `- Grouped by: ${r.groupBy.map((g) => `\`${g}\``).join(', ')}; deduplication window ${r.dedupWindowNs > 0n ? formatDuration(r.dedupWindowNs) : 'off'}`,
    );
    const attack = sigmaTags(r.tags);
    if (r.tags.length) out.push(`- Tags: ${r.tags.join(', ')}${attack.length ? ` (Sigma: ${attack.join(', ')})` : ''}`);
    if (r.falsePositives.length) out.push(`- False positives: ${r.falsePositives.join('; ')}`);
    for (const ref of r.references) out.push(`- Reference: <${ref}>`);
  }
  if (rs.macros.size > 0 || rs.lists.size > 0) {
    out.push('', '### Macros and lists of the library', '');
    for (const [name, cond] of rs.macros) out.push(`- macro \`${name}\`: ${code(cond)}`);
    for (const [name, items] of rs.lists)
      out.push(`- list \`${name}\`: ${items.map((i) => code(String(i))).join(', ')}`);
  }
  return out.join('\n') + '\n';
}

/** The doc as checked in, formatted with the repository's Prettier settings. */
export function formatRulesDoc(markdown: string): Promise<string> {
  return formatMarkdown(RULES_DOC, markdown);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = await formatRulesDoc(renderRulesDoc(loadBuiltinRules()));
  process.exitCode = writeOrCheck(RULES_DOC, text, process.argv.includes('--check'), 'npm run rules:docs');
}
