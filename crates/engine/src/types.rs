//! The request, plan and result types of the public API (the usage guide builds most of them with struct literals).

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::gate::DecisionRecord;

/// One command to run, with its environment, working directory, timeout and metadata.
///
/// The `id` names the execution: [`crate::ExecutionEngine::execute`] returns it, and
/// every query (`get_status`, `get_result`, `wait`, `cancel`) takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionRequest {
    /// The execution id (also the id of the run when the same request is executed again).
    pub id: Uuid,
    /// What to run.
    pub command: Command,
    /// Variables added to (or overriding) the engine's base environment.
    #[serde(default)]
    pub env: HashMap<String, String>,
    /// Working directory; must exist. `None` = the engine process's current directory.
    #[serde(default)]
    pub working_dir: Option<PathBuf>,
    /// Wall-clock limit for the whole process tree; `None` = the config's default.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Who asked and why; the policy selects plugins by it.
    #[serde(default)]
    pub metadata: ExecutionMetadata,
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Command {
    /// `<shell> -c command`, non-interactive, without profile or rc files.
    Shell {
        /// The script text handed to the shell.
        command: String,
        /// A known shell name (`bash`, `sh`, `dash`, `zsh`, `ksh`, `mksh`) or an absolute path.
        shell: String,
    },
    /// A program run directly (no shell), resolved on `PATH` to an absolute path.
    Exec {
        /// Program name or path.
        program: String,
        /// Arguments, passed as they are.
        #[serde(default)]
        args: Vec<String>,
    },
    /// A script file, run by `interpreter` or else by its shebang line.
    Script {
        /// Path of the script; it need not be executable.
        path: PathBuf,
        /// Interpreter (name or path); `None` = read the shebang.
        #[serde(default)]
        interpreter: Option<String>,
    },
    /// `aws <service> <operation> args… [--profile P] [--region R]`.
    AwsCli {
        /// AWS service, e.g. `ec2`.
        service: String,
        /// Operation, e.g. `describe-instances`.
        operation: String,
        /// Further arguments.
        #[serde(default)]
        args: Vec<String>,
        /// `--profile`.
        #[serde(default)]
        profile: Option<String>,
        /// `--region`.
        #[serde(default)]
        region: Option<String>,
    },
}

impl Command {
    /// The kind as a lowercase word: `shell`, `exec`, `script` or `aws`.
    pub fn kind(&self) -> &'static str {
        match self {
            Command::Shell { .. } => "shell",
            Command::Exec { .. } => "exec",
            Command::Script { .. } => "script",
            Command::AwsCli { .. } => "aws",
        }
    }

    /// The command as one argv, as requested (names not resolved): exec `[program, args..]`;
    /// shell `[shell, "-c", command]`; script `[interpreter, path]` (or `[path]`); aws
    /// `["aws", service, operation, args.., "--profile", P, "--region", R]`.
    pub fn argv(&self) -> Vec<String> {
        match self {
            Command::Exec { program, args } => std::iter::once(program.clone())
                .chain(args.iter().cloned())
                .collect(),
            Command::Shell { command, shell } => {
                vec![shell.clone(), "-c".into(), command.clone()]
            }
            Command::Script { path, interpreter } => interpreter
                .iter()
                .cloned()
                .chain(std::iter::once(path.to_string_lossy().into_owned()))
                .collect(),
            Command::AwsCli {
                service,
                operation,
                args,
                profile,
                region,
            } => {
                let mut v = vec!["aws".into(), service.clone(), operation.clone()];
                v.extend(args.iter().cloned());
                for (flag, value) in [("--profile", profile), ("--region", region)] {
                    if let Some(value) = value {
                        v.extend([flag.to_string(), value.clone()]);
                    }
                }
                v
            }
        }
    }
}

/// Quotes a word the way a POSIX shell reads it back as that one word: plain words as they
/// are, anything else in single quotes (a `'` inside as `'\''`).
pub fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%^".contains(&b));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Shell { command, shell } => write!(f, "{shell} -c {}", shell_quote(command)),
            other => {
                let words: Vec<String> = other.argv().iter().map(|w| shell_quote(w)).collect();
                f.write_str(&words.join(" "))
            }
        }
    }
}

