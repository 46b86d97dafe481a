//! cloudops-mcp: a Model Context Protocol server on stdio whose tools run commands through the policy (`cloudops mcp`).
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

use cloudops_execution_engine::{ExecutionConfig, ExecutionEngine};
use cloudops_session::{RequestTemplate, Session};
use rmcp::ServiceExt;
use tokio::sync::{Semaphore, watch};

pub use options::{DEFAULT_SOURCE, McpOptions};

use input::GuardedInput;
use server::{CloudopsServer, Shared};

/// What the server runs with, set up by the caller (the `cloudops mcp` command).
pub struct McpSetup {
    /// The policy and its gate.
    pub session: Session,
    /// The engine's configuration (the session's, with its decision log). Its approver
    /// answers nothing: each tool call brings its own, which asks the calling client.
    pub config: ExecutionConfig,
    /// What every call's request starts from (the server's flags).
    pub template: RequestTemplate,
    /// Set when every `ask` is approved without asking: by whom (`--yes`, `policy`).
    pub approve_unasked: Option<&'static str>,
    /// The server's options.
    pub options: McpOptions,
}

/// Serves MCP on stdin/stdout until the client closes its end.
pub async fn serve(setup: McpSetup) -> Result<(), McpError> {
    let McpSetup {
        session,
        config,
        template,
        approve_unasked,
        options,
    } = setup;
    let kill_grace = config.kill_grace;
    let output = Arc::new(progress::OutputWatch::default());
    let engine = ExecutionEngine::new(config);
    engine.add_event_handler(output.clone());

    let (closed_tx, closed) = watch::channel(false);
    let session_id = uuid::Uuid::new_v4().to_string();
    tracing::info!(
        policy = ?session.policy().map(|p| p.path().display().to_string()),
        source = template.source.as_deref().unwrap_or(DEFAULT_SOURCE),
        session = %session_id,
        max_concurrency = options.max_concurrency,
        "serving MCP on stdio"
    );
    let shared = Arc::new(Shared {
        engine,
        session,
        template,
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
            .map_err(|e| McpError::Service(e.to_string())),
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
    result
}

/// What stops the server.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// The MCP service failed while serving.
    #[error("the MCP service failed: {0}")]
    Service(String),
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
