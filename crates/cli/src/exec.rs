//! `run`, `sh`, `script`, `aws`: build the request and the engine from the settings, run with live output, map the exit code.

use std::sync::Arc;
use std::time::Duration;

use cloudops_execution_engine::{
    Command, ExecutionConfig, ExecutionEngine, ExecutionMetadata, ExecutionRequest,
    ExecutionStatus, exit_code,
};
use cloudops_policy::{AskWithoutTty, Defaults, Fsync, JsonlSink};

use crate::approver::{AskMode, CliApprover};
use crate::gate::{self, Loaded};
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

/// A timeout in the engine's unit, whole milliseconds in a `u64`. Every timeout that gets
/// here was checked to fit when it was read (`--timeout` in the settings, the policy's and a
/// plan's when compiled); one that did not would saturate at `u64::MAX` ms (about 584
/// million years, no limit in practice), never wrap around to a short timeout.
pub fn millis(timeout: Duration) -> u64 {
    u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)
}

/// The request for `command` with the common options (tags, source, env, cwd, timeout).
pub fn request(common: &Common, command: Command) -> ExecutionRequest {
    ExecutionRequest {
        id: uuid::Uuid::new_v4(),
        command,
        env: common.env.clone(),
        working_dir: common.working_dir(),
        timeout_ms: common.timeout.map(millis),
        metadata: ExecutionMetadata {
            source: common.source.clone(),
            conversation_id: None,
            tags: common.tags.clone(),
        },
    }
}

/// Gives `request` the policy's default timeout when it has none, so that plugins see the
/// timeout that will apply (a `limits` plugin would otherwise impose its own).
pub fn apply_default_timeout(request: &mut ExecutionRequest, defaults: &Defaults) {
    if request.timeout_ms.is_none() {
        request.timeout_ms = defaults.timeout.map(millis);
    }
}

/// The defaults in force (the policy's under the profile, else the built-in ones).
pub fn defaults(loaded: &Loaded) -> Defaults {
    loaded
        .policy
        .as_ref()
        .and_then(|p| p.effective(loaded.profile.as_deref()).ok())
        .map(|e| e.defaults().clone())
        .unwrap_or_default()
}

/// The approver for a run: prompt on a terminal, else `--yes` / the policy's `ask_without_tty`.
pub fn approver(common: &Common, defaults: &Defaults) -> Arc<CliApprover> {
    Arc::new(CliApprover::new(AskMode::choose(
        common.yes,
        defaults.ask_without_tty == AskWithoutTty::Approve,
    )))
}

/// The engine configuration: gate, approver, decision log, timeouts and caps.
pub fn engine_config(
    common: &Common,
    loaded: &Loaded,
    approver: Arc<CliApprover>,
) -> anyhow::Result<ExecutionConfig> {
    let d = defaults(loaded);
    let base = ExecutionConfig::default();
    let mut config = ExecutionConfig {
        default_timeout_ms: d.timeout.map(millis),
        max_output_bytes: d.max_output_bytes.unwrap_or(base.max_output_bytes),
        max_line_bytes: d.max_line_bytes.unwrap_or(base.max_line_bytes),
        event_queue: 1 << 16,
        // Nothing here subscribes to the broadcast stream; its slots are allocated up front.
        broadcast_capacity: 1,
        // Nothing cloudops starts outlives it: processes that left the group are hunted
        // down by their marker, and a `kill -9` of cloudops takes its commands with it.
        hunt_escapees: true,
        die_with_engine: true,
        gate: loaded.gate.clone(),
        approver,
        ..base
    };
    let from_policy = loaded
        .policy
        .as_ref()
        .and_then(|p| p.decision_log().cloned());
    let log = match (&common.audit_log, &from_policy) {
        (Some(path), l) => Some((
            path.clone(),
            l.as_ref().map_or(Fsync::Never, |l| l.fsync),
            true,
        )),
        (None, Some(l)) => Some((l.path.clone(), l.fsync, l.required)),
        (None, None) => None,
    };
    if let Some((path, fsync, required)) = log {
        let sink = JsonlSink::open(&path, fsync).map_err(|e| {
            anyhow::Error::new(e).context(
                UserError::new(format!("could not open the decision log '{}'", path.display()))
                    .hint("commands do not run without their decision log; fix the path, or pass another --audit-log"),
            )
        })?;
        config.decision_sink = Some(Arc::new(sink));
        config.require_decision_log = required;
    }
    Ok(config)
}

/// Runs one command with live output; returns the exit code.
pub async fn run(common: &Common, command: Command, check: bool) -> anyhow::Result<i32> {
    let loaded = gate::load(common).await?;
    let d = defaults(&loaded);
    let mut req = request(common, command);
    apply_default_timeout(&mut req, &d);
    if check {
        return crate::check::check(common, &loaded, req).await;
    }
    let approver = approver(common, &d);
    let mut config = engine_config(common, &loaded, approver.clone())?;
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
    let request_id = req.id;
    let id = approver.settle(&[request_id], engine.execute_with_stdin(req, stdin).await)?;
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
    keep_until_exit((engine, loaded));
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
    if common.verbosity > 0 {
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