/// Who asked for an execution and in which context.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionMetadata {
    /// The requester, e.g. `agent`, `mcp`, `ci`, `deployment-system`.
    #[serde(default)]
    pub source: Option<String>,
    /// Conversation or session the request belongs to (an agent's session id).
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// Free-form labels; policy rules match on them.
    #[serde(default)]
    pub tags: HashMap<String, String>,
}

/// Several requests run under one id, serially or in parallel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionPlan {
    /// The plan id; `get_status`, `get_result`, `wait` and `cancel` accept it.
    pub id: Uuid,
    /// Human-readable description.
    #[serde(default)]
    pub description: String,
    /// Serial or parallel.
    pub strategy: ExecutionStrategy,
    /// The steps, in plan order.
    pub commands: Vec<ExecutionRequest>,
    /// Defaults for every step: a step without a source takes the plan's, and the
    /// plan's tags are added to each step's (the step's own value wins).
    #[serde(default)]
    pub metadata: ExecutionMetadata,
}

/// How the steps of a plan are scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ExecutionStrategy {
    /// One after another, in order.
    Serial {
        /// After a step that does not complete, the later steps do not run (they count as cancelled).
        stop_on_error: bool,
    },
    /// Concurrently, never more than `max_concurrency` at once (`None` = number of CPUs).
    Parallel {
        /// Upper bound on steps running at once.
        max_concurrency: Option<usize>,
    },
}

/// Lifecycle of an execution or a plan.
///
/// `Pending → Running → Completed | Failed | Timeout | Cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStatus {
    /// Accepted, not started yet (a plan step waiting for its turn).
    Pending,
    /// The process (or some step of the plan) is running.
    Running,
    /// Exited with status 0 (a plan: every step completed).
    Completed,
    /// Exited non-zero, died of a signal, or could not be started (a plan: some step did not complete).
    Failed,
    /// Killed because its timeout elapsed.
    Timeout,
    /// Cancelled by [`crate::ExecutionEngine::cancel`] (or, for a plan step, never run).
    Cancelled,
}

impl ExecutionStatus {
    /// True for `Completed`, `Failed`, `Timeout` and `Cancelled`.
    pub fn is_terminal(self) -> bool {
        !matches!(self, ExecutionStatus::Pending | ExecutionStatus::Running)
    }
}

impl fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExecutionStatus::Pending => "pending",
            ExecutionStatus::Running => "running",
            ExecutionStatus::Completed => "completed",
            ExecutionStatus::Failed => "failed",
            ExecutionStatus::Timeout => "timeout",
            ExecutionStatus::Cancelled => "cancelled",
        })
    }
}

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// The outcome of one execution (or, from `get_result(plan_id)`, of a whole plan).
///
/// `stdout` and `stderr` hold the lines *after* the output plugins, each ending in `\n`,
/// up to the configured cap per stream (the head is kept; `*_truncated` says so and
/// `*_bytes` counts every byte the child wrote).
///
/// Exit codes: the child's own; `128 + N` when it died of signal N; `124` for a timeout;
/// `130` for a cancellation; `127` when the program could not be started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionResult {
    /// The execution (or plan) id.
    pub execution_id: Uuid,
    /// Final status.
    pub status: ExecutionStatus,
    /// Exit code (see the type's documentation).
    pub exit_code: i32,
    /// Process id of the child (also its process group id); `None` if it never started.
    pub pid: Option<u32>,
    /// Signal that ended the process, if any (`SIGKILL` after a timeout's grace period, say).
    pub signal: Option<i32>,
    /// Captured standard output (after the output plugins).
    pub stdout: String,
    /// Captured standard error (after the output plugins).
    pub stderr: String,
    /// Standard output exceeded the cap and was cut (the head is kept).
    pub stdout_truncated: bool,
    /// Standard error exceeded the cap and was cut (the head is kept).
    pub stderr_truncated: bool,
    /// Bytes the child wrote to standard output (before plugins and caps).
    pub stdout_bytes: u64,
    /// Bytes the child wrote to standard error (before plugins and caps).
    pub stderr_bytes: u64,
    /// Lines cut because they were longer than the line cap.
    pub lines_truncated: u64,
    /// Line events not delivered to some slow event handler (its queue was full).
    pub events_dropped: u64,
    /// The pipes stayed open after the child exited (a leftover process held them); the
    /// rest of the process group was killed and output may be incomplete.
    pub output_incomplete: bool,
    /// When the process started (or the run was accepted, if it never started).
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// `finished_at - started_at`.
    pub duration: Duration,
    /// The command that ran, after policy rewrites and resolution (e.g. the absolute program path).
    pub command: Option<Command>,
    /// A message when the run did not complete normally (spawn failure, timeout, cancel).
    pub error: Option<String>,
    /// The policy decision that let it run, when a gate is configured.
    pub decision: Option<DecisionRecord>,
}

