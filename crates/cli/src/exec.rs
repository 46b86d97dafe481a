//! `run`, `sh`, `script`, `aws`: build the request and the engine from the settings, run with live output, map the exit code.

use std::sync::Arc;

use cloudops_execution_engine::{
    Approver, Command, ExecutionConfig, ExecutionEngine, ExecutionRequest, ExecutionStatus,
    exit_code,
};
use cloudops_policy::{AskWithoutTty, Defaults};
use cloudops_session::{Session, SessionError};

use crate::approver::{AskMode, CliApprover};
use crate::gate;
use crate::output::StdioSink;
use crate::render::{EXIT_INTERRUPTED, UserError};
use crate::settings::Common;

/// Set when `run` has its command's result and output: nothing cloudops started is still
/// running, so the process may exit without tearing down the async runtime.
pub static FINISHED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Skips the teardown of `value` (the engine, the loaded plugins): the process exits right
/// after, and the kernel frees their memory faster than their destructors would (unmapping
/// each plugin's reservations, stopping the epoch thread). Only for values whose drop has
/// no effect outside the process: the decision log is written line by line, unbuffered.
fn keep_until_exit<T>(value: T) {
    FINISHED.store(true, std::sync::atomic::Ordering::Release);
    std::mem::forget(value);
}

/// The request for `command` with the common options (tags, source, env, cwd, timeout).
pub fn request(common: &Common, command: Command) -> ExecutionRequest {
    common.template().request(command)
}

/// The approver for a run: prompt on a terminal, else `--yes` / the policy's `ask_without_tty`.
pub fn approver(common: &Common, defaults: &Defaults) -> Arc<CliApprover> {
    Arc::new(CliApprover::new(AskMode::choose(
        common.yes,
        defaults.ask_without_tty == AskWithoutTty::Approve,
    )))
}

/// The session's engine configuration with `approver` and the decision log (`--audit-log`,
/// else the policy's).
pub fn engine_config(
    common: &Common,
    session: &Session,
    approver: Arc<dyn Approver>,
) -> anyhow::Result<ExecutionConfig> {
    session
        .engine_config(approver, common.audit_log.as_deref())
        .map_err(|e| match e {
            SessionError::DecisionLog { path, source } => anyhow::Error::new(source).context(
                UserError::new(format!("could not open the decision log '{}'", path.display()))
                    .hint("commands do not run without their decision log; fix the path, or pass another --audit-log"),
            ),
            other => crate::render::session_error(other),
        })
}

/// Runs one command with live output; returns the exit code.
pub async fn run(common: &Common, command: Command, check: bool) -> anyhow::Result<i32> {
    let session = gate::open(common).await?;
    let req = request(common, command);
    if check {
        return crate::check::check(common, &session, req).await;
    }
    let approver = approver(common, &session.defaults());
    let mut config = engine_config(common, &session, approver)?;
    // The output goes to ours as it comes, byte for byte; with --json it is in the result.
    let sink = (!common.json).then(|| Arc::new(StdioSink::new(None)));
    if let Some(sink) = &sink {
        config.output_sink = Some(sink.clone());
        // Nothing shows the result's copy of the output: keep none (memory stays flat
        // whatever the command prints).
        config.max_output_bytes = 0;
    }
    let engine = ExecutionEngine::new(config);
    let (stdin, terminal) = crate::stdin::for_command(common.no_stdin);
    let id = crate::approver::settle(engine.execute_with_stdin(req, stdin).await)?;
    if let Some(t) = terminal {
        t.start();
    }
    let result = tokio::select! {
        r = engine.wait(id) => r?,
        _ = tokio::signal::ctrl_c() => {
            engine.cancel(id).await?;
            engine.wait(id).await?;
            if common.verbosity >= 0 {
                eprintln!("cloudops: interrupted; the command and its children were stopped");
            }
            return Ok(EXIT_INTERRUPTED);
        }
    };
    keep_until_exit((engine, session));
    if common.json {
        println!("{}", serde_json::to_string(&result)?);
        return Ok(result.exit_code);
    }
    if let Some(failure) = sink.as_ref().and_then(|s| s.failure()) {
        eprintln!("error: {failure}; the command's output pipe was closed");
    }
    match result.status {
        ExecutionStatus::Timeout => eprintln!(
            "error: timed out: {}",
            result
                .error
                .as_deref()
                .unwrap_or("the command ran out of time")
        ),
        ExecutionStatus::Failed
            if result.exit_code == exit_code::NOT_FOUND
                || result.exit_code == exit_code::CANNOT_EXECUTE =>
        {
            if let Some(e) = &result.error {
                eprintln!("error: {e}");
            }
        }
        _ => {}
    }
    let unconfined = result
        .decision
        .as_ref()
        .and_then(|d| d.unconfined.as_deref());
    if let Some(why) = unconfined
        && common.verbosity == 0
    {
        eprintln!("cloudops: warning: the command ran unconfined: {why}");
    }
    if common.verbosity > 0 {
        eprintln!("cloudops: {}", confinement(result.decision.as_ref()));
        let closed = sink
            .as_ref()
            .is_some_and(|s| s.broken_pipe.load(std::sync::atomic::Ordering::Relaxed));
        eprintln!(
            "cloudops: {} (exit {}) in {:?}{}{}",
            result.status,
            result.exit_code,
            result.duration,
            if closed {
                "; our stdout was closed, and so was the command's"
            } else {
                ""
            },
            if result.output_incomplete {
                "; output incomplete"
            } else {
                ""
            },
        );
    }
    Ok(result.exit_code)
}

/// What `-v` says about the sandbox the command ran in.
fn confinement(decision: Option<&cloudops_execution_engine::DecisionRecord>) -> String {
    match decision.map(|d| (d.sandbox.as_ref(), d.unconfined.as_deref())) {
        Some((Some(sb), None)) => format!(
            "ran in sandbox {} (network {}{}; writable: {})",
            sb.name,
            sb.network.as_str(),
            if sb.pid_namespace {
                ", own PID namespace"
            } else {
                ""
            },
            sb.write
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some((Some(sb), Some(why))) => {
            format!(
                "ran unconfined: sandbox {} could not be applied ({why})",
                sb.name
            )
        }
        _ => "ran unconfined (no sandbox)".to_string(),
    }
}
