//! The engine's error type.

use crate::exit_code;
use std::path::PathBuf;

use uuid::Uuid;

/// Everything that can go wrong when asking the engine for something.
///
/// A command that runs and fails is *not* an error of `execute`: it is an
/// [`crate::ExecutionResult`] with status `Failed`. These are errors of the request or the engine.
#[derive(Debug, thiserror::Error)]
pub enum ExecutionError {
    /// The request is malformed (empty program, missing working directory, unknown shell, ...).
    #[error("invalid request: {0}")]
    Validation(String),
    /// The execution ran out of time (milliseconds).
    #[error("timed out after {0} ms")]
    Timeout(u64),
    /// The command exited with this non-zero code.
    #[error("command failed with exit code {0}")]
    CommandFailed(i32),
    /// No execution or plan with this id is known (never seen, or already retired).
    #[error("no execution or plan with id {0}")]
    NotFound(Uuid),
    /// The execution or plan has not finished yet (use `wait`).
    #[error("{id} has not finished (status: {status})")]
    NotFinished {
        /// The id asked about.
        id: Uuid,
        /// Its current status.
        status: crate::types::ExecutionStatus,
    },
    /// The program could not be found on `PATH`.
    #[error("program not found: '{program}' (searched PATH={path})")]
    ProgramNotFound {
        /// The program as requested.
        program: String,
        /// The PATH that was searched.
        path: String,
    },
    /// The policy denied the request; nothing was spawned.
    #[error("denied by {plugin}: {reason}")]
    Denied {
        /// The plugin that denied.
        plugin: String,
        /// Its reason.
        reason: String,
        /// The full decision.
        record: Box<crate::gate::DecisionRecord>,
    },
    /// The request's sandbox is required, but this kernel cannot apply all of it: nothing
    /// was spawned.
    #[error("the sandbox `{sandbox}` is required but this kernel lacks: {}", missing.join(", "))]
    SandboxUnavailable {
        /// The sandbox's name.
        sandbox: String,
        /// What is missing, one phrase each (see `Support::missing_for`).
        missing: Vec<String>,
    },
    /// The policy gate could not decide (fail-closed: nothing was spawned).
    #[error("policy gate failed: {0}")]
    Gate(String),
    /// The decision log could not be written, so the request was not run.
    #[error("decision log could not be written")]
    DecisionLog(#[source] std::io::Error),
    /// Spawning the process failed.
    #[error("could not start '{program}'", program = program.display())]
    Spawn {
        /// The program that was executed.
        program: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Some other I/O failure (reading a script's shebang, say).
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl ExecutionError {
    /// The exit code a command-line tool should use for this error (126 denied or a
    /// required sandbox unavailable,
    /// 127 not found, 124 timeout, 125 otherwise).
    pub fn exit_code(&self) -> i32 {
        match self {
            ExecutionError::Denied { .. } | ExecutionError::SandboxUnavailable { .. } => {
                exit_code::CANNOT_EXECUTE
            }
            ExecutionError::ProgramNotFound { .. } => exit_code::NOT_FOUND,
            ExecutionError::Timeout(_) => exit_code::TIMEOUT,
            ExecutionError::CommandFailed(code) => *code,
            _ => exit_code::INTERNAL,
        }
    }
}