impl ExecutionResult {
    /// The result of an execution that produced no output: it never started, or its
    /// supervisor was lost. Started and finished now, no pid, nothing captured.
    pub(crate) fn without_output(
        execution_id: Uuid,
        status: ExecutionStatus,
        exit_code: i32,
        command: Option<Command>,
        error: String,
    ) -> Self {
        let now = Utc::now();
        ExecutionResult {
            execution_id,
            status,
            exit_code,
            pid: None,
            signal: None,
            stdout: String::new(),
            stderr: String::new(),
            stdout_truncated: false,
            stderr_truncated: false,
            stdout_bytes: 0,
            stderr_bytes: 0,
            lines_truncated: 0,
            events_dropped: 0,
            output_incomplete: false,
            started_at: now,
            finished_at: now,
            duration: Duration::ZERO,
            command,
            error: Some(error),
            decision: None,
        }
    }
}

/// The outcome of a plan, steps in plan order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanExecutionResult {
    /// The plan id.
    pub plan_id: Uuid,
    /// `Completed` when every step completed, `Cancelled` when the plan was cancelled, else `Failed`.
    pub status: ExecutionStatus,
    /// One result per step, in plan order (steps that never ran are `Cancelled`).
    pub results: Vec<ExecutionResult>,
    /// Wall time of the whole plan.
    pub total_duration: Duration,
    /// Counts by final status.
    pub stats: ExecutionStats,
}

/// Step counts of a plan by final status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionStats {
    /// Number of steps.
    pub total: usize,
    /// Steps that completed.
    pub completed: usize,
    /// Steps that failed.
    pub failed: usize,
    /// Steps cancelled or never run.
    pub cancelled: usize,
    /// Steps that timed out.
    pub timeout: usize,
}

impl ExecutionStats {
    /// Counts the results by status.
    pub fn from_results(results: &[ExecutionResult]) -> Self {
        let mut stats = ExecutionStats {
            total: results.len(),
            ..Default::default()
        };
        for r in results {
            match r.status {
                ExecutionStatus::Completed => stats.completed += 1,
                ExecutionStatus::Failed => stats.failed += 1,
                ExecutionStatus::Timeout => stats.timeout += 1,
                ExecutionStatus::Cancelled
                | ExecutionStatus::Pending
                | ExecutionStatus::Running => stats.cancelled += 1,
            }
        }
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_words_a_shell_would_split() {
        let c = Command::Exec {
            program: "/bin/echo".into(),
            args: vec!["a b".into(), "it's".into(), "--x=1".into()],
        };
        assert_eq!(c.to_string(), r#"/bin/echo 'a b' 'it'\''s' --x=1"#);
        let aws = Command::AwsCli {
            service: "s3".into(),
            operation: "ls".into(),
            args: vec![],
            profile: Some("p".into()),
            region: None,
        };
        assert_eq!(aws.to_string(), "aws s3 ls --profile p");
    }

    #[test]
    fn request_round_trips_through_json() {
        let r = ExecutionRequest {
            id: Uuid::new_v4(),
            command: Command::Shell {
                command: "echo hi".into(),
                shell: "bash".into(),
            },
            env: HashMap::from([("A".into(), "1".into())]),
            working_dir: Some("/tmp".into()),
            timeout_ms: Some(5),
            metadata: ExecutionMetadata {
                source: Some("agent".into()),
                conversation_id: None,
                tags: HashMap::new(),
            },
        };
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(r#""kind":"shell""#), "{json}");
        let back: ExecutionRequest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
    }
}
