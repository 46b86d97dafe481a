//! Engine configuration: defaults, caps, retention, environment policy and the policy seam.

use std::sync::Arc;
use std::time::Duration;

use crate::gate::{Approver, DecisionSink, DenyApprover, Gate};
use crate::io::OutputSink;

/// How the child's base environment is built; the request's `env` is added on top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvPolicy {
    /// The engine's own environment minus the variables matching `deny` (exact names, or
    /// prefixes ending in `*`). The default.
    Inherit {
        /// Names (or `PREFIX*`) removed from the inherited environment.
        deny: Vec<String>,
    },
    /// Only the listed variables of the engine's environment (plus the request's `env`).
    Minimal {
        /// Names kept from the engine's environment.
        keep: Vec<String>,
    },
}

/// Variables removed from an inherited environment by default: they make a shell, the
/// dynamic loader or an interpreter run code the request did not name.
pub const DEFAULT_ENV_DENYLIST: &[&str] = &[
    "LD_PRELOAD",
    "LD_AUDIT",
    "LD_LIBRARY_PATH",
    "DYLD_*",
    "BASH_ENV",
    "ENV",
    "BASH_FUNC_*",
    "PROMPT_COMMAND",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "IFS",
    "CDPATH",
    "GLOBIGNORE",
    "NODE_OPTIONS",
    "PYTHONSTARTUP",
    "PYTHONINSPECT",
    "PERL5OPT",
    "RUBYOPT",
    "JAVA_TOOL_OPTIONS",
];

