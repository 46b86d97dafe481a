//! `cloudops mcp`: a Model Context Protocol server on stdio whose tools run commands through the policy.
//!
//! Tools: `run_command` (a shell command line), `run_program` (a program and its
//! arguments) and `check_command` (the decision only). Every call is an engine request
//! with source `mcp` (or `--source`), the server's `--tag`s, and the client's session as
//! conversation id. A denial is a tool error naming the plugin and its reason; `ask`
//! becomes an elicitation when the client supports it. Only protocol goes to stdout.

mod elicit;
mod input;
mod options;
mod output;
mod progress;
mod server;
mod tools;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use cloudops_execution_engine::{DenyApprover, ExecutionEngine};
use cloudops_policy::AskWithoutTty;
use rmcp::ServiceExt;
use tokio::sync::{Semaphore, watch};

pub use options::{DEFAULT_SOURCE, McpOptions};

use input::GuardedInput;
use server::{CloudopsServer, Shared};

use crate::settings::Common;

/// Serves MCP on stdin/stdout until the client closes its end; returns the exit code.
pub async fn serve(common: &Common, options: McpOptions) -> anyhow::Result<i32> {
    init_logging(common, &options)?;
    let session = crate::gate::open(common).await?;
    let approve_unasked = if common.yes {
        Some("--yes")
    } else if session.defaults().ask_without_tty == AskWithoutTty::Approve {
        Some("policy")
    } else {
        None
    };
    // Each tool call brings its own approver (the client that made it); none answers for
    // the engine's.
    let config = crate::exec::engine_config(common, &session, Arc::new(DenyApprover))?;
    let kill_grace = config.kill_grace;
    let output = Arc::new(progress::OutputWatch::default());
    let engine = ExecutionEngine::new(config);
    engine.add_event_handler(output.clone());

    let (closed_tx, closed) = watch::channel(false);
    let session_id = uuid::Uuid::new_v4().to_string();
    tracing::info!(
        policy = ?session.policy().map(|p| p.path().display().to_string()),
        source = common.source.as_deref().unwrap_or(DEFAULT_SOURCE),
        session = %session_id,
        max_concurrency = options.max_concurrency,
        "serving MCP on stdio"
    );
    let shared = Arc::new(Shared {
        engine,
        session,
        common: common.clone(),
        slots: Semaphore::new(options.max_concurrency),
        options,
        approve_unasked,
        output,
        session_id,
        closed,
        running: Mutex::new(HashSet::new()),
    });
    let (to_client, parse_errors, writer) = output::spawn(tokio::io::stdout());
    let input = GuardedInput::new(tokio::io::stdin(), closed_tx, parse_errors);
    let service = CloudopsServer::new(shared.clone())
        .serve((input, to_client))
        .await;
    let result = match service {
        Ok(running) => running
            .waiting()
            .await
            .map(|reason| tracing::info!(?reason, "MCP session ended"))
            .context("the MCP service failed"),
        Err(e) => {
            // A client that goes away before the handshake is not an error of ours.
            tracing::warn!(error = %e, "MCP session did not start");
            Ok(())
        }
    };
    stop_all(&shared, kill_grace + Duration::from_secs(2)).await;
    // The SDK has dropped its writer: what it wrote is flushed to stdout before exiting.
    if tokio::time::timeout(Duration::from_secs(2), writer)
        .await
        .is_err()
    {
        tracing::warn!("stdout was not flushed in time");
    }
    result.map(|()| 0)
}

/// Cancels every execution still running and waits (up to `limit`) for them to end.
async fn stop_all(shared: &Shared, limit: Duration) {
    let ids = shared.running_ids();
    if ids.is_empty() {
        return;
    }
    tracing::info!(count = ids.len(), "stopping the commands still running");
    for id in &ids {
        let _ = shared.engine.cancel(*id).await;
    }
    let all = async {
        for id in &ids {
            let _ = shared.engine.wait(*id).await;
        }
    };
    if tokio::time::timeout(limit, all).await.is_err() {
        tracing::warn!("some commands did not stop in time");
    }
}

/// Logs go to stderr, or to `--log-file`; never to stdout. `CLOUDOPS_LOG` (a tracing
/// filter such as `debug` or `rmcp=trace`) overrides the level from -q / -v.
fn init_logging(common: &Common, options: &McpOptions) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let level = match common.verbosity {
        i8::MIN..=-1 => "error",
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = std::env::var("CLOUDOPS_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let result = match &options.log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    anyhow::Error::new(e).context(crate::render::UserError::new(format!(
                        "could not open the log file '{}'",
                        path.display()
                    )))
                })?;
            builder
                .with_ansi(false)
                .with_writer(Mutex::new(file))
                .try_init()
        }
        None => builder
            .with_ansi(false)
            .with_writer(std::io::stderr)
            .try_init(),
    };
    // Already set (tests calling serve twice): keep the first.
    let _ = result;
    Ok(())
}
