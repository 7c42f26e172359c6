// Built-in rules that match records Kata writes at info: a component filtered at warn or above hides them.
// (Agent: the `announce` config line, `rpc call from shim to agent: "…"`; hypervisor: the launch arguments.)
// test/doctor checks every id here is a built-in rule, so the table cannot name a rule that is gone.
export const RULES_NEEDING_INFO: Record<'agent' | 'runtime' | 'hypervisor', readonly string[]> = {
  agent: [
    'kata-debug-console-enabled',
    'kata-agent-dev-mode',
    'kata-container-exec',
    'kata-agent-silent',
    'kata-agent-policy-replaced-after-start',
  ],
  runtime: ['kata-container-exec'],
  hypervisor: ['kata-hypervisor-seccomp-disabled'],
};

/** Levels (runtime-rs `log_level`, agent `agent.log=`) that hide info records. */
export const ABOVE_INFO = new Set(['warn', 'warning', 'error', 'critical', 'fatal', 'panic']);
export const DEBUG_LEVELS = new Set(['debug', 'trace']);