impl Default for EnvPolicy {
    fn default() -> Self {
        EnvPolicy::Inherit {
            deny: DEFAULT_ENV_DENYLIST.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl EnvPolicy {
    /// The base environment for a child, from the given environment of the engine.
    pub fn base_env(&self, vars: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
        match self {
            EnvPolicy::Inherit { deny } => vars.filter(|(k, _)| !name_matches(deny, k)).collect(),
            EnvPolicy::Minimal { keep } => vars.filter(|(k, _)| name_matches(keep, k)).collect(),
        }
    }
}

fn name_matches(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => p == name,
    })
}

/// Engine settings. `ExecutionConfig::default()` is a sane start; override fields with
/// struct update syntax or the `with_*` methods.
#[derive(Clone)]
pub struct ExecutionConfig {
    /// Timeout for requests that set none (`None` = no limit). Default: none.
    pub default_timeout_ms: Option<u64>,
    /// Between SIGTERM and SIGKILL on timeout or cancel. Default: 2 s.
    pub kill_grace: Duration,
    /// After the child exits, how long to wait for its pipes to close before the rest of
    /// its process group is killed and the output flagged incomplete. Default: 500 ms.
    pub pipe_close_grace: Duration,
    /// Bytes of each stream kept in the result (the head). Default: 8 MiB. The stream
    /// itself, as an [`OutputSink`] gets it, is never cut.
    pub max_output_bytes: usize,
    /// Longest line kept whole in memory: lines longer than this are cut (and counted) in
    /// the result and in line events, and handed to an output filter in pieces of this
    /// size. The stream itself is never cut. Default: 1 MiB.
    pub max_line_bytes: usize,
    /// Finished executions and plans kept for queries. Default: 10 000.
    pub retain_max: usize,
    /// How long finished executions are kept. Default: 1 hour.
    pub retain_for: Duration,
    /// Queue length per event handler; when full, line events for it are dropped (counted
    /// in `ExecutionResult::events_dropped`); lifecycle events wait. Default: 4096.
    pub event_queue: usize,
    /// Capacity of the broadcast channel behind `subscribe()`. Default: 4096.
    pub broadcast_capacity: usize,
    /// Base environment of every child.
    pub env: EnvPolicy,
    /// Variables set in every child after the base environment and before the request's
    /// `env` (e.g. `AWS_ENDPOINT_URL` for a local stack). Default: none.
    pub extra_env: Vec<(String, String)>,
    /// The policy gate; `None` lets every valid request run.
    pub gate: Option<Arc<dyn Gate>>,
    /// Who answers `ask` verdicts. Default: [`DenyApprover`].
    pub approver: Arc<dyn Approver>,
    /// Receives every decision and completion.
    pub decision_sink: Option<Arc<dyn DecisionSink>>,
    /// Receives every execution's output byte for byte, with backpressure (see
    /// [`OutputSink`]). Default: none (the output is only captured and sent as events).
    pub output_sink: Option<Arc<dyn OutputSink>>,
    /// After each execution, also kill processes that escaped its process group (`setsid`,
    /// a daemon's double fork). Every child inherits `CLOUDOPS_EXECUTION_ID=<id>` in its
    /// environment; with this on, `/proc` is scanned for that marker when the execution
    /// ends (about a millisecond per few hundred processes), or only this process's own
    /// descendants if it is a child subreaper (see [`crate::adopt_orphans`]). A process
    /// that clears its environment still escapes. Default: false (the CLI and the MCP
    /// server turn it on).
    pub hunt_escapees: bool,
    /// Ask the kernel to SIGKILL each child when the thread that spawned it exits
    /// (`PR_SET_PDEATHSIG`), so that a `kill -9` of the engine's process does not leave
    /// its commands running. Covers the child itself (and what it `exec`s), not the
    /// processes it forked: those are orphaned, and end when they next write to the
    /// closed pipes or on their own. The spawning thread is the one that polls
    /// `execute`/`execute_plan` (a runtime worker, or the thread in `block_on`): do not
    /// turn this on if that thread may end before the command. It costs nothing at spawn:
    /// children are started with a vfork-style clone either way. Linux only. Default:
    /// false (the CLI and the MCP server turn it on).
    pub die_with_engine: bool,
    /// Refuse to run a request whose decision could not be recorded. Default: true.
    pub require_decision_log: bool,
    /// The sandbox of requests whose decision names none (a gate's decision record may
    /// carry its own). `decide` checks it against the kernel: a `required` one the kernel
    /// cannot apply whole is refused (`ExecutionError::SandboxUnavailable`), another runs
    /// without the missing parts (noted in `DecisionRecord::unconfined`). With
    /// `pid_namespace`, the command runs in a PID namespace of its own under a minimal
    /// init of the engine's (pid 1, which only reaps): everything the command started ends
    /// with it (and with the engine, with `die_with_engine`), and the command takes signals
    /// as it would unconfined. See `docs/sandbox.md`. Default: none (commands run
    /// unconfined).
    pub sandbox: Option<cloudops_sandbox::Sandbox>,
}

impl Default for ExecutionConfig {
    fn default() -> Self {
        ExecutionConfig {
            default_timeout_ms: None,
            kill_grace: Duration::from_secs(2),
            pipe_close_grace: Duration::from_millis(500),
            max_output_bytes: 8 << 20,
            max_line_bytes: 1 << 20,
            retain_max: 10_000,
            retain_for: Duration::from_secs(3600),
            event_queue: 4096,
            broadcast_capacity: 4096,
            env: EnvPolicy::default(),
            extra_env: Vec::new(),
            gate: None,
            approver: Arc::new(DenyApprover),
            decision_sink: None,
            output_sink: None,
            hunt_escapees: false,
            die_with_engine: false,
            require_decision_log: true,
            sandbox: None,
        }
    }
}

impl std::fmt::Debug for ExecutionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutionConfig")
            .field("default_timeout_ms", &self.default_timeout_ms)
            .field("kill_grace", &self.kill_grace)
            .field("pipe_close_grace", &self.pipe_close_grace)
            .field("max_output_bytes", &self.max_output_bytes)
            .field("max_line_bytes", &self.max_line_bytes)
            .field("retain_max", &self.retain_max)
            .field("retain_for", &self.retain_for)
            .field("event_queue", &self.event_queue)
            .field("env", &self.env)
            .field("extra_env", &self.extra_env)
            .field("gate", &self.gate.is_some())
            .field("decision_sink", &self.decision_sink.is_some())
            .field("output_sink", &self.output_sink.is_some())
            .field("hunt_escapees", &self.hunt_escapees)
            .field("die_with_engine", &self.die_with_engine)
            .field("require_decision_log", &self.require_decision_log)
            .field("sandbox", &self.sandbox)
            .finish_non_exhaustive()
    }
}

impl ExecutionConfig {
    /// Sets the policy gate.
    pub fn with_gate(mut self, gate: Arc<dyn Gate>) -> Self {
        self.gate = Some(gate);
        self
    }
    /// Sets the approver for `ask` verdicts.
    pub fn with_approver(mut self, approver: Arc<dyn Approver>) -> Self {
        self.approver = approver;
        self
    }
    /// Sets the decision sink.
    pub fn with_decision_sink(mut self, sink: Arc<dyn DecisionSink>) -> Self {
        self.decision_sink = Some(sink);
        self
    }
    /// Sets the output sink.
    pub fn with_output_sink(mut self, sink: Arc<dyn OutputSink>) -> Self {
        self.output_sink = Some(sink);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inherit_drops_denied_names_and_prefixes() {
        let vars = [
            ("PATH", "/bin"),
            ("LD_PRELOAD", "x.so"),
            ("BASH_FUNC_ls%%", "() { :; }"),
            ("HOME", "/root"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let env = EnvPolicy::default().base_env(vars);
        let names: Vec<_> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["PATH", "HOME"]);
    }
}
