//! The one error renderer (`error:`, the annotated policy line, `caused by:`, `hint:`) and the exit codes.

use std::fmt::Write as _;

use cloudops_execution_engine::{ExecutionError, exit_code};
use cloudops_policy::PolicyError;

/// Exit code: a plan step or a policy test failed.
pub const EXIT_FAILED: i32 = 1;
/// Exit code: the command timed out.
pub const EXIT_TIMEOUT: i32 = exit_code::TIMEOUT;
/// Exit code: an error of cloudops itself.
pub const EXIT_INTERNAL: i32 = exit_code::INTERNAL;
/// Exit code: denied by the policy.
pub const EXIT_DENIED: i32 = exit_code::CANNOT_EXECUTE;
/// Exit code: program not found.
pub const EXIT_NOT_FOUND: i32 = exit_code::NOT_FOUND;
/// Exit code: interrupted.
pub const EXIT_INTERRUPTED: i32 = exit_code::INTERRUPTED;

/// An error for the user, with an optional hint and exit code.
#[derive(Debug)]
pub struct UserError {
    message: String,
    hint: Option<String>,
    code: i32,
}

impl UserError {
    /// A message (exit code 125).
    pub fn new(message: impl Into<String>) -> Self {
        UserError {
            message: message.into(),
            hint: None,
            code: EXIT_INTERNAL,
        }
    }
    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// Sets the exit code.
    pub fn code(mut self, code: i32) -> Self {
        self.code = code;
        self
    }
}

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

/// A session's error as the renderer reads it: a policy error itself (it is shown at its
/// file:line:column, a plugin that fails to load at its declaration), the rest as is.
pub fn session_error(e: cloudops_session::SessionError) -> anyhow::Error {
    use cloudops_session::SessionError;
    match e {
        SessionError::Policy(source) | SessionError::Plugins { source, .. } => source.into(),
        other => other.into(),
    }
}

/// The exit code for an error: 126 denied, 127 not found, 124 timeout, else 125.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    // A context value is found by `downcast_ref` on the error, not by walking its chain.
    if let Some(u) = err.downcast_ref::<UserError>() {
        return u.code;
    }
    for cause in err.chain() {
        if let Some(u) = cause.downcast_ref::<UserError>() {
            return u.code;
        }
        if let Some(e) = cause.downcast_ref::<ExecutionError>() {
            return e.exit_code();
        }
    }
    EXIT_INTERNAL
}

/// Renders `err` for stderr: `error: ...`, then for a policy error the annotated line,
/// `caused by: ...` for each source, and `hint: ...`.
pub fn render(err: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut hint: Option<String> = err.downcast_ref::<UserError>().and_then(|u| u.hint.clone());
    let mut first = true;
    let mut skip_next_policy_source = false;
    for cause in err.chain() {
        let text = if let Some(p) = cause.downcast_ref::<PolicyError>() {
            hint = hint.or_else(|| p.hint());
            skip_next_policy_source = matches!(p, PolicyError::PluginLoad { .. });
            p.render()
        } else if skip_next_policy_source {
            // Already shown under the caret of the policy error.
            skip_next_policy_source = false;
            continue;
        } else {
            if let Some(u) = cause.downcast_ref::<UserError>() {
                hint = hint.or_else(|| u.hint.clone());
            }
            if let Some(e) = cause.downcast_ref::<ExecutionError>() {
                hint = hint.or_else(|| execution_hint(e));
            }
            cause.to_string()
        };
        if first {
            let _ = writeln!(out, "error: {text}");
            first = false;
        } else {
            let _ = writeln!(out, "caused by: {text}");
        }
    }
    if let Some(h) = hint {
        let _ = writeln!(out, "hint: {h}");
    }
    out
}

fn execution_hint(e: &ExecutionError) -> Option<String> {
    match e {
        ExecutionError::Denied { record, .. } => Some(if record.rules.is_empty() {
            "run the same command with --check to see the decision trace".to_string()
        } else {
            format!(
                "the policy's rules {} apply to this request; run it with --check to see the decision trace",
                record.rules.join(", ")
            )
        }),
        ExecutionError::ProgramNotFound { .. } => {
            Some("check the spelling, or give the program's full path".into())
        }
        ExecutionError::DecisionLog(_) => Some(
            "the decision log is required: fix its path or permissions, or set required = false under [decision_log]".into(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_and_hint_are_rendered_in_order() {
        let inner = std::io::Error::other("disk on fire");
        let err = anyhow::Error::new(inner)
            .context(UserError::new("could not write the plan").hint("free some space"));
        assert_eq!(
            render(&err),
            "error: could not write the plan\ncaused by: disk on fire\nhint: free some space\n"
        );
        assert_eq!(exit_code(&err), EXIT_INTERNAL);
    }
}
